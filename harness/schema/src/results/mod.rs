//! What every stage produces, as persisted. Each type carries its
//! `schema_version`; loaders refuse other versions with the file's name.

pub mod bench;
pub mod check;
pub mod eval;
pub mod game;
pub mod planted;
pub mod plugin_error;
pub mod rdp;
pub mod real;
pub mod train;
pub mod validity;

pub use check::{CheckRun, MetricResult, PluginRecord, SeedLadders};
pub use plugin_error::{PluginError, PluginErrorKind};

/// The first step of every version-first loader: `text` parsed as JSON and
/// its `schema_version` checked against `expected` before the shape is read,
/// so that a file of another version is refused as such, not as malformed.
/// `hint(version)` is appended to the refusal (`""` for none). Errors name
/// `origin`.
pub(crate) fn versioned_json(
    text: &str,
    origin: &str,
    expected: u32,
    hint: fn(Option<u64>) -> &'static str,
) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let head: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("{origin} is not JSON"))?;
    let version = head.get("schema_version").and_then(|v| v.as_u64());
    anyhow::ensure!(
        version == Some(expected as u64),
        "{origin}: schema_version is {version:?}, this rdpbench reads {expected}{}",
        hint(version)
    );
    Ok(head)
}

/// No hint for [`versioned_json`].
pub(crate) fn no_hint(_: Option<u64>) -> &'static str {
    ""
}
