//! Metrics whose `compute()` takes the process down in ways no
//! `catch_unwind` can stop: `segfaults` raises SIGSEGV (as a bad pointer in
//! a C plugin would), `huge-alloc` asks for 2^46 bytes (64 TiB), which the
//! allocator refuses and Rust answers with an abort. Only `rdpbench check
//! --isolate` survives them.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

fn spec(id: &str, description: &str) -> MetricSpec {
    MetricSpec {
        id: id.into(),
        version: "1".into(),
        description: description.into(),
        citation: "none".into(),
        orientation: Orientation::HigherIsMorePolysemantic,
        inputs: vec![Input::Codes],
        examples: vec![],
    }
}

pub struct Segfaults;
impl Metric for Segfaults {
    fn spec(&self) -> MetricSpec {
        spec("segfaults", "test plugin: raises SIGSEGV in compute()")
    }
    #[allow(unsafe_code)]
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        // SAFETY: raise() only sends a signal to this process; that the
        // signal kills it is the point of this test plugin.
        unsafe { libc::raise(libc::SIGSEGV) };
        Ok(MetricOutput::value(0.0))
    }
}

pub struct HugeAlloc;
impl Metric for HugeAlloc {
    fn spec(&self) -> MetricSpec {
        spec("huge-alloc", "test plugin: allocates 64 TiB in compute()")
    }
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let bytes: Vec<u8> = vec![1u8; 1usize << 46];
        Ok(MetricOutput::value(f64::from(
            bytes[input.n_tokens % bytes.len()],
        )))
    }
}

rdpbench_sdk::export_plugin!(metrics: [Segfaults, HugeAlloc]);
