#!/usr/bin/env bash
# Set up a fresh machine and run every test (release build: the judge tests run the real model).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cpu-env.sh
scripts/setup.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cargo test --release --locked -- --test-threads="${TEST_THREADS:-2}"
# The AVX-512 build switch, tested both ways: where this CPU has AVX-512 (and the run above was
# the portable build), the tests that load the model run again on the RUBRICATE_CPU=avx512
# build in target/avx512 (its own llama.cpp build, ~5 minutes). RUBRICATE_TEST_AVX512=0 skips it.
if [ "${RUBRICATE_CPU:-default}" = default ] && [ "${RUBRICATE_TEST_AVX512:-1}" != 0 ]; then
    if (RUBRICATE_CPU=avx512 && . scripts/cpu-env.sh) 2>/dev/null; then
        (
            RUBRICATE_CPU=avx512
            . scripts/cpu-env.sh
            echo "== the same model tests on the AVX-512 build ($CARGO_TARGET_DIR)" >&2
            cargo test --release --locked --test cli_pipes --test judge_model --test judge_cli -- \
                --test-threads="${TEST_THREADS:-2}"
        )
    else
        echo "== this CPU has no AVX-512: the AVX-512 build's tests are skipped" >&2
    fi
fi
