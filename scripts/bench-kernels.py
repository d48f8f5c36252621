#!/usr/bin/env python3
"""The in-process judge built with llama.cpp's portable kernels (AVX2) against the AVX-512
build (RUBRICATE_CPU=avx512), alternating rounds of `rubricate bench --quick --json` on the same
sample cases and threads (docs/benchmarks.md, "CPU kernels"). Run on an otherwise idle machine:

    cargo build --release
    RUBRICATE_CPU=avx512 bash -c '. scripts/cpu-env.sh && cargo build --release'
    python3 scripts/bench-kernels.py [--cases 6] [--rounds 3] [--threads 2]
"""
import argparse
import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench_server():
    """scripts/bench-server.py as a module: its `ours_round` reads one `bench --quick` run."""
    spec = importlib.util.spec_from_file_location("bench_server", os.path.join(ROOT, "scripts", "bench-server.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--portable", default=os.path.join(ROOT, "target", "release", "rubricate"))
    ap.add_argument("--avx512", default=os.path.join(ROOT, "target", "avx512", "release", "rubricate"))
    args = ap.parse_args()
    for exe in (args.portable, args.avx512):
        model = subprocess.run([exe, "model"], capture_output=True, text=True).stdout
        kernels = [l for l in model.splitlines() if l.startswith("cpu kernels")]
        print(f"{exe}: {kernels[0] if kernels else '(no cpu kernels line)'}")
    server = bench_server()
    res = {"portable": [], "avx512": []}
    for rnd in range(args.rounds):
        for name, exe in (("portable", args.portable), ("avx512", args.avx512)):
            res[name].append(server.ours_round(args.cases, str(args.threads), 0, exe))
        print(f"round {rnd + 1} done, load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(f"\nthreads {args.threads}, {args.cases} sample cases, {args.rounds} alternating rounds, "
          f"load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| figure | round | portable (AVX2) | AVX-512 | AVX-512 / portable |")
    print("| --- | ---: | ---: | ---: | ---: |")
    figures = [("prefill, whole prompt (tok/s)", "prefill_cold", False),
               ("prefill, case's own tokens after the cached prefix (tok/s)", "prefill_warm", False),
               ("warm time to first token (ms, lower is better)", "ttft_warm", True),
               ("generation under the grammar (tok/s)", "generation", False)]
    for label, key, lower in figures:
        for i in range(args.rounds):
            p, a = res["portable"][i][key], res["avx512"][i][key]
            ratio = p / a if lower else a / p
            print(f"| {label} | {i + 1} | {p:.1f} | {a:.1f} | {ratio:.2f}x |")
    print("\nratio: how many times faster the AVX-512 build is (its rate / the portable one's; for times, portable / AVX-512)")


if __name__ == "__main__":
    main()
