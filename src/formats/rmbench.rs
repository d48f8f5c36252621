//! RM-Bench: `{id, prompt, chosen: [3 texts], rejected: [3 texts], domain or subset, …}`.
//!
//! Each answer comes in three styles, in this order: concise, detailed, detailed with
//! markdown. One item becomes the nine chosen × rejected pairs, each tagged with the two
//! styles and RM-Bench's difficulty for that cell of the 3 × 3 matrix:
//! - hard: the chosen answer is in a plainer style than the rejected one (a judge that
//!   likes length or formatting is pulled the wrong way) — the upper triangle;
//! - normal: the same style on both sides — the diagonal;
//! - easy: the chosen answer is the fancier one — the lower triangle.
//!
//! The difficulty is only right for files that keep the published order of the variants
//! (the benchmark's own rotated copies, which shift the rejected list, are not that).

use super::fields;
use super::{Answers, LineError, ParsedPair, SourceId};
use serde_json::{Map, Value};

/// The three styles, in the order RM-Bench lists the variants.
pub const STYLES: [&str; 3] = ["concise", "detailed", "detailed-markdown"];

/// RM-Bench's difficulty of comparing chosen variant `chosen` with rejected variant
/// `rejected` (indexes into [`STYLES`]).
pub fn difficulty(chosen: usize, rejected: usize) -> &'static str {
    match chosen.cmp(&rejected) {
        std::cmp::Ordering::Less => "hard",
        std::cmp::Ordering::Equal => "normal",
        std::cmp::Ordering::Greater => "easy",
    }
}

/// The domains RM-Bench builds its sets from, for files that name only the source subset
/// (the benchmark's per-domain files carry `subset` instead of `domain`).
const SUBSET_DOMAINS: &[(&str, &str)] =
    &[("alpacaeval", "chat"), ("bigcode/humanevalpack", "code")];

/// Whether a record has RM-Bench's shape: `chosen` and `rejected` are lists of texts.
pub fn looks_like(record: &Map<String, Value>) -> bool {
    let texts = |k: &str| {
        matches!(record.get(k), Some(Value::Array(items))
            if items.first().is_some_and(Value::is_string))
    };
    texts("chosen") && texts("rejected")
}

fn variants(record: &mut Map<String, Value>, key: &str) -> Result<Vec<String>, LineError> {
    let items = match fields::take_field(record, key)? {
        Value::Array(items) => items,
        other => return Err(fields::wrong_type(key, "a list of 3 texts", &other)),
    };
    if items.len() != STYLES.len() {
        return Err(LineError::Invalid(format!(
            "`{key}` has {} variants; RM-Bench gives 3 (concise, detailed, detailed-markdown)",
            items.len()
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("{key}[{i}]");
            match v {
                Value::String(s) if s.trim().is_empty() => Err(LineError::EmptyText(field)),
                Value::String(s) => Ok(s),
                other => Err(fields::wrong_type(&field, "a string", &other)),
            }
        })
        .collect()
}

pub fn parse(mut record: Map<String, Value>) -> Result<Vec<ParsedPair>, LineError> {
    let id = fields::take_id(&mut record, "id")?;
    let prompt = fields::take_prompt(&mut record, "prompt")?;
    let chosen = variants(&mut record, "chosen")?;
    let rejected = variants(&mut record, "rejected")?;
    let category = category(&record, id.as_ref());
    let mut pairs = Vec::with_capacity(9);
    for (c, chosen_text) in chosen.iter().enumerate() {
        for (r, rejected_text) in rejected.iter().enumerate() {
            let style = |i: usize| Map::from_iter([("style".to_string(), Value::from(STYLES[i]))]);
            let mut extra = record.clone();
            if let Some(id) = &id {
                // The item's id, verbatim; the case's own id names the cell too.
                let value = if id.numeric {
                    id.value
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(id.value.clone()))
                } else {
                    Value::from(id.value.clone())
                };
                extra.insert("rm_bench_id".into(), value);
            }
            extra.insert("chosen_style".into(), Value::from(STYLES[c]));
            extra.insert("rejected_style".into(), Value::from(STYLES[r]));
            pairs.push(ParsedPair {
                prompt: prompt.clone(),
                answers: Answers::Ranked {
                    chosen: chosen_text.clone(),
                    rejected: rejected_text.clone(),
                    chosen_meta: style(c),
                    rejected_meta: style(r),
                },
                source_id: id.as_ref().map(|id| SourceId {
                    key: "id",
                    value: format!("{}:c{c}r{r}", id.value),
                    numeric: false,
                }),
                extra,
                category: category.clone(),
                difficulty: Some(difficulty(c, r).to_string()),
            });
        }
    }
    Ok(pairs)
}

/// `domain` when the item has one; else the domain in an id like `chat/12`; else the
/// domain of a known source subset; else the subset itself.
fn category(record: &Map<String, Value>, id: Option<&SourceId>) -> Option<String> {
    let text = |k: &str| match record.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    if let Some(domain) = text("domain") {
        return Some(domain);
    }
    if let Some((domain, _)) = id.and_then(|id| id.value.split_once('/'))
        && !domain.is_empty()
    {
        return Some(domain.to_string());
    }
    let subset = text("subset")?;
    Some(
        SUBSET_DOMAINS
            .iter()
            .find(|(s, _)| *s == subset)
            .map_or(subset.clone(), |(_, d)| d.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> Map<String, Value> {
        json!({
            "id": 7, "subset": "alpacaeval", "prompt": "Name a prime.",
            "chosen": ["2", "Two is prime: its only divisors are 1 and 2.", "**Two** is prime."],
            "rejected": ["4", "Four is prime: it has no divisors.", "**Four** is prime."],
            "error_key": "four"
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn the_matrix_is_hard_above_the_diagonal_and_easy_below() {
        let expected = [
            ["normal", "hard", "hard"],
            ["easy", "normal", "hard"],
            ["easy", "easy", "normal"],
        ];
        for (c, row) in expected.iter().enumerate() {
            for (r, want) in row.iter().enumerate() {
                assert_eq!(difficulty(c, r), *want, "chosen {c} vs rejected {r}");
            }
        }
    }

    #[test]
    fn one_item_becomes_nine_tagged_pairs() {
        let pairs = parse(item()).unwrap();
        assert_eq!(pairs.len(), 9);
        let mut seen = std::collections::HashSet::new();
        for p in &pairs {
            let Answers::Ranked {
                chosen,
                rejected,
                chosen_meta,
                rejected_meta,
            } = &p.answers
            else {
                panic!("ranked");
            };
            let c = STYLES
                .iter()
                .position(|s| chosen_meta["style"] == json!(s))
                .unwrap();
            let r = STYLES
                .iter()
                .position(|s| rejected_meta["style"] == json!(s))
                .unwrap();
            // The texts are the variants of those styles.
            assert_eq!(chosen, &item()["chosen"][c].as_str().unwrap().to_string());
            assert_eq!(
                rejected,
                &item()["rejected"][r].as_str().unwrap().to_string()
            );
            assert_eq!(p.difficulty.as_deref(), Some(difficulty(c, r)));
            assert_eq!(p.category.as_deref(), Some("chat"));
            assert_eq!(p.source_id.as_ref().unwrap().value, format!("7:c{c}r{r}"));
            assert_eq!(p.extra["rm_bench_id"], json!(7));
            assert_eq!(p.extra["error_key"], json!("four"));
            assert_eq!(p.extra["chosen_style"], json!(STYLES[c]));
            assert!(seen.insert((c, r)));
        }
        let count = |d: &str| {
            pairs
                .iter()
                .filter(|p| p.difficulty.as_deref() == Some(d))
                .count()
        };
        assert_eq!((count("hard"), count("normal"), count("easy")), (3, 3, 3));
    }

    #[test]
    fn category_prefers_domain_then_id_then_subset() {
        let mut rec = item();
        rec.insert("domain".into(), json!("safety-refuse"));
        assert_eq!(
            parse(rec).unwrap()[0].category.as_deref(),
            Some("safety-refuse")
        );
        let mut rec = item();
        rec.insert("id".into(), json!("math/12"));
        rec.remove("subset");
        assert_eq!(parse(rec).unwrap()[0].category.as_deref(), Some("math"));
        let mut rec = item();
        rec.insert("subset".into(), json!("something-else"));
        assert_eq!(
            parse(rec).unwrap()[0].category.as_deref(),
            Some("something-else")
        );
    }

    #[test]
    fn wrong_variant_counts_and_empty_variants_are_refused() {
        let mut rec = item();
        rec.insert("chosen".into(), json!(["a", "b"]));
        let e = parse(rec).unwrap_err();
        assert!(e.to_string().contains("has 2 variants"), "{e}");
        let mut rec = item();
        rec.insert("rejected".into(), json!(["a", " ", "c"]));
        assert_eq!(
            parse(rec).unwrap_err(),
            LineError::EmptyText("rejected[1]".into())
        );
        let mut rec = item();
        rec.insert("rejected".into(), json!(["a", 3, "c"]));
        assert!(parse(rec).unwrap_err().to_string().contains("rejected[1]"));
    }
}
