//! Two metrics that panic: one in `spec()` (so loading it panics inside the
//! plugin's entry points) and one in `compute()`.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

fn spec(id: &str) -> MetricSpec {
    MetricSpec {
        id: id.into(),
        version: "1".into(),
        description: "test plugin".into(),
        citation: "none".into(),
        orientation: Orientation::HigherIsMorePolysemantic,
        inputs: vec![Input::Codes],
        examples: vec![],
    }
}

pub struct PanicsInSpec;
impl Metric for PanicsInSpec {
    fn spec(&self) -> MetricSpec {
        panic!("spec() exploded on purpose")
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        Ok(MetricOutput::value(0.0))
    }
}

pub struct PanicsInCompute;
impl Metric for PanicsInCompute {
    fn spec(&self) -> MetricSpec {
        spec("panics-in-compute")
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        panic!("compute() exploded on purpose")
    }
}

rdpbench_sdk::export_plugin!(metrics: [PanicsInSpec, PanicsInCompute]);
