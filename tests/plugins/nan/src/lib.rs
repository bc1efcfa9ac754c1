//! A metric that returns NaN instead of an explicit "undefined".
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

pub struct ReturnsNan;
impl Metric for ReturnsNan {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "returns-nan".into(),
            version: "1".into(),
            description: "returns 0/0".into(),
            citation: "none".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Codes],
            examples: vec![],
        }
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        Ok(MetricOutput::value(f64::NAN))
    }
}

rdpbench_sdk::export_plugin!(metrics: [ReturnsNan]);
