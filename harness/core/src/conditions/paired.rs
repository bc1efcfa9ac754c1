//! Paired evaluation: a metric on several cases that share their rows, at
//! full data and on bootstrap resamples of those rows (the same resampled
//! rows for every case), and paired differences with their bounds.

use super::Ctx;
use super::stats::BasicBootstrap;
use super::verdict::Comparison;
use crate::eval::{Score, applicable, evaluate, reads_rows, take_rows};
use crate::toy::EvalCase;
use anyhow::Result;

/// A metric's scores on one case: at full data, and per bootstrap resample
/// (`None` where undefined).
#[derive(Debug, Clone)]
pub struct CaseScores {
    pub full: Score,
    pub boot: Vec<Option<f64>>,
}

/// Scores `case` at full data and on each resample of `boot`. A metric that
/// reads no per-row input gets the same value on every resample, so it is
/// evaluated once.
pub fn score_case(ctx: &Ctx<'_>, case: &EvalCase, boot: &[Vec<usize>]) -> Result<CaseScores> {
    let full = evaluate(ctx.metric, ctx.spec, case)?;
    let boot = if reads_rows(ctx.spec) {
        boot.iter()
            .map(|rows| {
                Ok(evaluate(ctx.metric, ctx.spec, &take_rows(case, rows, ctx.spec))?.value())
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        vec![full.value(); boot.len()]
    };
    Ok(CaseScores { full, boot })
}

/// `Some(scores)` where the metric applies to the case, `None` where it does
/// not (an encoder metric on a case without an encoder).
pub fn score_if_applicable(
    ctx: &Ctx<'_>,
    case: &EvalCase,
    boot: &[Vec<usize>],
) -> Result<Option<CaseScores>> {
    if !applicable(ctx.spec, case) {
        return Ok(None);
    }
    score_case(ctx, case, boot).map(Some)
}

/// The paired difference `lhs − rhs`, with its basic bootstrap
/// ([`BasicBootstrap`]: bias-corrected bounds, the bias recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedDiff {
    pub lhs: f64,
    pub rhs: f64,
    /// `lhs − rhs` at full data.
    pub diff: f64,
    /// The resampled differences, read with the basic method.
    pub boot: BasicBootstrap,
    /// Resamples on which both sides were defined.
    pub n_valid: usize,
    /// Largest |difference| over the full data and every resample.
    pub max_abs: f64,
}

/// Why a paired difference could not be formed.
#[derive(Debug, Clone, PartialEq)]
pub enum PairError {
    Undefined { side: &'static str, reason: String },
    TooFewResamples { valid: usize, total: usize },
}

impl PairError {
    /// Whether the metric declared itself undefined on the reference side
    /// (the case every other is compared with): then the experiment cannot
    /// be run on this toy, and the verdict is "not applicable".
    pub fn undefined_on(&self, side: &str) -> bool {
        matches!(self, PairError::Undefined { side: s, .. } if *s == side)
    }
}

impl std::fmt::Display for PairError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PairError::Undefined { side, reason } => write!(f, "undefined on {side}: {reason}"),
            PairError::TooFewResamples { valid, total } => write!(
                f,
                "defined on only {valid} of {total} bootstrap resamples (90% needed)"
            ),
        }
    }
}

/// Forms `lhs − rhs` from two cases scored on the same resamples. The
/// right side is the reference (`names.1`).
pub fn paired(
    lhs: &CaseScores,
    rhs: &CaseScores,
    names: (&'static str, &'static str),
) -> Result<PairedDiff, PairError> {
    let side = |s: &CaseScores, name| match &s.full {
        Score::Value { value } => Ok(*value),
        Score::Undefined { reason } => Err(PairError::Undefined {
            side: name,
            reason: reason.clone(),
        }),
    };
    // The reference side first: undefined there means "not applicable".
    let b = side(rhs, names.1)?;
    let a = side(lhs, names.0)?;
    let diffs: Vec<f64> = lhs
        .boot
        .iter()
        .zip(&rhs.boot)
        .filter_map(|(x, y)| Some((*x)? - (*y)?))
        .collect();
    let total = lhs.boot.len();
    if diffs.is_empty() || (diffs.len() as f64) < 0.9 * total as f64 {
        return Err(PairError::TooFewResamples {
            valid: diffs.len(),
            total,
        });
    }
    let max_abs = diffs.iter().fold((a - b).abs(), |m, d| m.max(d.abs()));
    Ok(PairedDiff {
        lhs: a,
        rhs: b,
        diff: a - b,
        n_valid: diffs.len(),
        boot: BasicBootstrap::new(a - b, diffs),
        max_abs,
    })
}

impl PairedDiff {
    /// A tie: the metric did not move by more than `atol` on the full data
    /// or on any resample.
    pub fn is_tie(&self, atol: f64) -> bool {
        self.max_abs <= atol
    }

    /// As evidence: the two-sided basic interval at `confidence`, the
    /// bootstrap bias, and the one-sided lower bound's p-value of `> 0`.
    pub fn evidence(&self, label: impl Into<String>, confidence: f64) -> Comparison {
        let (lo, hi) = self.boot.interval(1.0 - confidence);
        Comparison {
            label: label.into(),
            lhs: Some(self.lhs),
            rhs: Some(self.rhs),
            diff: Some(self.diff),
            ci_low: Some(lo),
            ci_high: Some(hi),
            bias: Some(self.boot.bias()),
            allowed: None,
            n_resamples: Some(self.n_valid),
            ..Comparison::default()
        }
    }
}

/// Tests: a paired difference with estimate `theta` whose 201 replicates
/// spread evenly over `theta ± spread` (symmetric, so the basic interval
/// equals the percentile one).
#[cfg(test)]
pub(crate) fn spread_diff(theta: f64, spread: f64) -> PairedDiff {
    let reps: Vec<f64> = (0..201)
        .map(|i| theta - spread + 2.0 * spread * i as f64 / 200.0)
        .collect();
    PairedDiff {
        lhs: theta,
        rhs: 0.0,
        diff: theta,
        boot: BasicBootstrap::new(theta, reps),
        n_valid: 201,
        max_abs: theta.abs() + spread,
    }
}
