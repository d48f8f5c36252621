//! The x86 instruction sets the linked llama.cpp was compiled for (recorded by build.rs from
//! the same `GGML_*` switches ggml's CMake read), checked against this CPU before the
//! in-process judge starts: a build for AVX-512 on a CPU without it would otherwise die of
//! SIGILL at the first matrix product, taking the workbench and unsaved state with it.

/// Comma-separated names as `is_x86_feature_detected!` spells them; empty off x86-64.
pub const COMPILED_FOR: &str = env!("RUBRICATE_GGML_CPU_FEATURES");

pub fn compiled_for() -> Vec<&'static str> {
    COMPILED_FOR.split(',').filter(|f| !f.is_empty()).collect()
}

/// Whether this build uses AVX-512 kernels (the `RUBRICATE_CPU=avx512` switch).
pub fn avx512_build() -> bool {
    compiled_for().contains(&"avx512f")
}

/// The required features `has` says this CPU lacks.
pub fn missing<'a>(required: &[&'a str], has: impl Fn(&str) -> bool) -> Vec<&'a str> {
    required.iter().copied().filter(|f| !has(f)).collect()
}

/// What to tell a user whose CPU lacks `missing`, or None when nothing is missing.
pub fn refusal(missing: &[&str], avx512_build: bool) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let next = if avx512_build {
        "it was built with the AVX-512 switch (RUBRICATE_CPU=avx512): rebuild without it \
         (`cargo build --release` with no RUBRICATE_CPU or GGML_AVX512* set)"
    } else {
        "rebuild it on this machine with the missing sets switched off (GGML_AVX2=OFF etc., see \
         docs/benchmarks.md \"CPU kernels\")"
    };
    Some(format!(
        "this rubricate's llama.cpp was compiled for CPU instructions this processor lacks ({}), \
         so the in-process judge is off: {next}; or judge through a server with --judge-url",
        missing.join(", ")
    ))
}

/// Whether this CPU has `feature` (a name from [`COMPILED_FOR`]).
pub fn cpu_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
            "avx" => std::arch::is_x86_feature_detected!("avx"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "f16c" => std::arch::is_x86_feature_detected!("f16c"),
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            "avx512cd" => std::arch::is_x86_feature_detected!("avx512cd"),
            "avx512vl" => std::arch::is_x86_feature_detected!("avx512vl"),
            "avx512dq" => std::arch::is_x86_feature_detected!("avx512dq"),
            "avx512bw" => std::arch::is_x86_feature_detected!("avx512bw"),
            "avx512vbmi" => std::arch::is_x86_feature_detected!("avx512vbmi"),
            "avx512vnni" => std::arch::is_x86_feature_detected!("avx512vnni"),
            "avx512bf16" => std::arch::is_x86_feature_detected!("avx512bf16"),
            "avxvnni" => std::arch::is_x86_feature_detected!("avxvnni"),
            // A name build.rs learned and this list did not: assume it is there rather than
            // refuse a CPU that may well run the build.
            _ => true,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        true
    }
}

/// Whether the linked ggml itself was compiled with AVX-512. Only call it after
/// [`check_this_cpu`] passed: it runs code from ggml's CPU library.
pub fn linked_avx512() -> bool {
    // SAFETY: a plain C function returning a compile-time constant.
    unsafe { llama_cpp_sys_2::ggml_cpu_has_avx512() != 0 }
}

/// The check the judge runs before llama.cpp starts.
pub fn check_this_cpu() -> Result<(), String> {
    match refusal(&missing(&compiled_for(), cpu_has), avx512_build()) {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_lacking_a_compiled_set_is_refused_with_the_switch_to_undo() {
        let required = ["avx2", "avx512f", "avx512bw"];
        let lacks = missing(&required, |f| f == "avx2");
        assert_eq!(lacks, vec!["avx512f", "avx512bw"]);
        let msg = refusal(&lacks, true).unwrap();
        assert!(msg.contains("avx512f, avx512bw"), "{msg}");
        assert!(msg.contains("RUBRICATE_CPU=avx512"), "{msg}");
        assert!(msg.contains("--judge-url"), "{msg}");
        let msg = refusal(&["avx2"], false).unwrap();
        assert!(msg.contains("GGML_AVX2=OFF"), "{msg}");
    }

    #[test]
    fn a_cpu_with_every_set_passes() {
        assert!(refusal(&missing(&["avx", "avx2"], |_| true), false).is_none());
    }

    #[test]
    fn this_build_records_what_ggml_was_compiled_for() {
        // On x86-64 ggml is always built with at least its AVX2 defaults or the AVX-512 switch.
        if cfg!(target_arch = "x86_64") {
            let c = compiled_for();
            assert!(c.contains(&"avx2") || c.contains(&"avx512f"), "{c:?}");
            // The machine that builds and tests rubricate runs it: the check must pass here.
            assert_eq!(check_this_cpu(), Ok(()));
        }
    }
}
