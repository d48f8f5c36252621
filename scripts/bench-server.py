#!/usr/bin/env python3
"""Batch judging through llama-server against the in-process judge (docs/benchmarks.md,
section "Judge server").

    cargo build --release && scripts/build-llama-server.sh
    python3 scripts/bench-server.py [--threads 2] [--cases assets/sample/cases.jsonl]

The sample cases, each run on a fresh database:
  1. in-process, sequential (`rubricate judge --threads T`);
  2. llama-server -np 4 (T threads), `rubricate judge --concurrency 1`;
  3. the same server, `--concurrency 4`;
then llama.cpp's llama-batched-bench at 1 and 4 sequences (T threads) as the ceiling of what
batching can gain on this machine. Prints cases/min for each and the ratios, and the overhead:
generated tokens/s as rubricate saw them (its judgments' tokens_generated / ms_generate) against
the server's own counters (/metrics: tokens_predicted_total / tokens_predicted_seconds_total)
over the same --concurrency 1 requests.
"""
import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = "0.3.36"


def cache_bin(name):
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    path = os.path.join(cache, "rubricate", f"llama-server-{VERSION}", "bin", name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run scripts/build-llama-server.sh")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rubricate(db, *args, env=None):
    exe = os.path.join(ROOT, "target", "release", "rubricate")
    e = dict(os.environ)
    e.pop("RUBRICATE_JUDGE_URL", None)
    e.update(env or {})
    t0 = time.monotonic()
    r = subprocess.run([exe, "--db", db, *args], capture_output=True, text=True, env=e)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"rubricate {' '.join(args)} failed:\n{r.stderr}")
    return wall, r.stderr


def fresh_db(folder, name, cases):
    db = os.path.join(folder, name + ".db")
    rubricate(db, "import", cases)
    return db


def judged(db):
    c = sqlite3.connect(db)
    n, toks, ms = c.execute(
        "SELECT count(*), sum(tokens_generated), sum(ms_generate) FROM judgments"
    ).fetchone()
    c.close()
    return n, toks or 0, ms or 0


def metrics(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:"):
            k, v = line.split()[:2]
            out[k[len("llamacpp:"):]] = float(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=os.path.join(ROOT, "assets", "sample", "cases.jsonl"))
    # The whole run takes ~8 minutes on two idle cores; /work/bin/quiet runs are kept under 5,
    # so it can be split: `--only local` first, then `--only server --local-cpm X` with the
    # in-process figure it printed (same machine, one right after the other).
    ap.add_argument("--only", choices=["local", "server"])
    ap.add_argument("--local-cpm", type=float, help="in-process cases/min from an --only local run")
    args = ap.parse_args()
    t = str(args.threads)
    model = os.path.expanduser("~/.local/share/rubricate/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    folder = tempfile.mkdtemp(prefix="rubricate-bench-server-")
    rows = {}
    toks1 = ms1 = 0
    before = after = {}
    ceiling = {}
    bb = None
    try:
        if args.only != "server":
            db = fresh_db(folder, "local", args.cases)
            wall, _ = rubricate(db, "judge", "--threads", t)
            n, _, _ = judged(db)
            rows["in-process, sequential"] = (n, wall)
        if args.only == "local":
            n, wall = rows["in-process, sequential"]
            print(f"in-process, sequential: {n} cases in {wall:.1f} s: {n * 60.0 / wall:.2f} cases/min "
                  f"(load average {os.getloadavg()[0]:.2f})")
            return

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [cache_bin("llama-server"), "-m", model, "--host", "127.0.0.1", "--port", str(port),
             "-np", "4", "-c", "16384", "-t", t, "-tb", t, "--metrics"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(base + "/health", timeout=2)
                    break
                except Exception:
                    time.sleep(0.2)
            before = metrics(base)
            db1 = fresh_db(folder, "c1", args.cases)
            wall1, _ = rubricate(db1, "judge", "--judge-url", base + "/v1", "--concurrency", "1")
            after = metrics(base)
            n1, toks1, ms1 = judged(db1)
            rows["llama-server -np 4, --concurrency 1"] = (n1, wall1)
            db4 = fresh_db(folder, "c4", args.cases)
            wall4, _ = rubricate(db4, "judge", "--judge-url", base + "/v1", "--concurrency", "4")
            n4, _, _ = judged(db4)
            rows["llama-server -np 4, --concurrency 4"] = (n4, wall4)
        finally:
            server.terminate()
            server.wait()

        bb = subprocess.run(
            [cache_bin("llama-batched-bench"), "-m", model, "-c", "4096", "-b", "2048", "-ub", "512",
             "-npp", "512", "-ntg", "128", "-npl", "1,4", "-t", t, "--output-format", "jsonl"],
            capture_output=True, text=True)
        for line in bb.stdout.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                ceiling[r["pl"]] = r["speed_tg"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"threads {t}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| run | cases | wall s | cases/min |")
    print("| --- | ---: | ---: | ---: |")
    cpm = {}
    for name, (n, wall) in rows.items():
        cpm[name] = n * 60.0 / wall
        print(f"| {name} | {n} | {wall:.1f} | {cpm[name]:.1f} |")
    c1 = cpm["llama-server -np 4, --concurrency 1"]
    c4 = cpm["llama-server -np 4, --concurrency 4"]
    local = cpm.get("in-process, sequential", args.local_cpm or float("nan"))
    print()
    print(f"concurrency 4 / concurrency 1: {c4 / c1:.2f}x")
    print(f"concurrency 1 / in-process:    {c1 / local:.2f}x")
    print(f"concurrency 4 / in-process:    {c4 / local:.2f}x")
    if 1 in ceiling and 4 in ceiling:
        gain = ceiling[4] / ceiling[1]
        print(f"llama-batched-bench decode: {ceiling[1]:.1f} tok/s at 1 sequence, {ceiling[4]:.1f} at 4: ceiling gain {gain:.2f}x")
        print(f"concurrency-4 gain / ceiling gain: {(c4 / c1) / gain:.2f}")
    else:
        print("llama-batched-bench gave no result:\n" + bb.stderr[-2000:])
    seen = toks1 * 1000.0 / ms1 if ms1 else 0.0
    ptoks = after["tokens_predicted_total"] - before["tokens_predicted_total"]
    psecs = after["tokens_predicted_seconds_total"] - before["tokens_predicted_seconds_total"]
    own = ptoks / psecs if psecs else 0.0
    print(f"overhead (--concurrency 1): rubricate sees {seen:.1f} tok/s, the server's own timing {own:.1f} tok/s: {seen / own if own else 0:.2f}x")


if __name__ == "__main__":
    main()
