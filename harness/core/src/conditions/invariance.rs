//! C3-C6, the exact gauge invariances: a transform that changes no concept
//! content must leave the score unchanged within an exact tolerance (never a
//! statistical one). Each is checked on `M` and on the first OR rung (whose
//! latents differ), for every seed.
//!
//! | id | transform | tolerance |
//! |----|-----------|-----------|
//! | C3 | ≥ 5 random latent permutations + reversal | f64 |
//! | C4 | per-latent rescaling, `s_j` log-uniform in [0.1, 10] | f32 |
//! | C5 | Haar-random rotation of the observation space | f32; vacuous for metrics that read no geometry |
//! | C6 | +50% dead latents, appended and interleaved | f64 |

use super::Ctx;
use super::settings::Tolerance;
use super::verdict::{Comparison, ConditionId, Status, Verdict, num};
use super::workbench::SeedBench;
use crate::eval::{Score, applicable, evaluate};
use crate::toy::{DeadPlacement, EvalCase, Gauge, LadderFamily};
use rdpbench_sdk::Input;

/// The transforms a condition applies, for one seed.
fn gauges(ctx: &Ctx<'_>, condition: ConditionId, seed: u64) -> Vec<Gauge> {
    let s = &ctx.settings;
    // Distinct seeds per condition and toy seed.
    let base = seed
        .wrapping_mul(1_000_003)
        .wrapping_add(condition as u64 * 10_007);
    match condition {
        ConditionId::C3 => (0..s.permutations as u64)
            .map(|i| Gauge::Permute { seed: base + i })
            .chain(std::iter::once(Gauge::Reverse))
            .collect(),
        ConditionId::C4 => (0..s.rescalings as u64)
            .map(|i| Gauge::Rescale { seed: base + i })
            .collect(),
        ConditionId::C5 => (0..s.rotations as u64)
            .map(|i| Gauge::Rotate { seed: base + i })
            .collect(),
        ConditionId::C6 => vec![
            Gauge::PadDead {
                seed: base,
                placement: DeadPlacement::Appended,
            },
            Gauge::PadDead {
                seed: base + 1,
                placement: DeadPlacement::Interleaved,
            },
        ],
        _ => Vec::new(),
    }
}

fn tolerance(ctx: &Ctx<'_>, condition: ConditionId) -> Tolerance {
    let t = ctx.settings.tolerances;
    match condition {
        ConditionId::C4 | ConditionId::C5 => Tolerance {
            atol: t.atol_f32,
            rtol: t.rtol_f32,
        },
        _ => Tolerance {
            atol: t.atol,
            rtol: t.rtol_f64,
        },
    }
}

/// C5 is vacuous for a metric that reads nothing living in the observation space.
fn vacuous(ctx: &Ctx<'_>, condition: ConditionId) -> bool {
    condition == ConditionId::C5
        && ![
            Input::Decoder,
            Input::Encoder,
            Input::Activations,
            Input::ConceptDirections,
        ]
        .iter()
        .any(|&i| ctx.spec.reads(i))
}

/// The cases an invariance is checked on: `M`, and the first OR rung.
fn cases(bench: &SeedBench) -> Vec<(&'static str, &EvalCase)> {
    let mut out = vec![("M", &bench.mono)];
    if let Some(r) = bench.family(LadderFamily::Or).next() {
        out.push(("L1(OR)", &r.case));
    }
    out
}

/// Runs one invariance condition on every seed.
pub fn check(ctx: &Ctx<'_>, condition: ConditionId) -> Vec<Verdict> {
    let tol = tolerance(ctx, condition);
    ctx.bench
        .seeds
        .iter()
        .map(|bench| {
            let mut v = Verdict::new(condition, None, Some(bench.seed));
            v.tolerance = Some(tol);
            if vacuous(ctx, condition) {
                return v.with(
                    Status::Vacuous,
                    "the metric reads no decoder, encoder, activations or directions",
                );
            }
            let mut failure: Option<String> = None;
            let mut compared = 0;
            let mut defined = 0;
            let mut undefined_reason: Option<String> = None;
            for (name, case) in cases(bench) {
                if !applicable(ctx.spec, case) {
                    continue;
                }
                let before = match evaluate(ctx.metric, ctx.spec, case) {
                    Ok(s) => s,
                    Err(e) => return v.with(Status::Error, format!("{condition} {}: {e:#}", v_scope(bench.seed))),
                };
                for g in gauges(ctx, condition, bench.seed) {
                    let transformed = g.apply(case);
                    if !applicable(ctx.spec, &transformed) {
                        continue;
                    }
                    let after = match evaluate(ctx.metric, ctx.spec, &transformed) {
                        Ok(s) => s,
                        Err(e) => {
                            return v.with(
                                Status::Error,
                                format!("{condition} {}: {} of {name}: {e:#}", v_scope(bench.seed), g.label()),
                            );
                        }
                    };
                    compared += 1;
                    let label = format!("m({} of {name}) vs m({name})", g.label());
                    match (&after, &before) {
                        (Score::Value { value: a }, Score::Value { value: b }) => {
                            defined += 1;
                            let allowed = tol.allowed(*a, *b);
                            v.evidence.push(Comparison::exact(label, *a, *b, allowed));
                            if !tol.close(*a, *b) && failure.is_none() {
                                failure = Some(format!(
                                    "{condition} failed {}: {} of {name} moved the score from {} to {} \
                                     (|Δ| = {} > {})",
                                    v_scope(bench.seed),
                                    g.label(),
                                    num(*b),
                                    num(*a),
                                    num((a - b).abs()),
                                    num(allowed)
                                ));
                            }
                        }
                        (Score::Undefined { .. }, Score::Undefined { reason }) => {
                            undefined_reason.get_or_insert(reason.clone());
                        }
                        _ => {
                            failure.get_or_insert(format!(
                                "{condition} failed {}: {} of {name} changed whether the score is defined \
                                 ({after:?} vs {before:?})",
                                v_scope(bench.seed),
                                g.label()
                            ));
                        }
                    }
                }
            }
            match (compared, failure) {
                (0, _) => v.with(Status::NotApplicable, "no case with a faithful encoder"),
                (_, Some(reason)) => v.with(Status::Fail, reason),
                (_, None) if defined == 0 => v.with(
                    Status::NotApplicable,
                    format!(
                        "the metric is undefined on every case of this toy: {}",
                        undefined_reason.unwrap_or_default()
                    ),
                ),
                (n, None) => v.with(Status::Pass, format!("{n} transformed cases score the same")),
            }
        })
        .collect()
}

fn v_scope(seed: u64) -> String {
    format!("on seed {seed}")
}
