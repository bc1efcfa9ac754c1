//! A metric whose `spec()` never returns: loading the library must end at
//! the call limit with a load error, not hang the command.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

pub struct HangInSpec;
impl Metric for HangInSpec {
    fn spec(&self) -> MetricSpec {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        Ok(MetricOutput::value(0.0))
    }
}

rdpbench_sdk::export_plugin!(metrics: [HangInSpec]);
