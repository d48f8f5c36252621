# Sourced by scripts/run.sh and scripts/test.sh: RUBRICATE_CPU picks the CPU kernels llama.cpp
# is compiled with. llama-cpp-sys-2 forwards every GGML_* variable to ggml's CMake, and build.rs
# records the same switches so the judge refuses a CPU that lacks them (no SIGILL).
#   default (unset): ggml's portable set with GGML_NATIVE=OFF: SSE4.2, AVX, AVX2, BMI2, FMA, F16C.
#   avx512: also AVX-512 (F/CD/VL/DQ/BW) and, where this CPU has them, VBMI, VNNI and BF16.
#           Built into its own target folder (target/avx512) so switching back and forth does
#           not rebuild llama.cpp each time. AMX stays off: its matmul path segfaults with this
#           llama.cpp (../shared/notes/llama-cpp-2.md), which is also why target-cpu=native is out.
case "${RUBRICATE_CPU:-default}" in
default) ;;
avx512)
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    # ggml's GGML_AVX512 compiles with all five of these.
    for f in avx512f avx512cd avx512bw avx512dq avx512vl; do
        case "$flags" in
        *" $f "*) ;;
        *)
            echo "RUBRICATE_CPU=avx512: this CPU has no $f (see /proc/cpuinfo), so an AVX-512 build would not run here; unset RUBRICATE_CPU" >&2
            exit 1
            ;;
        esac
    done
    export GGML_AVX512=ON
    case "$flags" in *" avx512vbmi "*) export GGML_AVX512_VBMI=ON ;; esac
    case "$flags" in *" avx512_vnni "*) export GGML_AVX512_VNNI=ON ;; esac
    case "$flags" in *" avx512_bf16 "*) export GGML_AVX512_BF16=ON ;; esac
    export GGML_AMX_TILE=OFF GGML_AMX_INT8=OFF GGML_AMX_BF16=OFF
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/avx512}"
    ;;
*)
    echo "RUBRICATE_CPU=$RUBRICATE_CPU is not known: use avx512, or leave it unset for the portable build" >&2
    exit 1
    ;;
esac
