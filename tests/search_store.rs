//! What `/` searches and what `:` finds, on a real SQLite file.

mod formats_common;

use formats_common::imported;
use rubricate::domain::{NewReview, ReviewAction, Verdict};

#[test]
fn search_reaches_notes_rubrics_analyses_and_ids() {
    let (_dir, _db, store, cases) = imported("pairwise.jsonl");
    let id_of = |sid: &str| {
        cases
            .iter()
            .find(|c| c.source_id.as_deref() == Some(sid))
            .unwrap()
            .id
    };
    store
        .append_review(&NewReview {
            case_id: id_of("pw-2"),
            reviewer: "ann".into(),
            action: Some(ReviewAction::Note),
            note: Some("Check the Zanzibar date".into()),
            ..Default::default()
        })
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: id_of("pw-3"),
            reviewer: "ann".into(),
            action: Some(ReviewAction::Edit),
            verdict: Some(Verdict::A),
            rubric: Some("1. Mentions the quokka criterion".into()),
            analysis: Some("Both are fine; walrus.".into()),
            ..Default::default()
        })
        .unwrap();
    // Text of the case, any case: the answers and the prompt.
    assert_eq!(store.search_cases("austen").unwrap(), vec![id_of("pw-2")]);
    // A note, a reviewer's rubric and analysis, without case.
    assert_eq!(store.search_cases("zanzibar").unwrap(), vec![id_of("pw-2")]);
    assert_eq!(store.search_cases("QUOKKA").unwrap(), vec![id_of("pw-3")]);
    assert_eq!(store.search_cases("walrus").unwrap(), vec![id_of("pw-3")]);
    // A source id, and a case number.
    assert_eq!(store.search_cases("pw-5").unwrap(), vec![id_of("pw-5")]);
    let n = id_of("pw-4");
    assert!(store.search_cases(&n.to_string()).unwrap().contains(&n));
    // LIKE's wildcards are literal.
    assert!(store.search_cases("%").unwrap().is_empty());

    // Go to a case: by number (with or without #), by source id (then without case).
    assert_eq!(store.go_to_case(&n.to_string()).unwrap(), Some(n));
    assert_eq!(store.go_to_case(&format!("#{n}")).unwrap(), Some(n));
    assert_eq!(store.go_to_case("pw-6").unwrap(), Some(id_of("pw-6")));
    assert_eq!(store.go_to_case(" PW-6 ").unwrap(), Some(id_of("pw-6")));
    assert_eq!(store.go_to_case("9999").unwrap(), None);
    assert_eq!(store.go_to_case("no-such-id").unwrap(), None);
}
