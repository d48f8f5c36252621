#!/usr/bin/env bash
# Build only target/avx512/release/rubricate, whose llama.cpp uses the CPU's AVX-512 kernels:
# the RUBRICATE_CPU=avx512 switch of scripts/cpu-env.sh (which scripts/run.sh and
# scripts/test.sh also honour), without the setup or the tests. Refused on a CPU without
# AVX-512. Extra arguments go to `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUBRICATE_CPU=avx512
. scripts/cpu-env.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
echo "building with $(env | grep '^GGML_' | sort | tr '\n' ' ')into $CARGO_TARGET_DIR" >&2
cargo build --release "$@"
echo "$CARGO_TARGET_DIR/release/rubricate" >&2
