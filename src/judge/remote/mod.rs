//! The judge through an OpenAI-compatible server (llama-server, vLLM, ...): the same
//! commands and events as the in-process worker, so the workbench and the CLI only choose
//! a backend when they spawn it.

pub mod client;
pub mod engine;
pub mod sse;
pub mod verdict;

pub use client::{API_KEY_ENV, Flavor, Server, URL_ENV, strip_credentials};
pub use engine::{RemoteEngine, RemoteOptions, RemoteOutcome, RemoteStats};

use super::api::{Command, Event};
use super::profile::Profile;
use super::worker::{serve_jobs, serve_unavailable};
use crate::domain::SamplerSettings;
use std::sync::mpsc::Receiver;

/// Which server, and how to judge with it. The API key comes from the environment only.
#[derive(Clone)]
pub struct RemoteConfig {
    /// Base URL ending in /v1 (may carry credentials; never stored or shown as given).
    pub url: String,
    /// The model id to ask for; default: the first the server lists.
    pub model: Option<String>,
    pub api_key: Option<String>,
    /// The judge's contract (prompt layout, grammar, parser, verdict slot), as in-process.
    pub profile: Profile,
    pub grammar: bool,
    pub seed: u32,
    pub sampler: SamplerSettings,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("url", &strip_credentials(&self.url))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "(set)"))
            .field("profile", &self.profile.name)
            .finish()
    }
}

impl RemoteConfig {
    /// The key from `RUBRICATE_API_KEY`, if set and not empty.
    pub fn api_key_from_env() -> Option<String> {
        std::env::var(API_KEY_ENV).ok().filter(|k| !k.is_empty())
    }

    /// Ask the server who it is; the message of an error names the URL and the fix.
    pub fn connect(&self) -> Result<RemoteEngine, String> {
        let server = Server::connect(&self.url, self.api_key.clone(), self.model.as_deref())?;
        Ok(RemoteEngine::new(
            server,
            RemoteOptions {
                profile: self.profile.clone(),
                grammar: self.grammar,
                sampler: self.sampler.clone(),
                seed: self.seed,
            },
        ))
    }
}

/// The worker body for a server: connect (Ready or Unavailable), then serve jobs.
pub fn serve(config: &RemoteConfig, rx: &Receiver<Command>, emit: &dyn Fn(Event)) {
    emit(Event::Loading { progress: 0.0 });
    let engine = match config.connect() {
        Ok(e) => e,
        Err(msg) => return serve_unavailable(rx, emit, msg),
    };
    tracing::info!(
        "judge server {} ({}), model {}",
        engine.server.display_url,
        engine.server.flavor.name(),
        engine.server.model
    );
    emit(Event::Ready(engine.info().clone()));
    serve_jobs(rx, emit, &mut |req, on| {
        engine.run(req, on).map(|out| out.judgment)
    });
}
