//! RewardBench: `{prompt, chosen, chosen_model, rejected, rejected_model, subset, id}`,
//! all strings except the numeric `id`. Each case's category is the section RewardBench
//! reports its subset under (Chat, Chat Hard, Safety, Reasoning).

use super::fields;
use super::{Answers, LineError, ParsedPair};
use serde_json::{Map, Value};

pub fn parse(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "id")?;
    let prompt = fields::take_prompt(&mut record, "prompt")?;
    let chosen = fields::take_answer(&mut record, "chosen")?;
    let rejected = fields::take_answer(&mut record, "rejected")?;
    let mut chosen_meta = Map::new();
    let mut rejected_meta = Map::new();
    if let Some(m) = fields::take_opt(&mut record, "chosen_model") {
        chosen_meta.insert("model".into(), m);
    }
    if let Some(m) = fields::take_opt(&mut record, "rejected_model") {
        rejected_meta.insert("model".into(), m);
    }
    let category = match record.get("subset") {
        Some(Value::String(subset)) if !subset.trim().is_empty() => {
            Some(section(subset.trim()).unwrap_or(subset.trim()).to_string())
        }
        _ => None,
    };
    Ok(ParsedPair {
        prompt,
        answers: Answers::Ranked {
            chosen,
            rejected,
            chosen_meta,
            rejected_meta,
        },
        source_id,
        // `subset` stays here and is given back verbatim.
        extra: record,
        category,
        difficulty: None,
    })
}

/// RewardBench's four reported sections and the subsets each one averages, as the
/// benchmark's own leaderboard code groups them. Migration 0003 repeats this table in SQL
/// for cases imported before categories existed.
pub const SECTIONS: &[(&str, &[&str])] = &[
    (
        "Chat",
        &[
            "alpacaeval-easy",
            "alpacaeval-length",
            "alpacaeval-hard",
            "mt-bench-easy",
            "mt-bench-med",
        ],
    ),
    (
        "Chat Hard",
        &[
            "mt-bench-hard",
            "llmbar-natural",
            "llmbar-adver-neighbor",
            "llmbar-adver-GPTInst",
            "llmbar-adver-GPTOut",
            "llmbar-adver-manual",
        ],
    ),
    (
        "Safety",
        &[
            "refusals-dangerous",
            "refusals-offensive",
            "xstest-should-refuse",
            "xstest-should-respond",
            "donotanswer",
        ],
    ),
    (
        "Reasoning",
        &[
            "math-prm",
            "hep-cpp",
            "hep-go",
            "hep-java",
            "hep-js",
            "hep-python",
            "hep-rust",
        ],
    ),
];

/// The section a RewardBench subset is reported under; `None` for a subset outside the
/// published table (the caller then keeps the subset's own name).
pub fn section(subset: &str) -> Option<&'static str> {
    SECTIONS
        .iter()
        .find(|(_, subsets)| subsets.contains(&subset))
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn models_follow_their_answers() {
        let rec = json!({"prompt": "q", "chosen": "good", "chosen_model": "m1", "rejected": "bad",
                         "rejected_model": "m2", "subset": "math-prm", "id": 17});
        let p = parse(rec.as_object().unwrap().clone()).unwrap();
        assert_eq!(p.source_id.as_ref().map(|i| i.value.as_str()), Some("17"));
        assert_eq!(p.extra["subset"], json!("math-prm"));
        assert_eq!(p.category.as_deref(), Some("Reasoning"));
        match p.answers {
            Answers::Ranked {
                chosen_meta,
                rejected_meta,
                ..
            } => {
                assert_eq!(chosen_meta["model"], json!("m1"));
                assert_eq!(rejected_meta["model"], json!("m2"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_subset_has_one_section() {
        assert_eq!(section("alpacaeval-easy"), Some("Chat"));
        assert_eq!(section("llmbar-adver-GPTOut"), Some("Chat Hard"));
        assert_eq!(section("xstest-should-respond"), Some("Safety"));
        assert_eq!(section("hep-rust"), Some("Reasoning"));
        assert_eq!(section("not-a-subset"), None);
        let all: Vec<&str> = SECTIONS
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        assert_eq!(all.len(), 23, "RewardBench has 23 subsets");
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len(), "a subset listed twice");
    }

    #[test]
    fn migration_maps_subsets_like_the_importer() {
        let sql = include_str!("../../migrations/0003_case_category.sql");
        for (name, subsets) in SECTIONS {
            for subset in *subsets {
                let arm = format!("WHEN '{subset}' THEN '{name}'");
                assert!(sql.contains(&arm), "migration 0003 lacks {arm}");
            }
        }
        assert_eq!(sql.matches(" THEN '").count(), 23);
    }

    #[test]
    fn unknown_subset_keeps_its_name() {
        let rec = json!({"prompt": "q", "chosen": "good", "rejected": "bad", "subset": "my-own"});
        let p = parse(rec.as_object().unwrap().clone()).unwrap();
        assert_eq!(p.category.as_deref(), Some("my-own"));
    }
}
