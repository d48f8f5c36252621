//! Driving the judge worker on a server backend from a test: the case it judges, the
//! backend's settings, the worker with its events on a channel.
#![allow(dead_code)] // each test binary uses the part of the helper it needs

use rubricate::domain::{Case, Message};
use rubricate::judge::remote::RemoteConfig;
use rubricate::judge::{Backend, Event, JudgeHandle};
use std::sync::mpsc;
use std::time::Duration;

/// A case whose right answer is B (a model that reads it should say so).
pub fn case() -> Case {
    Case {
        id: 7,
        source: "t".into(),
        source_id: None,
        prompt: vec![Message::user("What is the capital of Australia?")],
        answer_a: "Sydney is the capital of Australia.".into(),
        answer_b: "Canberra is the capital of Australia.".into(),
        source_label: None,
        content_hash: String::new(),
        meta: serde_json::Value::Null,
        category: None,
        difficulty: None,
    }
}

/// The default profile with the grammar on, through the server at `url`.
pub fn remote(url: &str, key: Option<&str>) -> RemoteConfig {
    RemoteConfig {
        url: url.to_string(),
        model: None,
        api_key: key.map(str::to_string),
        profile: rubricate::judge::profile::Profile::default_profile(),
        grammar: true,
        seed: 42,
        sampler: Default::default(),
    }
}

/// A worker on the backend, with its events on a channel.
pub fn spawn(config: RemoteConfig) -> (JudgeHandle, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel();
    let handle = JudgeHandle::spawn_backend(
        Backend::Remote(config),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    (handle, rx)
}

/// The worker's next event, or a failure naming how long the test waited.
pub fn next(rx: &mpsc::Receiver<Event>, within: Duration) -> Event {
    rx.recv_timeout(within)
        .unwrap_or_else(|_| panic!("no event within {within:?}"))
}
