//! One library, three metrics: `hang-full` answers small inputs and C10's
//! edge cases but never returns on full-size data; `hang-always` never
//! returns at all; `healthy-sibling` is a plain, permutation-invariant
//! metric (mean number of active latents per row) that must never be
//! blamed for its siblings' hangs; `hang-when-shrunk` fails C3 and hangs
//! only on the smaller cases that shrinking tries. And one SAE
//! architecture, `hang-train`,
//! whose training never returns. A hang sleeps, so it burns no CPU.
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;
use rdpbench_sdk::sae::{Hyperparameter, SaeSpec, SaelensInterop, ValueType};
use rdpbench_sdk::{CsrMatrix, MatrixView, SaeArchitecture, SaeWeights, TrainRequest};

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

fn hang() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn mean_active(input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
    let codes = input.codes()?;
    if codes.n_rows == 0 {
        return Ok(MetricOutput::Undefined {
            reason: "no rows".into(),
        });
    }
    Ok(MetricOutput::value(
        codes.nnz() as f64 / codes.n_rows as f64,
    ))
}

/// Full-size data: at least 100 rows, more than one latent, some activity,
/// and latent 0 not active on every row (C10's "constant latent" case).
fn full_size(input: &MetricInput<'_>) -> anyhow::Result<bool> {
    let codes = input.codes()?;
    if codes.n_rows < 100 || codes.n_cols < 2 || codes.nnz() == 0 {
        return Ok(false);
    }
    let latent0_everywhere = (0..codes.n_rows).all(|t| codes.row_iter(t).any(|(j, _)| j == 0));
    Ok(!latent0_everywhere)
}

pub struct HangFull;
impl Metric for HangFull {
    fn spec(&self) -> MetricSpec {
        spec(
            "hang-full",
            "test plugin: answers edge cases, hangs on full-size data",
        )
    }
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        if full_size(input)? {
            hang()
        }
        mean_active(input)
    }
}

pub struct HangAlways;
impl Metric for HangAlways {
    fn spec(&self) -> MetricSpec {
        spec("hang-always", "test plugin: never returns")
    }
    fn compute(&self, _: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        hang()
    }
}

pub struct HealthySibling;
impl Metric for HealthySibling {
    fn spec(&self) -> MetricSpec {
        spec(
            "healthy-sibling",
            "test plugin: mean active latents per row, in a library with hanging metrics",
        )
    }
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        mean_active(input)
    }
}

/// Mean index of the active latents: depends on the latents' order, so it
/// fails C3 at full size; on fewer than 4000 rows (a case shrunk from the
/// default N = 4000) it never returns.
pub struct HangWhenShrunk;
impl Metric for HangWhenShrunk {
    fn spec(&self) -> MetricSpec {
        spec(
            "hang-when-shrunk",
            "test plugin: fails C3 at N = 4000, hangs on smaller cases",
        )
    }
    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let codes = input.codes()?;
        if codes.n_rows < 4000 {
            hang()
        }
        let (mut sum, mut n) = (0.0, 0usize);
        for t in 0..codes.n_rows {
            for (j, _) in codes.row_iter(t) {
                sum += j as f64;
                n += 1;
            }
        }
        Ok(MetricOutput::value(if n == 0 {
            0.0
        } else {
            sum / n as f64
        }))
    }
}

pub struct HangTrain;
impl SaeArchitecture for HangTrain {
    fn spec(&self) -> SaeSpec {
        let hyperparameters = vec![
            Hyperparameter::new("k", ValueType::Int, 2, "active latents per row")
                .min(1.0)
                .at_most("d_sae"),
        ];
        SaeSpec {
            id: "hang-train".into(),
            version: "1".into(),
            description: "test plugin: training never returns".into(),
            citation: "none".into(),
            saelens_architecture: "hang-train".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("k".into()),
            saelens: SaelensInterop {
                loads: vec![],
                tensors: SaelensInterop::standard_tensors(),
                cfg_fields: vec![],
                decode: Default::default(),
            },
        }
    }
    fn train(&self, _: TrainRequest<'_>) -> anyhow::Result<SaeWeights> {
        hang()
    }
    fn encode(&self, _: &SaeWeights, _: MatrixView<'_>) -> anyhow::Result<CsrMatrix> {
        hang()
    }
}

rdpbench_sdk::export_plugin!(
    metrics: [HangFull, HangAlways, HealthySibling, HangWhenShrunk],
    saes: [HangTrain]
);
