//! The margin (equivalence) test of C7, C8 and C11, with three outcomes.
//!
//! Each condition measures, per seed, one or more effects `Δ` (paired
//! differences with a basic bootstrap) that should be negligible, and holds
//! them to the margin `δ` of the metric's [`Sensitivity`]. With `α = 1 −
//! confidence` and the two-sided basic interval `[lo, hi]` at level `α`:
//!
//! - a case **passes** when `[lo, hi] ⊂ (−δ, δ)` (two one-sided tests at
//!   `α/2`); the condition passes when every case does (an
//!   intersection–union test: no multiplicity correction is needed for
//!   "all pass");
//! - a case **fails** when its interval lies wholly outside `[−δ, δ]`, with
//!   the p-value of that claim (`2 · min(P(θ ≤ δ), P(θ ≥ −δ))` under the
//!   bootstrap) adjusted by Holm–Bonferroni over every case of every seed of
//!   the condition, at family-wise level `α`: a FAIL does not depend on which
//!   seeds were drawn;
//! - otherwise it is **inconclusive**, with the sample size at which an
//!   interval of the same width would clear the margin.
//!
//! A seed's verdict is its worst case; where the metric has no positive
//! step, every seed fails as "insensitive".

use super::paired::PairedDiff;
use super::sensitivity::Sensitivity;
use super::stats::{holm, samples_to_resolve};
use super::verdict::{Comparison, ConditionId, Status, Verdict, num};

/// One effect that should be negligible.
#[derive(Debug, Clone)]
pub struct Effect {
    /// Evidence label, e.g. `Δ = m(coin split of M) − m(M)`.
    pub label: String,
    /// What moved the score, for the reason: `splitting M`.
    pub what: String,
    pub diff: PairedDiff,
}

/// What one seed contributes: its effects (and extra evidence such as
/// diagnostics), or a verdict already decided (an error, n/a, vacuous).
#[derive(Debug, Clone)]
pub enum SeedEffects {
    Measured {
        seed: u64,
        effects: Vec<Effect>,
        diagnostics: Vec<Comparison>,
    },
    Decided(Verdict),
}

/// One seed's single effect `lhs − rhs` (C8, C11): `lhs` and `rhs` scored
/// on the same resamples (an evaluation error is an error verdict), the
/// metric undefined on the reference `rhs` is "not applicable", any other
/// failure to pair is a FAIL.
#[derive(Debug)]
pub struct OneEffect<'a> {
    pub condition: ConditionId,
    pub seed: u64,
    /// `(lhs, rhs)` names, e.g. `("2p", "p")`.
    pub names: (&'static str, &'static str),
    pub label: &'a str,
    pub what: &'a str,
    /// How the reference case reads in an "undefined" reason.
    pub reference: &'a str,
}

impl OneEffect<'_> {
    pub fn measure(
        &self,
        scored: anyhow::Result<(super::paired::CaseScores, super::paired::CaseScores)>,
    ) -> SeedEffects {
        let (condition, seed) = (self.condition, self.seed);
        let v = Verdict::new(condition, None, Some(seed));
        let (lhs, rhs) = match scored {
            Ok(x) => x,
            Err(e) => {
                return SeedEffects::Decided(
                    v.with(Status::Error, format!("{condition} on seed {seed}: {e:#}")),
                );
            }
        };
        match super::paired::paired(&lhs, &rhs, self.names) {
            Ok(d) => SeedEffects::Measured {
                seed,
                effects: vec![Effect {
                    label: self.label.into(),
                    what: self.what.into(),
                    diff: d,
                }],
                diagnostics: Vec::new(),
            },
            Err(e) if e.undefined_on(self.names.1) => SeedEffects::Decided(v.with(
                Status::NotApplicable,
                format!("the metric is undefined on {}: {e}", self.reference),
            )),
            Err(e) => SeedEffects::Decided(v.with(
                Status::Fail,
                format!("{condition} failed on seed {seed}: {e}"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    Inconclusive,
}

/// Decides every seed of `condition`. `n_samples` is the rows per dataset
/// (for the sample size that would resolve an inconclusive case).
pub fn decide(
    condition: ConditionId,
    seeds: Vec<SeedEffects>,
    sens: &Sensitivity,
    confidence: f64,
    n_samples: usize,
) -> Vec<Verdict> {
    let alpha = 1.0 - confidence;
    let Some(delta) = sens.margin() else {
        return seeds
            .into_iter()
            .map(|s| match s {
                SeedEffects::Decided(v) => v,
                SeedEffects::Measured {
                    seed,
                    effects,
                    diagnostics,
                } => {
                    let mut v = Verdict::new(condition, None, Some(seed));
                    v.evidence = effects
                        .iter()
                        .map(|e| e.diff.evidence(e.label.clone(), confidence))
                        .chain(diagnostics)
                        .chain(sens.evidence())
                        .collect();
                    v.with(
                        Status::Fail,
                        format!(
                            "{condition} failed on seed {seed}: insensitive (no ladder family and no merge \
                             of the co-occurring groups has a positive step, so there is no margin to \
                             hold the effect to)"
                        ),
                    )
                }
            })
            .collect();
    };
    // Holm over the FAIL claims of every case of every seed.
    let p_fail: Vec<f64> = seeds
        .iter()
        .flat_map(|s| match s {
            SeedEffects::Measured { effects, .. } => effects
                .iter()
                .map(|e| fail_p(&e.diff, delta))
                .collect::<Vec<_>>(),
            SeedEffects::Decided(_) => Vec::new(),
        })
        .collect();
    let rejected = holm(&p_fail, alpha);
    let m = p_fail.len();
    let mut next = 0;
    seeds
        .into_iter()
        .map(|s| {
            let (seed, effects, diagnostics) = match s {
                SeedEffects::Decided(v) => return v,
                SeedEffects::Measured {
                    seed,
                    effects,
                    diagnostics,
                } => (seed, effects, diagnostics),
            };
            let mut v = Verdict::new(condition, None, Some(seed));
            let mut worst = Outcome::Pass;
            let mut reasons: (Option<String>, Option<String>) = (None, None);
            for e in &effects {
                let (lo, hi) = e.diff.boot.interval(alpha);
                let p = p_fail[next];
                let outcome = if rejected[next] {
                    Outcome::Fail
                } else if lo > -delta && hi < delta {
                    Outcome::Pass
                } else {
                    Outcome::Inconclusive
                };
                next += 1;
                let mut c = e.diff.evidence(e.label.clone(), confidence);
                c.allowed = Some(delta);
                c.p_value = Some(p);
                let center = (lo + hi) / 2.0;
                if outcome == Outcome::Inconclusive {
                    c.samples_needed = samples_to_resolve(center, (hi - lo) / 2.0, delta, n_samples);
                }
                let interval = format!("[{}, {}]", num(lo), num(hi));
                match outcome {
                    Outcome::Fail if reasons.0.is_none() => {
                        reasons.0 = Some(format!(
                            "{condition} failed on seed {seed}: {} moved the score by {}, interval {interval} \
                             outside ±δ ({}; p = {} before Holm over {m} cases)",
                            e.what,
                            num(e.diff.diff),
                            sens.describe_margin(),
                            num(p)
                        ));
                    }
                    Outcome::Inconclusive if reasons.1.is_none() => {
                        let resolve = c.samples_needed.map_or(
                            "the effect sits on the margin: no sample size resolves it".to_string(),
                            |n| format!("about N = {n} samples would resolve it"),
                        );
                        reasons.1 = Some(format!(
                            "{condition} inconclusive on seed {seed}: {} moved the score by {}, interval \
                             {interval} straddles ±δ ({}); {resolve}",
                            e.what,
                            num(e.diff.diff),
                            sens.describe_margin()
                        ));
                    }
                    _ => {}
                }
                worst = match (worst, outcome) {
                    (Outcome::Fail, _) | (_, Outcome::Fail) => Outcome::Fail,
                    (Outcome::Inconclusive, _) | (_, Outcome::Inconclusive) => Outcome::Inconclusive,
                    _ => Outcome::Pass,
                };
                v.evidence.push(c);
            }
            v.evidence.extend(diagnostics);
            v.evidence.extend(sens.evidence());
            match worst {
                Outcome::Fail => {
                    let r = reasons.0.unwrap_or_default();
                    v.with(Status::Fail, r)
                }
                Outcome::Inconclusive => {
                    let r = reasons.1.unwrap_or_default();
                    v.with(Status::Inconclusive, r)
                }
                Outcome::Pass if effects.is_empty() => {
                    v.with(Status::NotApplicable, "no case the metric applies to")
                }
                Outcome::Pass => v.with(
                    Status::Pass,
                    format!(
                        "every effect's interval lies inside ±δ ({})",
                        sens.describe_margin()
                    ),
                ),
            }
        })
        .collect()
}

/// The p-value of "`Δ` lies outside `[−δ, δ]`", two-sided.
fn fail_p(d: &PairedDiff, delta: f64) -> f64 {
    (2.0 * d.boot.p_greater(delta).min(d.boot.p_less(-delta))).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::paired::spread_diff;

    /// An effect whose replicates spread evenly over `theta ± spread`
    /// (95% half-width 0.95 · spread).
    fn effect(theta: f64, spread: f64) -> Effect {
        Effect {
            label: "Δ".into(),
            what: "the edit".into(),
            diff: spread_diff(theta, spread),
        }
    }

    fn sens(step: Option<f64>) -> Sensitivity {
        Sensitivity {
            steps: step
                .map(|s| vec![("OR ladder".to_string(), s)])
                .unwrap_or_default(),
            largest: step.map(|s| ("OR ladder".to_string(), s)),
        }
    }

    fn run(effects: Vec<Vec<Effect>>, step: Option<f64>) -> Vec<Verdict> {
        let seeds = effects
            .into_iter()
            .enumerate()
            .map(|(i, effects)| SeedEffects::Measured {
                seed: i as u64,
                effects,
                diagnostics: Vec::new(),
            })
            .collect();
        decide(ConditionId::C7, seeds, &sens(step), 0.95, 1000)
    }

    // Step 1.0: δ = 0.5.
    #[test]
    fn well_inside_passes_well_outside_fails_on_the_margin_is_inconclusive() {
        let v = run(vec![vec![effect(0.02, 0.1)]], Some(1.0));
        assert_eq!(v[0].status, Status::Pass, "{}", v[0].reason);
        let v = run(vec![vec![effect(-1.0, 0.1)]], Some(1.0));
        assert_eq!(v[0].status, Status::Fail, "{}", v[0].reason);
        assert!(v[0].reason.contains("outside ±δ"), "{}", v[0].reason);
        let v = run(vec![vec![effect(0.5, 0.1)]], Some(1.0));
        assert_eq!(v[0].status, Status::Inconclusive, "{}", v[0].reason);
        assert!(
            v[0].reason.contains("no sample size resolves it"),
            "{}",
            v[0].reason
        );
        assert_eq!(v[0].evidence[0].samples_needed, None);
    }

    #[test]
    fn an_inconclusive_case_says_what_sample_size_resolves_it() {
        // Interval 0.4 ± 0.095 straddles 0.5: gap 0.1 → N · (0.095 / 0.1)² < N,
        // so at least N + 1; at 0.45 ± 0.19: N · (0.19 / 0.05)² = 14.44 N.
        let v = run(vec![vec![effect(0.45, 0.2)]], Some(1.0));
        assert_eq!(v[0].status, Status::Inconclusive);
        let n = v[0].evidence[0].samples_needed.unwrap();
        assert!((14_000..15_000).contains(&n), "{n}");
        assert!(v[0].reason.contains(&format!("N = {n}")), "{}", v[0].reason);
    }

    /// Six cases each significant alone at 5% (p ≈ 0.02) but not after
    /// Holm over six (0.05 / 6 ≈ 0.0083): inconclusive, not FAIL; the same
    /// effect alone is a FAIL.
    #[test]
    fn holm_keeps_seed_luck_from_failing_a_condition() {
        // P(θ* ≤ 0.5) for θ̂ = 0.6 ± 0.102 (reflected): about 1%, two-sided 2%.
        let e = || effect(0.6, 0.1021);
        let alone = run(vec![vec![e()]], Some(1.0));
        let p = alone[0].evidence[0].p_value.unwrap();
        assert!(p > 0.0083 && p < 0.05, "p = {p}");
        assert_eq!(alone[0].status, Status::Fail);
        let six = run((0..3).map(|_| vec![e(), e()]).collect(), Some(1.0));
        assert!(
            six.iter().all(|v| v.status == Status::Inconclusive),
            "{six:?}"
        );
    }

    #[test]
    fn no_positive_step_fails_as_insensitive() {
        let v = run(vec![vec![effect(0.0, 0.01)]], None);
        assert_eq!(v[0].status, Status::Fail);
        assert!(v[0].reason.contains("insensitive"), "{}", v[0].reason);
    }

    #[test]
    fn a_seed_takes_its_worst_case_and_decided_seeds_pass_through() {
        let seeds = vec![
            SeedEffects::Measured {
                seed: 0,
                effects: vec![effect(0.0, 0.1), effect(0.5, 0.1)],
                diagnostics: Vec::new(),
            },
            SeedEffects::Decided(
                Verdict::new(ConditionId::C7, None, Some(1)).with(Status::Error, "boom"),
            ),
        ];
        let v = decide(ConditionId::C7, seeds, &sens(Some(1.0)), 0.95, 1000);
        assert_eq!(v[0].status, Status::Inconclusive);
        assert_eq!(v[1].status, Status::Error);
        // Evidence: both effects with the margin, then the step.
        assert_eq!(v[0].evidence[0].allowed, Some(0.5));
        assert_eq!(v[0].evidence.len(), 3);
    }
}
