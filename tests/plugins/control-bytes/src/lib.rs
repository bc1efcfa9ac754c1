//! A metric whose strings carry terminal control bytes: ESC sequences
//! (colour, clear screen, an OSC 8 hyperlink), a bell, a backspace and a
//! carriage return, in its description, its citation, and the error every
//! `compute()` returns. No sink may pass them on raw.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

/// The hostile payload, in one place for the tests to look for.
pub const PAYLOAD: &str =
    "\u{1b}[31mRED\u{1b}[0m\u{1b}[2J\u{7}\u{8}\r\u{1b}]8;;http://x\u{1b}\\link";

pub struct ControlBytes;
impl Metric for ControlBytes {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "control-bytes".into(),
            version: "1".into(),
            description: format!("test plugin: {PAYLOAD}"),
            citation: format!("cite {PAYLOAD}"),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![],
        }
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        anyhow::bail!("bad input {PAYLOAD}")
    }
}

rdpbench_sdk::export_plugin!(metrics: [ControlBytes]);
