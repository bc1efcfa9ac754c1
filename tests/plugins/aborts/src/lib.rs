//! A metric whose `compute()` aborts the process: no `catch_unwind` can
//! stop that, just as none can stop a segfault in a C plugin. Only
//! `rdpbench check --isolate` survives it.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

pub struct Aborts;
impl Metric for Aborts {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "aborts".into(),
            version: "1".into(),
            description: "test plugin: aborts the process in compute()".into(),
            citation: "none".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![],
        }
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        std::process::abort()
    }
}

rdpbench_sdk::export_plugin!(metrics: [Aborts]);
