//! The config file (`~/.config/rubricate/config.toml` on Linux): one `Config` struct, read with
//! the `toml` crate. Every key is optional; a missing file is an empty config.
//!
//! The workbench writes its settings back into the `[workbench]` table with `toml_edit`, which
//! keeps the rest of the file — the user's comments, key order and other tables — as it was.

use crate::paths;
use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything the config file can say. Command-line options and environment variables win over it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// GGUF model file for the in-process judge (`~/` is expanded).
    pub model: Option<String>,
    /// Chat template name when the GGUF has none (chatml, gemma, llama3, ...).
    pub template: Option<String>,
    /// Judge profile name (see `rubricate profiles`).
    pub profile: Option<String>,
    /// Base URL of an OpenAI-compatible judge server, ending in `/v1`.
    pub judge_url: Option<String>,
    /// Model name to request from that server.
    pub judge_model: Option<String>,
    /// Workbench settings, also written back by the workbench when they are changed there.
    pub workbench: WorkbenchConfig,
}

/// Most cases the workbench's in-process judge decodes at once.
pub const MAX_PREFETCH_SEQUENCES: u32 = 2;

/// Cases the workbench's in-process judge decodes at once unless told otherwise. One: on
/// the 2-core machines measured (docs/benchmarks.md, "Workbench prefetch on a second
/// sequence"), two sequences cost about twice one per step, so the next case was not ready
/// sooner while the open case streamed at about half its rate.
pub const DEFAULT_PREFETCH_SEQUENCES: u32 = 1;

/// The `[workbench]` table. `None` means "not set": the workbench's own default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkbenchConfig {
    /// Open the next case after a decision.
    pub auto_advance: Option<bool>,
    /// Show the queue column.
    pub show_queue: Option<bool>,
    /// Hide the judge's verdict until the reviewer has decided.
    pub blind: Option<bool>,
    /// Hide the judge's reasoning too while blind.
    pub blind_reasoning: Option<bool>,
    /// Judge every case in both orders.
    pub both_orders: Option<bool>,
    /// Cases the in-process judge decodes at once in the workbench: 2 judges the next
    /// wanted case beside the open one; 1 (the default) judges one after the other. Each
    /// sequence adds its share of the KV cache. Read only: the workbench never writes it.
    pub prefetch_sequences: Option<u32>,
}

impl WorkbenchConfig {
    /// The keys in file order with their values (for writing back).
    fn entries(&self) -> [(&'static str, Option<bool>); 5] {
        [
            ("auto_advance", self.auto_advance),
            ("show_queue", self.show_queue),
            ("blind", self.blind),
            ("blind_reasoning", self.blind_reasoning),
            ("both_orders", self.both_orders),
        ]
    }
}

impl Config {
    /// The config file at its platform path; an absent file is the empty config.
    pub fn load() -> Result<Config> {
        Config::load_from(&paths::config_file()?)
    }

    /// The config file at `path`; an absent file is the empty config.
    pub fn load_from(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the config file {}", path.display()));
            }
        };
        match Config::parse(&text) {
            Ok(c) => Ok(c),
            Err(e) => bail!(
                "{}:{}: {}; fix that line (see \"Config file\" in the README) or move the file away",
                path.display(),
                e.line,
                e.message
            ),
        }
    }

    /// Parse config text (pure). The error carries the 1-based line it is about.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().trim().to_string(),
        })?;
        if let Some(m) = &config.model
            && m.trim().is_empty()
        {
            return Err(ConfigError {
                line: key_line(text, "model").unwrap_or(1),
                message: "the model path is empty; write it as model = \"/path/to/model.gguf\""
                    .into(),
            });
        }
        if let Some(n) = config.workbench.prefetch_sequences
            && !(1..=MAX_PREFETCH_SEQUENCES).contains(&n)
        {
            return Err(ConfigError {
                line: key_line(text, "prefetch_sequences").unwrap_or(1),
                message: format!(
                    "prefetch_sequences is {n}; write 1 (one case at a time) or 2 (the next case beside the open one)"
                ),
            });
        }
        Ok(config)
    }

    /// The model path with a leading `~/` expanded.
    pub fn model_path(&self) -> Option<PathBuf> {
        self.model.as_deref().map(expand_home)
    }

    /// Write the set values of `workbench` into the platform config file's `[workbench]` table.
    pub fn save_workbench(workbench: &WorkbenchConfig) -> Result<()> {
        Config::save_workbench_to(&paths::config_file()?, workbench)
    }

    /// Write the set values of `workbench` into the `[workbench]` table of the file at `path`,
    /// keeping everything else in the file (comments included). Keys left `None` are not touched.
    pub fn save_workbench_to(path: &Path, workbench: &WorkbenchConfig) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the config file {}", path.display()));
            }
        };
        let updated = update_workbench_text(&text, workbench).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}: {}; the workbench settings were not saved",
                path.display(),
                e.line,
                e.message
            )
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Write a sibling and rename it over, so a crash never leaves half a config file.
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, updated).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
    }
}

/// A config error: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The config text with the `[workbench]` values set (pure; comments and layout kept).
pub fn update_workbench_text(
    text: &str,
    workbench: &WorkbenchConfig,
) -> Result<String, ConfigError> {
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError {
                line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
                message: e.message().trim().to_string(),
            })?;
    if !doc.contains_key("workbench") {
        doc.insert("workbench", toml_edit::Item::Table(toml_edit::Table::new()));
    }
    let Some(table) = doc["workbench"].as_table_like_mut() else {
        return Err(ConfigError {
            line: key_line(text, "workbench").unwrap_or(1),
            message: "`workbench` must be a table ([workbench])".into(),
        });
    };
    for (key, value) in workbench.entries() {
        if let Some(v) = value {
            match table.get_mut(key) {
                // Keep the decoration (comments, spacing) of an existing value.
                Some(item) if item.is_value() => {
                    let decor = item.as_value().map(|v| v.decor().clone());
                    *item = toml_edit::value(v);
                    if let (Some(d), Some(val)) = (decor, item.as_value_mut()) {
                        *val.decor_mut() = d;
                    }
                }
                _ => {
                    table.insert(key, toml_edit::value(v));
                }
            }
        }
    }
    Ok(doc.to_string())
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 1-based line where a top-level `key =` (or `[key]`) first appears.
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
                || l.trim_end() == format!("[{key}]")
        })
        .map(|i| i + 1)
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new()
    {
        return home.home_dir().join(rest);
    }
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_parse() {
        let c = Config::parse(
            "# my judge\nmodel = \"/m/x.gguf\"\ntemplate = 'chatml'\nprofile = \"rm-r1\"\n\
             judge_url = \"http://127.0.0.1:8080/v1\"\njudge_model = \"rm-r1-7b\"\n\
             [workbench]\nauto_advance = false\nblind = true\n",
        )
        .unwrap();
        assert_eq!(c.model.as_deref(), Some("/m/x.gguf"));
        assert_eq!(c.template.as_deref(), Some("chatml"));
        assert_eq!(c.profile.as_deref(), Some("rm-r1"));
        assert_eq!(c.judge_url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!(c.judge_model.as_deref(), Some("rm-r1-7b"));
        assert_eq!(c.workbench.auto_advance, Some(false));
        assert_eq!(c.workbench.blind, Some(true));
        assert_eq!(c.workbench.show_queue, None);
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn strings_follow_toml() {
        let c = Config::parse("model = \"C:\\\\m.gguf\"").unwrap();
        assert_eq!(c.model.as_deref(), Some("C:\\m.gguf"));
        let c = Config::parse("model='/a b.gguf'").unwrap();
        assert_eq!(c.model.as_deref(), Some("/a b.gguf"));
        // A key inside another table is not the top-level one.
        let e = Config::parse("[other]\nmodel = \"x\"").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::parse("\n\nmodel = /x").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = Config::parse("profile = \"a\"\nmodle = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("modle"), "{e}");
        let e = Config::parse("[workbench]\nblind = \"yes\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = Config::parse("# x\nmodel = \"\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn load_from_reports_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load_from(&path).unwrap(), Config::default());
        std::fs::write(&path, "model = \"/ok\"\njudge_url = 3\n").unwrap();
        let e = format!("{:#}", Config::load_from(&path).unwrap_err());
        assert!(e.contains(&format!("{}:2:", path.display())), "{e}");
    }

    #[test]
    fn home_is_expanded() {
        let c = Config::parse("model = \"~/m.gguf\"").unwrap();
        let p = c.model_path().unwrap();
        assert!(p.ends_with("m.gguf"));
        if directories::BaseDirs::new().is_some() {
            assert!(!p.starts_with("~"), "{}", p.display());
        }
    }

    #[test]
    fn saving_workbench_keeps_comments_and_other_keys() {
        let before = "# my settings\nmodel = \"/m.gguf\" # the 7B\n\n\
                      [workbench]\n# stay on the case\nauto_advance = true # for now\nblind = true\n";
        let wb = WorkbenchConfig {
            auto_advance: Some(false),
            both_orders: Some(true),
            ..Default::default()
        };
        let after = update_workbench_text(before, &wb).unwrap();
        assert!(after.contains("# my settings"), "{after}");
        assert!(after.contains("# the 7B"), "{after}");
        assert!(after.contains("# stay on the case"), "{after}");
        assert!(after.contains("auto_advance = false # for now"), "{after}");
        let c = Config::parse(&after).unwrap();
        assert_eq!(c.model.as_deref(), Some("/m.gguf"));
        assert_eq!(c.workbench.auto_advance, Some(false));
        assert_eq!(c.workbench.blind, Some(true), "untouched key kept");
        assert_eq!(c.workbench.both_orders, Some(true));
    }

    #[test]
    fn prefetch_sequences_is_one_or_two() {
        let c = Config::parse("[workbench]\nprefetch_sequences = 1\n").unwrap();
        assert_eq!(c.workbench.prefetch_sequences, Some(1));
        let e = Config::parse("model = \"/m.gguf\"\n[workbench]\nprefetch_sequences = 3\n")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("write 1"), "{e}");
        assert!(Config::parse("[workbench]\nprefetch_sequences = 0\n").is_err());
    }

    #[test]
    fn saving_into_an_absent_file_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        let wb = WorkbenchConfig {
            show_queue: Some(false),
            ..Default::default()
        };
        Config::save_workbench_to(&path, &wb).unwrap();
        let c = Config::load_from(&path).unwrap();
        assert_eq!(c.workbench.show_queue, Some(false));
        assert_eq!(c.model, None);
        // A broken file is not overwritten.
        std::fs::write(&path, "model = \n").unwrap();
        let e = format!("{:#}", Config::save_workbench_to(&path, &wb).unwrap_err());
        assert!(e.contains(":1:"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "model = \n");
    }
}
