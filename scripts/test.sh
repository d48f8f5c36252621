#!/usr/bin/env bash
# Set up a fresh machine and run every test (release build: the judge tests run the real model).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cpu-env.sh
scripts/setup.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cargo test --release --locked -- --test-threads="${TEST_THREADS:-2}"
