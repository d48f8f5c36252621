#!/usr/bin/env python3
"""The in-process judge against llama.cpp's own llama-server on the same prompts, model and
threads (docs/benchmarks.md, sections "Judge against llama-server" and "Judge server").
Each part fits in a few minutes; run them on an otherwise idle machine.

    cargo build --release && scripts/build-llama-server.sh
    python3 scripts/bench-server.py requests [--cases 6] [--rounds 2]
    python3 scripts/bench-server.py job [--limit 34] [--rounds 1] [--only local|server --results FILE]
    python3 scripts/bench-server.py parallel [--n 4] [--limit 34] [--only par,seq,server,ceiling --results FILE]
    python3 scripts/bench-server.py server [--n 4] [--rounds 2]

requests: per request, alternating rounds of llama-server (-np 1) and `rubricate bench
  --quick --json`: cold prefill (whole prompt, no cache), warm prefill and time to first token
  after the shared prefix is cached (the server's own prompt_ms, and the first streamed token
  as a client sees it), generation under the grammar. Prints ours, the server's, the ratio.
job: the sample cases judged start to finish, in-process (`rubricate judge`) and through
  llama-server -np 1 (`rubricate judge --judge-url --concurrency 1`): wall time, the one-time
  start (process start to the judge being ready: model load, or the server connection),
  cases/min, and the time per case spent outside prefill and generation (the judging time,
  judge ready to last save, minus the engine's own prefill+generation time for ours, minus the
  server's /metrics prompt+predict seconds for it).
  With --only and --results, a long comparison is split over several invocations (each fits
  a short quiet window); every invocation prints the ratios over all runs recorded.
parallel: `rubricate judge --parallel N` against llama-server -np N with N clients
  (`--concurrency N`) and sequential in-process judging, and llama-batched-bench at 1 and N
  sequences as the ceiling of what batching gains here.
server: the sample through one llama-server -np N at --concurrency 1 and N (rounds summed),
  in-process sequential beside them, llama-batched-bench as the ceiling, and the generation
  rate rubricate saw on the stream against the server's own /metrics timings.

llama-server and llama-batched-bench come from scripts/build-llama-server.sh (llama-cpp-python
0.3.36's llama.cpp, ggml 0.25.3; rubricate links ggml 0.26.0 through llama-cpp-sys-2).
"""
import argparse
import glob
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



MODEL = os.path.expanduser("~/.local/share/rubricate/models/SmolLM2-135M-Instruct.Q4_1.gguf")


class Server:
    """llama-server on a free port, waited for until healthy; stopped on exit."""

    def __init__(self, threads, parallel, ctx_per_slot=4096):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [cache_bin("llama-server"), "-m", MODEL, "--host", "127.0.0.1", "--port", str(self.port),
             "-np", str(parallel), "-c", str(ctx_per_slot * parallel), "-t", threads, "-tb", threads,
             # --cache-ram 0: this llama.cpp keeps earlier prompts' KV states in host RAM and
             # restores a whole prompt it has seen. The `requests` part sends every prompt
             # cold before the warm loop, so with that cache on the server re-evaluated 1
             # token for two of six "warm" cases (prompt_n 293, 1, 307, 1, 114, 181). Off,
             # it reuses what a new case can: the shared prefix, as rubricate does.
             "--metrics", "--cache-ram", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2)
                return
            except Exception:
                time.sleep(0.2)
        self.stop()
        sys.exit("llama-server did not become healthy")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def post(url, body, stream=False):
    req = urllib.request.Request(url + "/completion", data=json.dumps(dict(body, stream=stream)).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=900) as r:
        if not stream:
            return json.load(r), None
        first = None
        last = None
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            obj = json.loads(line[5:])
            if first is None and obj.get("content"):
                first = (time.monotonic() - t0) * 1000.0
            last = obj
        return last, first


def median(xs):
    xs = sorted(xs)
    if not xs:
        return 0.0
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def load_prompts(folder):
    settings = json.load(open(os.path.join(folder, "sampler.json")))
    grammar = open(os.path.join(folder, "grammar.gbnf")).read()
    prompts = [open(p).read() for p in sorted(glob.glob(os.path.join(folder, "*.txt")))]
    return settings, grammar, prompts


def server_round(url, settings, grammar, prompts):
    s = settings["sampler"]
    # Only the samplers rubricate uses: llama-server's default min_p (0.05) is switched off.
    base = dict(temperature=s["temperature"], top_k=s["top_k"], top_p=s["top_p"], min_p=0.0,
                repeat_penalty=s["repeat_penalty"], repeat_last_n=s["repeat_last_n"],
                seed=settings["seed"], grammar=grammar)
    cold_n = cold_ms = 0.0
    for p in prompts:
        r, _ = post(url, dict(base, prompt=p, n_predict=1, cache_prompt=False))
        cold_n += r["timings"]["prompt_n"]
        cold_ms += r["timings"]["prompt_ms"]
    warm = []
    for p in prompts:
        # The slot holds the previous case: only the shared prefix is reused (--cache-ram 0).
        r, first = post(url, dict(base, prompt=p, n_predict=s["max_tokens"], cache_prompt=True), stream=True)
        t = r["timings"]
        warm.append((t["prompt_n"], t["prompt_ms"], first, t["predicted_n"], t["predicted_ms"]))
    return dict(
        prefill_cold=1000 * cold_n / cold_ms,
        prefill_warm=1000 * sum(w[0] for w in warm) / sum(w[1] for w in warm),
        ttft_warm_server=median([w[1] for w in warm]),
        ttft_warm_client=median([w[2] for w in warm if w[2] is not None]),
        generation=1000 * sum(w[3] for w in warm) / sum(w[4] for w in warm),
        suffix_tokens=median([w[0] for w in warm]),
    )


def ours_round(n_cases, threads, batch, exe=None):
    """`rubricate bench --quick --json` once (exe: another build, e.g. the AVX-512 one)."""
    exe = exe or os.path.join(ROOT, "target", "release", "rubricate")
    cmd = [exe, "bench", "--cases", str(n_cases), "--threads", threads, "--quick", "--json"]
    if batch:
        cmd += ["--batch", str(batch)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"rubricate bench failed:\n{r.stderr}")
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    cases = [x for x in rows if "case" in x]
    cold = [c["cold"] for c in cases]
    warm = [c["warm"] for c in cases]
    return dict(
        prefill_cold=1000 * sum(c["prefilled_tokens"] for c in cold) / sum(c["ms_prefill"] for c in cold),
        prefill_warm=1000 * sum(c["prefilled_tokens"] for c in warm) / sum(c["ms_prefill"] for c in warm),
        ttft_warm=median([c["ms_first_token"] for c in warm]),
        generation=1000 * sum(c["generated_tokens"] for c in warm) / sum(c["ms_generate"] for c in warm),
        suffix_tokens=median([c["prefilled_tokens"] for c in warm]),
    )


def batched_bench(threads, n):
    """llama-batched-bench's aggregate decode tok/s at 1 and n sequences (the ceiling of what
    batching gains on this machine), and its stderr for when it gives none."""
    bb = subprocess.run(
        [cache_bin("llama-batched-bench"), "-m", MODEL, "-c", str(4096 * n), "-b", "2048", "-ub", "512",
         "-npp", "512", "-ntg", "128", "-npl", f"1,{n}", "-t", threads, "--output-format", "jsonl"],
        capture_output=True, text=True)
    ceiling = {}
    for line in bb.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            ceiling[r["pl"]] = r["speed_tg"]
    return ceiling, bb.stderr


def part_requests(args):
    t = str(args.threads)
    batches = [int(b) for b in args.batch.split(",")]
    label = {b: (f"batch {b}" if b else "built-in batch") for b in batches}
    folder = tempfile.mkdtemp(prefix="rubricate-bench-requests-")
    try:
        exe = os.path.join(ROOT, "target", "release", "rubricate")
        subprocess.run([exe, "bench", "--cases", str(args.cases), "--dump-prompts", folder],
                       check=True, capture_output=True)
        settings, grammar, prompts = load_prompts(folder)
        server, ours = [], {b: [] for b in batches}
        with Server(t, 1) as srv:
            post(srv.url, dict(prompt=prompts[0], n_predict=1))  # first decodes allocate buffers
            for rnd in range(args.rounds):
                server.append(server_round(srv.url, settings, grammar, prompts))
                for b in batches:
                    ours[b].append(ours_round(args.cases, t, b))
                print(f"round {rnd + 1} done, load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"threads {t}, {args.cases} sample cases, {args.rounds} alternating rounds, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"warm suffix: median {median([r['suffix_tokens'] for r in server]):.0f} tokens (server), "
          f"{median([r['suffix_tokens'] for r in ours[batches[0]]]):.0f} (rubricate)\n")
    print("| figure | round | llama-server | " + " | ".join(f"rubricate {label[b]} | ratio" for b in batches) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in batches) + " |")
    figures = [
        ("prefill, whole prompt (tok/s, higher is better)", "prefill_cold", "prefill_cold", False),
        ("prefill, case's own tokens after the cached prefix (tok/s)", "prefill_warm", "prefill_warm", False),
        ("warm time to first token vs server prompt_ms (ms, lower is better)", "ttft_warm_server", "ttft_warm", True),
        ("warm time to first token vs server's first streamed token (ms)", "ttft_warm_client", "ttft_warm", True),
        ("generation under the grammar (tok/s)", "generation", "generation", False),
    ]
    for name, sk, ok, lower in figures:
        for i in range(args.rounds):
            sv = server[i][sk]
            cells = []
            for b in batches:
                v = ours[b][i][ok]
                ratio = (sv / v) if lower else (v / sv)
                cells.append(f"{v:.1f} | {ratio:.2f}x")
            print(f"| {name} | {i + 1} | {sv:.1f} | " + " | ".join(cells) + " |")
    print("\nratio: how many times better rubricate is (server time / ours for times, ours / server for rates)")


def judge_json(db, *args):
    """`rubricate judge --json …`: process wall time and the summary (its `seconds` is the
    judging alone, `seconds_load` the model load or server connection before it)."""
    exe = os.path.join(ROOT, "target", "release", "rubricate")
    e = dict(os.environ)
    e.pop("RUBRICATE_JUDGE_URL", None)
    t0 = time.monotonic()
    r = subprocess.run([exe, "--db", db, "judge", "--json", *args], capture_output=True, text=True, env=e)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"rubricate judge {' '.join(args)} failed:\n{r.stderr}")
    return wall, json.loads(r.stdout)


def load_results(args, fresh):
    """Runs recorded so far (name -> list of runs) in --results FILE, merged with `fresh`.
    Long parts are split over several invocations (--only), each short enough for one quiet
    window; the ratios are computed over everything recorded."""
    old = {}
    if args.results and os.path.exists(args.results):
        old = json.load(open(args.results))
    for k, runs in fresh.items():
        old.setdefault(k, []).extend(runs)
    if args.results:
        with open(args.results, "w") as f:
            json.dump(old, f, indent=1)
    return old


def wanted(args, name):
    return not args.only or name in args.only.split(",")


def spread(xs, fmt="{:.2f}"):
    """median [min–max] of a list of numbers (just the number when there is one)."""
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(median(xs))} [{fmt.format(min(xs))}–{fmt.format(max(xs))}]"


def paired(a, b, f):
    """f(a[i], b[i]) for the runs recorded in the same order (alternating rounds)."""
    return [f(x, y) for x, y in zip(a, b)]


def part_job(args):
    t = str(args.threads)
    limit = ["--limit", str(args.limit)]
    fresh = {}
    for rnd in range(args.rounds):
        folder = tempfile.mkdtemp(prefix="rubricate-bench-job-")
        try:
            if wanted(args, "local"):
                db = fresh_db(folder, "local", args.cases)
                wall, sm = judge_json(db, "--threads", t, *limit)
                n, toks, ms_gen = judged(db)
                c = sqlite3.connect(db)
                engine_ms = c.execute("SELECT sum(ms_prefill) + sum(ms_generate) FROM judgments").fetchone()[0]
                c.close()
                fresh.setdefault("local", []).append(dict(
                    n=n, wall=wall, seconds=sm["seconds"], load=sm["seconds_load"], engine_s=engine_ms / 1000,
                    tokens=toks, gen_s=ms_gen / 1000))
            if wanted(args, "server"):
                with Server(t, 1) as srv:
                    base = srv.url
                    before = metrics(base)
                    db1 = fresh_db(folder, "c1", args.cases)
                    wall1, sm1 = judge_json(db1, "--judge-url", base + "/v1", "--concurrency", "1", *limit)
                    after = metrics(base)
                    n1, _, _ = judged(db1)
                srv_s = sum(after.get(k, 0) - before.get(k, 0)
                            for k in ("prompt_seconds_total", "tokens_predicted_seconds_total"))
                fresh.setdefault("server", []).append(dict(
                    n=n1, wall=wall1, seconds=sm1["seconds"], load=sm1["seconds_load"], engine_s=srv_s))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"round {rnd + 1} done, load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    res = load_results(args, fresh)
    print(f"threads {t}, load average {os.getloadavg()[0]:.2f} at the end; "
          f"runs recorded: {', '.join(f'{k} {len(v)}' for k, v in res.items())}\n")
    print("One-time start: process start to the judge being ready (database, model load and context, or the "
          "server connection). Per case outside prefill+generation: judging time (judge ready to last save) "
          "minus the engine's own prefill+generation time (ours: stored per judgment; server: its /metrics), "
          "per case. Medians [ranges] over the runs recorded.\n")
    print("| run | runs | cases | wall s | one-time start s (of which load) | cases/min (wall) | per case outside prefill+generation |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    names = {"local": "rubricate judge (in-process, sequential)",
             "server": "llama-server -np 1, judge --concurrency 1"}
    for k, label in names.items():
        runs = res.get(k, [])
        if not runs:
            continue
        print(f"| {label} | {len(runs)} | {runs[0]['n']} | {spread([r['wall'] for r in runs], '{:.1f}')} | "
              f"{spread([r['wall'] - r['seconds'] for r in runs])} ({spread([r['load'] for r in runs])}) | "
              f"{spread([r['n'] * 60 / r['wall'] for r in runs], '{:.1f}')} | "
              f"{spread([(r['seconds'] - r['engine_s']) * 1000 / r['n'] for r in runs], '{:.1f}')} ms |")
    if res.get("local") and res.get("server"):
        ratios = paired(res["local"], res["server"], lambda a, b: (a["n"] / a["wall"]) / (b["n"] / b["wall"]))
        print(f"\njob: in-process / server = {spread(ratios)}x cases/min (wall, start and load included)")
        j = paired(res["local"], res["server"], lambda a, b: (a["n"] / a["seconds"]) / (b["n"] / b["seconds"]))
        print(f"judging alone (start and load left out): {spread(j)}x")
        g = [r["tokens"] / r["gen_s"] for r in res["local"]]
        print(f"generation as rubricate recorded it: {spread(g, '{:.1f}')} tok/s")


def part_parallel(args):
    t = str(args.threads)
    n = args.n
    limit = ["--limit", str(args.limit)]
    fresh = {}
    folder = tempfile.mkdtemp(prefix="rubricate-bench-parallel-")
    try:
        for key, extra in (("par", ["--parallel", str(n)]), ("seq", [])):
            if not wanted(args, key):
                continue
            db = fresh_db(folder, key, args.cases)
            wall, sm = judge_json(db, "--threads", t, *limit, *extra)
            k, toks, _ = judged(db)
            fresh.setdefault(key, []).append(dict(n=k, wall=wall, seconds=sm["seconds"], tokens=toks))
        if wanted(args, "server"):
            with Server(t, n) as srv:
                db = fresh_db(folder, "srv", args.cases)
                wall, sm = judge_json(db, "--judge-url", srv.url + "/v1", "--concurrency", str(n), *limit)
                k, toks, _ = judged(db)
                fresh.setdefault("server", []).append(dict(n=k, wall=wall, seconds=sm["seconds"], tokens=toks))
        if wanted(args, "ceiling"):
            ceiling, bb_err = batched_bench(t, n)
            if 1 in ceiling and n in ceiling:
                fresh.setdefault("ceiling", []).append({"1": ceiling[1], "n": ceiling[n]})
            else:
                print("llama-batched-bench gave no result:\n" + bb_err[-2000:])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    res = load_results(args, fresh)
    print(f"threads {t}, {n} sequences, load average {os.getloadavg()[0]:.2f} at the end; "
          f"runs recorded: {', '.join(f'{k} {len(v)}' for k, v in res.items())}\n")
    print("| run | runs | cases | wall s | cases/min (wall) | generated tok/s (all cases together, wall) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    names = {"par": f"rubricate judge --parallel {n}", "seq": "rubricate judge (sequential)",
             "server": f"llama-server -np {n}, judge --concurrency {n}"}
    cpm = lambda r: r["n"] * 60 / r["wall"]
    tps = lambda r: r["tokens"] / r["wall"]
    for key, label in names.items():
        runs = res.get(key, [])
        if runs:
            print(f"| {label} | {len(runs)} | {runs[0]['n']} | {spread([r['wall'] for r in runs], '{:.1f}')} | "
                  f"{spread([cpm(r) for r in runs], '{:.1f}')} | {spread([tps(r) for r in runs], '{:.1f}')} |")
    par, seq, srv, ceil = (res.get(k, []) for k in ("par", "seq", "server", "ceiling"))
    if par and seq:
        gain_cpm = paired(par, seq, lambda a, b: cpm(a) / cpm(b))
        gain_tok = paired(par, seq, lambda a, b: tps(a) / tps(b))
        print(f"\n--parallel {n} / sequential: {spread(gain_cpm)}x cases/min, {spread(gain_tok)}x generated tok/s")
    if par and srv:
        print(f"--parallel {n} / llama-server -np {n} with {n} clients: "
              f"{spread(paired(par, srv, lambda a, b: cpm(a) / cpm(b)))}x cases/min")
    if ceil:
        gains = [c["n"] / c["1"] for c in ceil]
        print(f"llama-batched-bench decode: {spread([c['1'] for c in ceil], '{:.1f}')} tok/s at 1 sequence, "
              f"{spread([c['n'] for c in ceil], '{:.1f}')} at {n}: gain {spread(gains)}x")
        if par and seq:
            g = median(gains)
            print(f"our gain / its gain (median gain {g:.2f}): {spread([x / g for x in gain_tok])} (tok/s), "
                  f"{spread([x / g for x in gain_cpm])} (cases/min)")


def part_server(args):
    """Issue 7's batch figure: the sample through one llama-server -np N at --concurrency N and
    --concurrency 1, in-process sequential beside them, llama-batched-bench at 1 and N sequences as
    the ceiling, and rubricate's streamed tokens/s against the server's own timings."""
    t = str(args.threads)
    n = args.n
    folder = tempfile.mkdtemp(prefix="rubricate-bench-server-")
    limit = ["--limit", str(args.limit)]
    rows, overhead = {}, {}
    try:
        db = fresh_db(folder, "local", args.cases)
        wall, _ = rubricate(db, "judge", "--threads", t, *limit)
        k, toks, _ = judged(db)
        rows["in-process, sequential"] = (k, wall, toks)
        with Server(t, n) as srv:
            post(srv.url, dict(prompt="warm-up", n_predict=1))  # first decodes allocate buffers
            for rnd in range(args.rounds):
                for c in (1, n):
                    before = metrics(srv.url)
                    db = fresh_db(folder, f"c{c}-{rnd}", args.cases)
                    wall, _ = rubricate(db, "judge", "--judge-url", srv.url + "/v1",
                                        "--concurrency", str(c), *limit)
                    after = metrics(srv.url)
                    k, toks, ms_gen = judged(db)
                    name = f"llama-server -np {n}, --concurrency {c}"
                    old = rows.get(name)
                    rows[name] = (k, wall, toks) if old is None else (old[0] + k, old[1] + wall, old[2] + toks)
                    d = {key: after.get(key, 0) - before.get(key, 0)
                         for key in ("tokens_predicted_total", "tokens_predicted_seconds_total")}
                    o = overhead.setdefault(c, [0, 0.0, 0, 0.0])
                    o[0] += toks
                    o[1] += ms_gen / 1000
                    o[2] += d["tokens_predicted_total"]
                    o[3] += d["tokens_predicted_seconds_total"]
                print(f"round {rnd + 1} done, load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
        ceiling, bb_err = batched_bench(t, n)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"threads {t}, server -np {n}, {args.rounds} rounds of the server runs (summed), "
          f"load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| run | cases | wall s | cases/min | generated tok/s (all cases together) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (k, wall, toks) in rows.items():
        print(f"| {name} | {k} | {wall:.1f} | {k * 60 / wall:.1f} | {toks / wall:.1f} |")
    cpm = {name: k * 60 / wall for name, (k, wall, _) in rows.items()}
    c1 = cpm[f"llama-server -np {n}, --concurrency 1"]
    cn = cpm[f"llama-server -np {n}, --concurrency {n}"]
    local = cpm["in-process, sequential"]
    print(f"\n--concurrency {n} / --concurrency 1: {cn / c1:.2f}x cases/min")
    print(f"--concurrency {n} / in-process sequential: {cn / local:.2f}x; --concurrency 1 / in-process: {c1 / local:.2f}x")
    if 1 in ceiling and n in ceiling:
        gain = ceiling[n] / ceiling[1]
        print(f"llama-batched-bench decode: {ceiling[1]:.1f} tok/s at 1 sequence, {ceiling[n]:.1f} at {n}: gain {gain:.2f}x")
        print(f"our gain / its gain: {(cn / c1) / gain:.2f}")
    else:
        print("llama-batched-bench gave no result:\n" + bb_err[-2000:])
    print("\ntokens/s during generation, as rubricate saw the stream vs the server's own timings (/metrics):")
    for c, (toks, secs, stoks, ssecs) in sorted(overhead.items()):
        ours = toks / secs if secs else 0.0
        theirs = stoks / ssecs if ssecs else 0.0
        ratio = ours / theirs if theirs else 0.0
        print(f"  --concurrency {c}: rubricate {ours:.1f} tok/s ({toks} tokens), server {theirs:.1f} tok/s "
              f"({stoks:.0f} tokens): {ratio:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=os.path.join(ROOT, "assets", "sample", "cases.jsonl"))
    sub = ap.add_subparsers(dest="part", required=True)
    r = sub.add_parser("requests")
    r.add_argument("--cases", dest="n_cases", type=int, default=6)
    r.add_argument("--rounds", type=int, default=2)
    r.add_argument("--batch", default="0",
                   help="rubricate's n_batch values to compare, e.g. 512,256 (0: its built-in size; needs bench --batch)")
    j = sub.add_parser("job")
    j.add_argument("--limit", type=int, default=34)
    j.add_argument("--rounds", type=int, default=1)
    j.add_argument("--only", help="local or server: run one side (with --results, to split a long run)")
    j.add_argument("--results", help="JSON file that keeps the runs of several invocations; ratios over all of them")
    sv = sub.add_parser("server")
    sv.add_argument("--n", type=int, default=4)
    sv.add_argument("--limit", type=int, default=34)
    sv.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("parallel")
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--limit", type=int, default=34)
    p.add_argument("--only", help="comma-separated subset of par,seq,server,ceiling (with --results)")
    p.add_argument("--results", help="JSON file that keeps the runs of several invocations; ratios over all of them")
    args = ap.parse_args()
    if args.part == "requests":
        if args.n_cases < 2:
            # The warm pass reuses only the prefix because each case follows a different one.
            ap.error("requests needs --cases 2 or more")
        args.cases = args.n_cases
        part_requests(args)
    elif args.part == "job":
        part_job(args)
    elif args.part == "server":
        part_server(args)
    else:
        part_parallel(args)


if __name__ == "__main__":
    main()
