#!/usr/bin/env python3
"""Reference for `rubricate bench`: the same prompts, grammar and sampler settings through
llama.cpp's own llama-server. Usage (see docs/benchmarks.md, section Judge):

    rubricate bench --cases 6 --dump-prompts /tmp/judge-prompts
    llama-server -m MODEL.gguf -t 2 -tb 2 -c 4096 -np 1 --port 8089 &
    python3 docs/bench_llama_server.py /tmp/judge-prompts http://127.0.0.1:8089

Prints, per case and in total, llama-server's own generation rate (its `timings`) with the
grammar (up to max_tokens) and without it (up to 256 tokens, like the bench's free runs).
"""
import glob
import json
import os
import sys
import urllib.request

FREE_MAX_TOKENS = 256


def post(url, body):
    req = urllib.request.Request(url + "/completion", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=900) as r:
        return json.load(r)


def main():
    folder, url = sys.argv[1], sys.argv[2].rstrip("/")
    settings = json.load(open(os.path.join(folder, "sampler.json")))
    s = settings["sampler"]
    grammar = open(os.path.join(folder, "grammar.gbnf")).read()
    # Only the samplers rubricate uses: llama-server's default min_p (0.05) is switched off.
    base = dict(temperature=s["temperature"], top_k=s["top_k"], top_p=s["top_p"], min_p=0.0,
                repeat_penalty=s["repeat_penalty"], repeat_last_n=s["repeat_last_n"],
                seed=settings["seed"], cache_prompt=True)
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "*.txt"))):
        prompt = open(path).read()
        g = post(url, dict(base, prompt=prompt, n_predict=s["max_tokens"], grammar=grammar))["timings"]
        f = post(url, dict(base, prompt=prompt, n_predict=FREE_MAX_TOKENS))["timings"]
        rows.append((g["predicted_n"], g["predicted_ms"], f["predicted_n"], f["predicted_ms"]))
        print("%-14s grammar %3d tokens %6.1f tokens/s   free %3d tokens %6.1f tokens/s" % (
            os.path.basename(path)[:-4], g["predicted_n"], g["predicted_per_second"],
            f["predicted_n"], f["predicted_per_second"]), flush=True)
    grammar_rate = 1000 * sum(r[0] for r in rows) / sum(r[1] for r in rows)
    free_rate = 1000 * sum(r[2] for r in rows) / sum(r[3] for r in rows)
    print("llama-server: grammar %.1f tokens/s, free %.1f tokens/s (%.2fx)" % (
        grammar_rate, free_rate, grammar_rate / free_rate))


if __name__ == "__main__":
    main()
