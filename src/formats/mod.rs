//! Dataset formats: one module per import or export format.

pub mod export;
pub mod import;
