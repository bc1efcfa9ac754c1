//! Held-out scores of one real SAE: rate and distortion (L0, EV, MSE with
//! the pinned definitions of [`rdpbench_sdk::train::distortion`]) and every
//! non-oracle metric, each with a document-bootstrap interval
//! ([`super::bootstrap`]).

use super::bootstrap::rows_of;
use super::heldout::HeldOut;
use crate::train::matrix;
use crate::validity::{SaeScore, score_metric};
use anyhow::{Context, Result};
use rdpbench_core::eval::{reads_rows, take_rows};
use rdpbench_core::toy::{EvalCase, reconstruct};
use rdpbench_plugin_host::LoadedMetric;
use rdpbench_schema::results::real::{Estimate, MetricScore, Quality};
use rdpbench_sdk::train::distortion::Distortion;
use rdpbench_sdk::{CsrMatrix, DenseMatrix, SaeArchitecture, SaeWeights};
use std::ops::Range;

#[derive(Debug)]
/// The held-out case of one SAE and its reconstruction `x̂ = f W_dec + b_dec`
/// `[n_tokens, d_model]`.
pub struct EncodedHeldOut {
    pub case: EvalCase,
    pub reconstruction: DenseMatrix,
}

/// Encodes the held-out rows with `sae`. The case's `directions` are a
/// zero `[n_labels, d_model]` placeholder: real data has no ground-truth
/// directions, and oracle metrics (the only readers) are never evaluated.
pub fn encode_held_out(
    sae: &dyn SaeArchitecture,
    weights: &SaeWeights,
    held: &HeldOut,
) -> Result<EncodedHeldOut> {
    let codes = sae.encode(weights, held.activations.view())?;
    let decoder = matrix(weights, "W_dec")?;
    let b_dec = &weights.tensor("b_dec")?.data;
    let mut reconstruction = reconstruct(&codes, &decoder);
    for r in 0..reconstruction.rows {
        for (v, b) in reconstruction.row_mut(r).iter_mut().zip(b_dec) {
            *v += b;
        }
    }
    let encoder = match weights.tensor("W_enc") {
        Ok(_) => Some(matrix(weights, "W_enc")?),
        Err(_) => None,
    };
    let d = held.activations.cols;
    let case = EvalCase {
        decoder,
        encoder,
        activations: held.activations.clone(),
        codes,
        labels: held.labels.clone(),
        directions: DenseMatrix::zeros(held.labels.n_cols, d),
    };
    case.validate().context("held-out evaluation case")?;
    Ok(EncodedHeldOut {
        case,
        reconstruction,
    })
}

fn row_nonzeros(codes: &CsrMatrix, r: usize) -> u64 {
    let (a, b) = (codes.indptr[r] as usize, codes.indptr[r + 1] as usize);
    if codes.values.is_empty() {
        (b - a) as u64
    } else {
        codes.values[a..b].iter().filter(|v| **v != 0.0).count() as u64
    }
}

/// L0, EV and MSE over the rows of `units` (in order, with repetition).
fn distortion_of(enc: &EncodedHeldOut, units: &[Range<usize>]) -> Distortion {
    let x = &enc.case.activations;
    let d = x.cols;
    let mut acc = Distortion::new(d);
    for u in units {
        acc.add(
            &x.data[u.start * d..u.end * d],
            &enc.reconstruction.data[u.start * d..u.end * d],
        );
        acc.add_nonzeros(u.clone().map(|r| row_nonzeros(&enc.case.codes, r)).sum());
    }
    acc
}

/// Held-out rate and distortion with intervals over `resamples` (unit
/// indices into `held.units`).
pub fn quality(
    enc: &EncodedHeldOut,
    held: &HeldOut,
    resamples: &[Vec<usize>],
    confidence: f64,
) -> Quality {
    let point = distortion_of(enc, &held.units);
    let boot: Vec<Distortion> = resamples
        .iter()
        .map(|picks| {
            let units: Vec<Range<usize>> = picks.iter().map(|&u| held.units[u].clone()).collect();
            distortion_of(enc, &units)
        })
        .collect();
    let est = |f: fn(&Distortion) -> Option<f64>| {
        let r: Vec<Option<f64>> = boot.iter().map(f).collect();
        Estimate::new(f(&point), &r, confidence)
    };
    let codes = &enc.case.codes;
    let mut live = vec![false; codes.n_cols];
    for (k, &j) in codes.indices.iter().enumerate() {
        if codes.values.is_empty() || codes.values[k] != 0.0 {
            live[j as usize] = true;
        }
    }
    Quality {
        l0: est(Distortion::l0),
        explained_variance: est(Distortion::explained_variance),
        mse: est(Distortion::mse),
        n_live: live.iter().filter(|l| **l).count(),
    }
}

/// Scores `metric` on all held-out rows and on every resample. A metric
/// that reads no per-token input (decoder only) gives the same value on
/// every resample, so it is evaluated once.
pub fn metric_score(
    metric: &LoadedMetric,
    enc: &EncodedHeldOut,
    held: &HeldOut,
    resamples: &[Vec<usize>],
    confidence: f64,
) -> MetricScore {
    let spec = metric.cached_spec();
    let score = score_metric(metric, &enc.case);
    let boot: Vec<SaeScore> = if score.value().is_none() {
        Vec::new()
    } else if !reads_rows(spec) {
        vec![score.clone(); resamples.len()]
    } else {
        resamples
            .iter()
            .map(|picks| {
                let rows = rows_of(&held.units, picks);
                score_metric(metric, &take_rows(&enc.case, &rows, spec))
            })
            .collect()
    };
    let values: Vec<Option<f64>> = boot.iter().map(SaeScore::value).collect();
    let est = Estimate::new(score.value(), &values, confidence);
    MetricScore {
        score,
        ci: est.ci,
        n_resamples: boot.len(),
        n_resamples_defined: est.n_resamples_defined,
        n_resamples_errors: boot
            .iter()
            .filter(|s| matches!(s, SaeScore::Error { .. }))
            .count(),
    }
}
