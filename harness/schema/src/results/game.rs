//! The results of `rdpbench game`, as persisted (`game.json`).

use rdpbench_core::game::{GameSettings, MetricGame};
use rdpbench_core::toy::ToyConfig;
use serde::{Deserialize, Serialize};

/// Version of the `game.json` layout.
pub const GAME_SCHEMA_VERSION: u32 = 1;

/// A whole `rdpbench game` run. No timestamps: the same seed and plugins
/// give the same file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GameRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub settings: GameSettings,
    /// The toy the starts were built on.
    pub toy: ToyConfig,
    pub metrics: Vec<MetricGame>,
}

impl GameRun {
    /// Reads a stored `game.json`, refusing other schema versions.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read results file {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a `game.json`'s text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let head = super::versioned_json(text, origin, GAME_SCHEMA_VERSION, super::no_hint)?;
        serde_json::from_value(head)
            .with_context(|| format!("{origin} is not an rdpbench game result"))
    }

    /// The result of metric `id`.
    pub fn metric(&self, id: &str) -> Option<&MetricGame> {
        self.metrics.iter().find(|m| m.id == id)
    }
}
