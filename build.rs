//! Records which x86 instruction sets the linked llama.cpp was compiled for, so the judge can
//! refuse to start on a CPU that lacks one instead of dying of SIGILL at the first matrix product.
//!
//! llama-cpp-sys-2 builds ggml with `GGML_NATIVE=OFF`; ggml then turns SSE4.2, AVX, AVX2, BMI2,
//! FMA and F16C on by default (read from its CMakeCache.txt) and everything else off. Any
//! `GGML_*` environment variable is forwarded to ggml's CMake by llama-cpp-sys-2, which is how
//! the AVX-512 build switch (`RUBRICATE_CPU=avx512` in scripts/cpu-env.sh) works; this script
//! reads the same variables with the same defaults.

const FLAGS: &[(&str, bool, &[&str])] = &[
    ("GGML_SSE42", true, &["sse4.2"]),
    ("GGML_AVX", true, &["avx"]),
    ("GGML_AVX2", true, &["avx2"]),
    ("GGML_BMI2", true, &["bmi2"]),
    ("GGML_FMA", true, &["fma"]),
    ("GGML_F16C", true, &["f16c"]),
    // ggml's GGML_AVX512 compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw.
    (
        "GGML_AVX512",
        false,
        &["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
    ),
    ("GGML_AVX512_VBMI", false, &["avx512vbmi"]),
    ("GGML_AVX512_VNNI", false, &["avx512vnni"]),
    ("GGML_AVX512_BF16", false, &["avx512bf16"]),
    ("GGML_AVX_VNNI", false, &["avxvnni"]),
];

fn cmake_bool(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_uppercase().as_str(),
        "ON" | "1" | "TRUE" | "YES" | "Y"
    )
}

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let mut required: Vec<&str> = Vec::new();
    for (var, default, features) in FLAGS {
        println!("cargo:rerun-if-env-changed={var}");
        let on = std::env::var(var).map_or(*default, |v| cmake_bool(&v));
        if on && arch == "x86_64" {
            required.extend_from_slice(features);
        }
    }
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    println!(
        "cargo:rustc-env=RUBRICATE_GGML_CPU_FEATURES={}",
        required.join(",")
    );
}
