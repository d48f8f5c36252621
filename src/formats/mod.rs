//! Dataset formats: one module per import or export format.
//!
//! Import is a pure per-line parser ([`parse_line`]) that turns one JSON record into a
//! [`ParsedPair`], then [`ParsedPair::into_case`] places the answers on A/B. The I/O
//! (reading files, the transaction) lives in [`import`]; export in [`export`].

pub mod decisions;
pub mod export;
mod fields;
pub mod hh_rlhf;
pub mod import;
pub mod input;
pub mod output;
pub mod pairwise;
pub mod records;
pub mod rewardbench;
pub mod rmb;
pub mod rmbench;
pub mod trl;
pub mod ultrafeedback;

mod dpo;
mod reviews;
mod sft;

use crate::cli::ImportFormat;
use crate::domain::{Message, NewCase, Verdict, content_digest};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A concrete import format (what `--format auto` resolves to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Trl,
    Pairwise,
    HhRlhf,
    UltraFeedback,
    RewardBench,
    RmBench,
    RmbPairwise,
    RmbBestOfN,
}

impl SourceFormat {
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Trl => "trl",
            SourceFormat::Pairwise => "pairwise",
            SourceFormat::HhRlhf => "hh-rlhf",
            SourceFormat::UltraFeedback => "ultrafeedback",
            SourceFormat::RewardBench => "rewardbench",
            SourceFormat::RmBench => "rm-bench",
            SourceFormat::RmbPairwise => "rmb-pairwise",
            SourceFormat::RmbBestOfN => "rmb-bon",
        }
    }

    /// `None` for `auto`: the format is then detected per file.
    pub fn from_cli(format: ImportFormat) -> Option<SourceFormat> {
        match format {
            ImportFormat::Auto => None,
            ImportFormat::Trl => Some(SourceFormat::Trl),
            ImportFormat::Pairwise => Some(SourceFormat::Pairwise),
            ImportFormat::HhRlhf => Some(SourceFormat::HhRlhf),
            ImportFormat::Ultrafeedback => Some(SourceFormat::UltraFeedback),
            ImportFormat::Rewardbench => Some(SourceFormat::RewardBench),
            ImportFormat::RmBench => Some(SourceFormat::RmBench),
            ImportFormat::RmbPairwise => Some(SourceFormat::RmbPairwise),
            ImportFormat::RmbBon => Some(SourceFormat::RmbBestOfN),
        }
    }
}

impl std::fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why one line of an input file was refused. The messages are meant for the user,
/// prefixed by the file name and line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("the line is not valid UTF-8 text")]
    NotUtf8,
    #[error("expected a JSON object, found {0}")]
    NotObject(&'static str),
    #[error("missing field `{0}`")]
    MissingField(String),
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("empty text in `{0}`")]
    EmptyText(String),
    #[error(
        "cannot tell the format from the fields [{}]; expected TRL (prompt, chosen, rejected), pairwise \
         (prompt, response_a, response_b), HH-RLHF (chosen, rejected transcripts), UltraFeedback, \
         RewardBench, RM-Bench (chosen and rejected as lists of 3 variants) or RMB \
         (conversation_input with chosen/reject or bon_best/loser_list) fields, or pass --format",
        .0.join(", ")
    )]
    UnknownFormat(Vec<String>),
    #[error("{0}")]
    Invalid(String),
    /// The file's structure is broken at this point (a JSON array not closed, text after
    /// it), as opposed to one record's content.
    #[error("{0}")]
    Layout(String),
}

/// How the source ranks the two answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answers {
    /// The source says which answer is preferred (chosen/rejected). Where each one is
    /// shown is decided by the seeded shuffle, so the placement does not give the label away.
    Ranked {
        chosen: String,
        rejected: String,
        /// Per-answer source fields (model name, score), keyed by a short name.
        chosen_meta: Map<String, Value>,
        rejected_meta: Map<String, Value>,
    },
    /// The source already placed them (pairwise); its label, if any, refers to that placement.
    Placed {
        a: String,
        b: String,
        label: Option<Verdict>,
    },
}

/// One record of an input file, parsed but not yet placed on A/B.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPair {
    pub prompt: Vec<Message>,
    pub answers: Answers,
    pub source_id: Option<SourceId>,
    /// Top-level source fields rubricate has no column for, kept verbatim.
    pub extra: Map<String, Value>,
    /// The format's own grouping of records (see [`NewCase::category`]). When `None`, a
    /// top-level string field `category` in `extra` is used.
    pub category: Option<String>,
    /// The format's own difficulty grade (see [`NewCase::difficulty`]).
    pub difficulty: Option<String>,
}

/// The source's own id for a record, and where it came from so export can give it back.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceId {
    /// The field it was read from (`id`, `prompt_id`).
    pub key: &'static str,
    pub value: String,
    /// The source wrote it as a JSON number.
    pub numeric: bool,
}

/// Per-answer source fields and the names they carry in chosen/rejected formats.
/// Stored under `meta.a` / `meta.b` by the short name so they follow the answer.
pub const ANSWER_FIELDS: &[(&str, &str, &str)] = &[
    ("model", "chosen_model", "rejected_model"),
    ("score", "score_chosen", "score_rejected"),
];

/// Whether the preferred answer goes to A: one bit of sha256(seed || content hash).
/// Deterministic for a seed, independent of file order, and different seeds give
/// independent placements.
pub fn chosen_goes_first(seed: u64, content_hash: &str) -> bool {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(content_hash.as_bytes());
    h.finalize()[0] & 1 == 0
}

/// [`chosen_goes_first`] of a digest's lowercase hex form, written on the stack: the
/// import places every case, and a hex `String` per case was a measurable part of parsing.
fn chosen_goes_first_digest(seed: u64, digest: &[u8; 32]) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 64];
    for (pair, b) in hex.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    let hex = std::str::from_utf8(&hex).expect("hex digits are ASCII");
    chosen_goes_first(seed, hex)
}

impl ParsedPair {
    /// Place the answers on A/B and map the source's label onto that placement.
    pub fn into_case(self, format: SourceFormat, source: &str, seed: u64) -> NewCase {
        self.into_case_with_digest(format, source, seed).0
    }

    /// [`ParsedPair::into_case`] and the case's content digest, hashed once (the import
    /// needs both, and hashing is a good part of its work).
    pub fn into_case_with_digest(
        self,
        format: SourceFormat,
        source: &str,
        seed: u64,
    ) -> (NewCase, [u8; 32]) {
        let mut digest = None;
        let mut meta = Map::new();
        meta.insert("format".into(), Value::from(format.name()));
        if let Some(id) = &self.source_id {
            meta.insert("id_key".into(), Value::from(id.key));
            if id.numeric {
                meta.insert("id_numeric".into(), Value::Bool(true));
            }
        }
        let (answer_a, answer_b, source_label) = match self.answers {
            Answers::Placed { a, b, label } => (a, b, label),
            Answers::Ranked {
                chosen,
                rejected,
                chosen_meta,
                rejected_meta,
            } => {
                // Placement-independent, so it is also the digest of the placed case.
                let d = content_digest(&self.prompt, &chosen, &rejected);
                digest = Some(d);
                let (a, b, label, meta_a, meta_b) = if chosen_goes_first_digest(seed, &d) {
                    (chosen, rejected, Verdict::A, chosen_meta, rejected_meta)
                } else {
                    (rejected, chosen, Verdict::B, rejected_meta, chosen_meta)
                };
                if !meta_a.is_empty() {
                    meta.insert("a".into(), Value::Object(meta_a));
                }
                if !meta_b.is_empty() {
                    meta.insert("b".into(), Value::Object(meta_b));
                }
                (a, b, Some(label))
            }
        };
        let category = self.category.or_else(|| match self.extra.get("category") {
            Some(Value::String(c)) if !c.trim().is_empty() => Some(c.trim().to_string()),
            _ => None,
        });
        if !self.extra.is_empty() {
            meta.insert("extra".into(), Value::Object(self.extra));
        }
        let digest = digest.unwrap_or_else(|| content_digest(&self.prompt, &answer_a, &answer_b));
        let case = NewCase {
            source: source.to_string(),
            source_id: self.source_id.map(|id| id.value),
            prompt: self.prompt,
            answer_a,
            answer_b,
            source_label,
            meta: Value::Object(meta),
            category,
            difficulty: self.difficulty,
        };
        (case, digest)
    }
}

/// Tell the format from a record's keys. `None` when nothing fits.
pub fn detect(record: &Map<String, Value>) -> Option<SourceFormat> {
    let has = |k: &str| record.contains_key(k);
    if has("response_a") && has("response_b") {
        return Some(SourceFormat::Pairwise);
    }
    if rmb::looks_like_pairwise(record) {
        return Some(SourceFormat::RmbPairwise);
    }
    if rmb::looks_like_bon(record) {
        return Some(SourceFormat::RmbBestOfN);
    }
    if rmbench::looks_like(record) {
        return Some(SourceFormat::RmBench);
    }
    if !(has("chosen") && has("rejected")) {
        return None;
    }
    if has("chosen_model") || has("rejected_model") || has("subset") {
        Some(SourceFormat::RewardBench)
    } else if has("prompt_id") || has("score_chosen") || has("score_rejected") || has("messages") {
        Some(SourceFormat::UltraFeedback)
    } else if has("prompt") || !record["chosen"].is_string() {
        // No prompt and conversations as lists is TRL's implicit-prompt form.
        Some(SourceFormat::Trl)
    } else {
        Some(SourceFormat::HhRlhf)
    }
}

/// Parse one JSON value (one record of a file) in a known format. Most formats give one
/// pair per record; RM-Bench gives nine and RMB best-of-N one per losing answer.
pub fn parse_value(format: SourceFormat, value: Value) -> Result<Vec<ParsedPair>, LineError> {
    let record = fields::into_object(value)?;
    parse_record(format, record)
}

/// Parse one JSON object in a known format.
pub fn parse_record(
    format: SourceFormat,
    record: Map<String, Value>,
) -> Result<Vec<ParsedPair>, LineError> {
    let one = |p: Result<ParsedPair, LineError>| p.map(|p| vec![p]);
    match format {
        SourceFormat::Trl => one(trl::parse(record)),
        SourceFormat::Pairwise => one(pairwise::parse(record)),
        SourceFormat::HhRlhf => one(hh_rlhf::parse(record)),
        SourceFormat::UltraFeedback => one(ultrafeedback::parse(record)),
        SourceFormat::RewardBench => one(rewardbench::parse(record)),
        SourceFormat::RmBench => rmbench::parse(record),
        SourceFormat::RmbPairwise => one(rmb::parse_pairwise(record)),
        SourceFormat::RmbBestOfN => rmb::parse_bon(record),
    }
}

/// Parse one JSON value whose format may still be unknown. With `format == None` the
/// format is detected from this record's keys and returned, so the caller can fix it for
/// the rest of the file.
pub fn parse_json(
    format: Option<SourceFormat>,
    value: Value,
) -> Result<(SourceFormat, Vec<ParsedPair>), LineError> {
    let record = fields::into_object(value)?;
    let format = match format {
        Some(f) => f,
        None => detect(&record)
            .ok_or_else(|| LineError::UnknownFormat(record.keys().cloned().collect()))?,
    };
    Ok((format, parse_record(format, record)?))
}

/// Parse one line of text (see [`parse_json`]).
pub fn parse_line(
    format: Option<SourceFormat>,
    line: &str,
) -> Result<(SourceFormat, Vec<ParsedPair>), LineError> {
    let value: Value = serde_json::from_str(line).map_err(|e| fields::json_error(&e))?;
    parse_json(format, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_from_the_digest_matches_the_hex_form() {
        let mut both = [0, 0];
        for i in 0..200u32 {
            let digest: [u8; 32] = Sha256::digest(i.to_le_bytes()).into();
            for seed in [0, 1, 42, u64::MAX] {
                let first = chosen_goes_first_digest(seed, &digest);
                assert_eq!(
                    first,
                    chosen_goes_first(seed, &hex::encode(digest)),
                    "{i} {seed}"
                );
                both[usize::from(first)] += 1;
            }
        }
        // Both placements happen (the bit is not stuck).
        assert!(both[0] > 300 && both[1] > 300, "{both:?}");
    }
}
