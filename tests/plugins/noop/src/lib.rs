//! A metric that does nothing: the plugin-call benchmark uses it to measure
//! the ABI boundary alone (`harness/plugin-host/benches/plugin_call.rs` defines the
//! same function in-process for the direct call).
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

pub struct Noop;
impl Metric for Noop {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "noop".into(),
            version: "1".into(),
            description: "returns the number of tokens; for benchmarking the ABI".into(),
            citation: "none".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![],
        }
    }
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        Ok(MetricOutput::value(input.n_tokens as f64))
    }
}

rdpbench_sdk::export_plugin!(metrics: [Noop]);
