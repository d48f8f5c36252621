//! Which model file, and whether it is usable: lookup order, the pre-load check, the
//! SHA-256 (cached by path, size and modification time, as hashing 100 MB takes a moment).

use super::api::JudgeConfig;
use super::gguf::{self, GgufError, GgufSummary};
use super::profile::Profile;
use crate::cli::ModelSelect;
use crate::config::Config;
use crate::domain::SamplerSettings;
use crate::paths;
use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

pub const MODEL_ENV: &str = "RUBRICATE_MODEL";
/// Context length the judge asks for; the sample cases need well under half of it.
pub const DEFAULT_N_CTX: u32 = 4096;

/// Model lookup order: `--model`, `RUBRICATE_MODEL`, the config file's `model = "..."`,
/// then the default path in the data dir.
pub fn resolve_model_path(select: &ModelSelect) -> Result<PathBuf> {
    resolve_model_path_with(select, &Config::load()?)
}

fn resolve_model_path_with(select: &ModelSelect, config: &Config) -> Result<PathBuf> {
    if let Some(p) = &select.model {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = config.model_path() {
        return Ok(p);
    }
    paths::default_model()
}

/// The worker configuration for a model selection from the command line.
pub fn config_from_select(select: &ModelSelect, seed: u32, grammar: bool) -> Result<JudgeConfig> {
    let threads = match select.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(2),
    };
    let config = Config::load()?;
    let (profile, sampler) = profile_and_sampler(select, &config)?;
    Ok(JudgeConfig {
        model_path: resolve_model_path_with(select, &config)?,
        threads,
        // Long-reasoning profiles ask for more room; the model's trained length caps it.
        n_ctx: profile.n_ctx.max(DEFAULT_N_CTX),
        template: select.template.clone().or(config.template),
        grammar,
        seed,
        sampler,
        profile,
        n_batch: super::engine::PREFILL_CHUNK as u32,
        parallel: 1,
    })
}

/// The selected profile and its sampler with `--max-tokens` applied.
fn profile_and_sampler(
    select: &ModelSelect,
    config: &Config,
) -> Result<(Profile, SamplerSettings)> {
    let profile = Profile::select(select.profile.as_deref(), config)?;
    let mut sampler = profile.sampler.clone();
    match select.max_tokens {
        Some(0) => bail!("--max-tokens must be at least 1"),
        Some(n) => sampler.max_tokens = n,
        None => {}
    }
    Ok((profile, sampler))
}

/// Where judgments come from: the in-process model, or an OpenAI-compatible server.
#[derive(Debug, Clone)]
// Built once per run: the size difference (the local config carries its profile) costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Local(JudgeConfig),
    Remote(super::remote::RemoteConfig),
}

/// The backend a selection asks for: a server when `--judge-url` (or `RUBRICATE_JUDGE_URL`,
/// or the config file's `judge_url`) names one, else the in-process model.
pub fn backend_from_select(select: &ModelSelect, seed: u32, grammar: bool) -> Result<Backend> {
    let config = Config::load()?;
    let url = select
        .judge_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or(config.judge_url.clone());
    let Some(url) = url else {
        return config_from_select(select, seed, grammar).map(Backend::Local);
    };
    if select.model.is_some() {
        bail!(
            "--model and a judge server ({}) were both given: the server's model judges; drop one of them",
            super::remote::strip_credentials(&url)
        );
    }
    super::remote::client::check_base_url(&url).map_err(anyhow::Error::msg)?;
    let (profile, sampler) = profile_and_sampler(select, &config)?;
    Ok(Backend::Remote(super::remote::RemoteConfig {
        url,
        model: select.judge_model.clone().or(config.judge_model),
        api_key: super::remote::RemoteConfig::api_key_from_env(),
        profile,
        grammar,
        seed,
        sampler,
    }))
}

/// The message for a model that cannot be used; it always says what to do.
fn fix_hint(path: &Path) -> String {
    let is_default = paths::default_model().is_ok_and(|d| d == path);
    if is_default {
        "Run scripts/fetch-model.sh to download the default model, or pass --model PATH (or set RUBRICATE_MODEL) to use another GGUF file.".to_string()
    } else {
        "Pass --model PATH (or set RUBRICATE_MODEL) to a complete GGUF model file, or drop the option to use the default model (scripts/fetch-model.sh downloads it).".to_string()
    }
}

/// Check that `path` holds a complete GGUF model before handing it to llama.cpp.
pub fn check_model_file(path: &Path) -> Result<GgufSummary, String> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "The judge model {shown} does not exist. {}",
                fix_hint(path)
            ));
        }
        Err(e) => {
            return Err(format!(
                "Cannot read the judge model {shown}: {e}. {}",
                fix_hint(path)
            ));
        }
    };
    if !meta.is_file() {
        return Err(format!(
            "The judge model {shown} is not a file. {}",
            fix_hint(path)
        ));
    }
    match gguf::inspect(path) {
        Ok(s) => Ok(s),
        Err(GgufError::Io(e)) => Err(format!(
            "Cannot read the judge model {shown}: {e}. {}",
            fix_hint(path)
        )),
        Err(e @ (GgufError::Truncated { .. } | GgufError::HeaderCut(_))) => Err(format!(
            "The judge model {shown} is incomplete (a download cut short?): {e}. {}",
            fix_hint(path)
        )),
        Err(e) => Err(format!(
            "The judge model {shown} is not a usable GGUF model: {e}. {}",
            fix_hint(path)
        )),
    }
}

/// For the default model: the hash must be the published one.
pub fn verify_default_hash(path: &Path, sha256: &str) -> Result<(), String> {
    let is_default = paths::default_model().is_ok_and(|d| d == path);
    if is_default && sha256 != paths::DEFAULT_MODEL_SHA256 {
        return Err(format!(
            "The default judge model {} is damaged: its SHA-256 is {sha256}, expected {}. {}",
            path.display(),
            paths::DEFAULT_MODEL_SHA256,
            fix_hint(path)
        ));
    }
    Ok(())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct HashCache {
    files: BTreeMap<String, CachedHash>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedHash {
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

fn hash_cache_file() -> Option<PathBuf> {
    paths::data_dir()
        .ok()
        .map(|d| d.join("cache").join("model-sha256.json"))
}

/// SHA-256 of a model file, from the cache when path, size and mtime are unchanged.
pub fn model_sha256(path: &Path) -> Result<String> {
    sha256_cached(path, hash_cache_file())
}

fn sha256_cached(path: &Path, cache_path: Option<PathBuf>) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    let mut cache: HashCache = cache_path
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some(c) = cache.files.get(&key)
        && c.size == meta.len()
        && c.mtime_ns == mtime_ns
    {
        return Ok(c.sha256.clone());
    }
    let sha256 = sha256_file(path)?;
    cache.files.insert(
        key,
        CachedHash {
            size: meta.len(),
            mtime_ns,
            sha256: sha256.clone(),
        },
    );
    // The cache only saves time; failing to write it is not an error.
    if let Some(p) = cache_path {
        let written = p
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| {
                let tmp = p.with_extension("json.tmp");
                std::fs::write(&tmp, serde_json::to_vec_pretty(&cache).unwrap_or_default())?;
                std::fs::rename(&tmp, &p)
            });
        if let Err(e) = written {
            tracing::warn!("cannot write the model hash cache {}: {e}", p.display());
        }
    }
    Ok(sha256)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_cache_is_used_and_invalidated_by_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.gguf");
        let cache = dir.path().join("cache").join("hashes.json");
        std::fs::write(&model, b"first").unwrap();
        let first = sha256_cached(&model, Some(cache.clone())).unwrap();
        assert_eq!(first, sha256_file(&model).unwrap());
        assert!(cache.exists());
        // A cached entry is what is returned while size and mtime match...
        let text = std::fs::read_to_string(&cache)
            .unwrap()
            .replace(&first, &"0".repeat(64));
        std::fs::write(&cache, text).unwrap();
        assert_eq!(
            sha256_cached(&model, Some(cache.clone())).unwrap(),
            "0".repeat(64)
        );
        // ...and a changed file is hashed again.
        std::fs::write(&model, b"second, longer").unwrap();
        let second = sha256_cached(&model, Some(cache.clone())).unwrap();
        assert_eq!(second, sha256_file(&model).unwrap());
        assert_ne!(second, first);
    }

    #[test]
    fn missing_and_foreign_files_say_how_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.gguf");
        let e = check_model_file(&missing).unwrap_err();
        assert!(e.contains("does not exist") && e.contains("--model"), "{e}");
        let foreign = dir.path().join("x.gguf");
        std::fs::write(&foreign, b"hello").unwrap();
        let e = check_model_file(&foreign).unwrap_err();
        assert!(
            e.contains("not a usable GGUF") && e.contains("--model"),
            "{e}"
        );
        let e = check_model_file(dir.path()).unwrap_err();
        assert!(e.contains("not a file"), "{e}");
    }
}
