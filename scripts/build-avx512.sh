#!/usr/bin/env bash
# Opt-in build of rubricate whose llama.cpp uses the CPU's AVX-512 kernels.
#
#     scripts/build-avx512.sh            # builds target/avx512/release/rubricate
#     RUBRICATE_AVX512_TARGET=DIR scripts/build-avx512.sh
#
# The default build (`cargo build --release`) compiles llama.cpp for AVX2 (GGML_NATIVE=OFF),
# which runs on any x86-64 CPU of the last decade. `-C target-cpu=native` would also use
# AVX-512, but on CPUs that report AMX it turns on llama.cpp's AMX matmul path, which
# crashes on the first decode here (../shared/notes/llama-cpp-2.md). This build asks for
# AVX-512 explicitly instead and keeps AMX off: llama-cpp-sys-2's build script hands every
# GGML_* environment variable to llama.cpp's CMake. It goes to its own target directory so
# the default build stays as it is, and it refuses to build on a CPU without AVX-512 (the
# binary would stop with an illegal instruction there). `rubricate model` names the
# kernels a binary was built with ("llama.cpp CPU" line).
set -euo pipefail
cd "$(dirname "$0")/.."

flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
for f in avx512f avx512cd avx512bw avx512dq avx512vl; do
    if [[ "$flags" != *" $f "* ]]; then
        echo "this CPU has no $f: an AVX-512 build would not run here; use the default build (cargo build --release)" >&2
        exit 1
    fi
done
has() { [[ "$flags" == *" $1 "* ]]; }

export GGML_AVX512=ON
has avx512_vnni && export GGML_AVX512_VNNI=ON
has avx512vbmi && export GGML_AVX512_VBMI=ON
has avx512_bf16 && export GGML_AVX512_BF16=ON
# Never AMX (the crash above), whatever the environment says.
export GGML_AMX_TILE=OFF GGML_AMX_INT8=OFF GGML_AMX_BF16=OFF
export CARGO_TARGET_DIR="${RUBRICATE_AVX512_TARGET:-target/avx512}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

echo "building with $(env | grep '^GGML_' | sort | tr '\n' ' ')into $CARGO_TARGET_DIR" >&2
cargo build --release "$@"
echo "$CARGO_TARGET_DIR/release/rubricate" >&2
