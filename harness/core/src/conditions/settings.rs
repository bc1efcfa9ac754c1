//! Settings of a conditions run (`[check]` in rdpbench's TOML config).

use serde::{Deserialize, Serialize};

/// Tolerances for exact (invariance) comparisons: `a` and `b` agree when
/// `|a − b| ≤ atol + rtol · max(|a|, |b|)`. `rtol_f32` applies where the
/// transform itself is computed in f32 (rescaling, rotation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tolerances {
    pub atol: f64,
    pub rtol_f64: f64,
    /// Where f32 is involved, absolute rounding of order the f32 unit
    /// roundoff (6e-8) remains on scores near zero, e.g. cosines between
    /// orthonormal f32 rows; `atol_f32` absorbs it. It is also the width
    /// below which a ladder step counts as a tie ("flat").
    pub atol_f32: f64,
    pub rtol_f32: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            atol: 1e-9,
            rtol_f64: 1e-6,
            atol_f32: 1e-7,
            rtol_f32: 1e-5,
        }
    }
}

/// One exact tolerance as applied (recorded with the evidence).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Tolerance {
    /// The allowed gap between `a` and `b`.
    pub fn allowed(&self, a: f64, b: f64) -> f64 {
        self.atol + self.rtol * a.abs().max(b.abs())
    }

    pub fn close(&self, a: f64, b: f64) -> bool {
        (a - b).abs() <= self.allowed(a, b)
    }
}

/// How `rdpbench check` runs the conditions. Defaults are sized so the
/// default run over the built-in metrics finishes in well under a minute on
/// two cores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckSettings {
    /// Toy-model seeds; every statistical condition runs once per seed.
    pub seeds: Vec<u64>,
    /// Evaluation samples per dataset (`N`).
    pub n_samples: usize,
    /// Paired bootstrap resamples (the spec asks for at least 200).
    pub bootstrap_resamples: usize,
    /// Confidence level of bootstrap bounds (basic bootstrap): C1/C2 use
    /// the one-sided lower bound at this level, the margin tests (C7, C8,
    /// C11) the two-sided interval; `1 − confidence` is also the family-wise
    /// level of the Holm–Bonferroni correction of FAIL claims.
    pub confidence: f64,
    /// Random permutations for C3 (the reversal is always added).
    pub permutations: usize,
    /// Random rescalings for C4.
    pub rescalings: usize,
    /// Random rotations for C5.
    pub rotations: usize,
    /// Independent replicates at N and at 4N for C9.
    pub consistency_replicates: usize,
    /// C8: co-occurrence `q = factor · p` of the co-occurring dataset.
    pub cooccurrence_q_factor: f64,
    /// C11: the marginals of the denser dataset are `factor · p`.
    pub density_factor: f64,
    /// C10: seconds one evaluation may take before it counts as a hang.
    pub timeout_secs: f64,
    /// Parent/child families appended to the toy when it has no hierarchy of
    /// its own (constant marginals only), so that the absorption ladder
    /// runs: each a new parent with `absorption_children` new children
    /// (CONDITIONS.md §3). 0: none.
    pub absorption_families: usize,
    /// Children per appended family.
    pub absorption_children: usize,
    /// `P(child | parent)` of the appended children.
    pub absorption_p_given_parent: f64,
    /// Shrinking each failed condition to its smallest failing case
    /// (`rdpbench_core::shrink`): at most this many conditions runs per
    /// failure (deterministic); 0 turns shrinking off.
    pub shrink_trials: usize,
    /// A safety cap on one failure's search, in seconds.
    pub shrink_seconds: f64,
    pub tolerances: Tolerances,
    /// Only these conditions (e.g. `["C1", "C3"]`); empty: all.
    pub conditions: Vec<String>,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            seeds: vec![0, 1, 2],
            n_samples: 4000,
            bootstrap_resamples: 200,
            confidence: 0.95,
            permutations: 5,
            rescalings: 3,
            rotations: 3,
            consistency_replicates: 4,
            cooccurrence_q_factor: 0.9,
            density_factor: 2.0,
            timeout_secs: 10.0,
            absorption_families: 2,
            absorption_children: 2,
            absorption_p_given_parent: 0.5,
            shrink_trials: 40,
            shrink_seconds: 5.0,
            tolerances: Tolerances::default(),
            conditions: Vec::new(),
        }
    }
}

impl CheckSettings {
    /// Rejects settings the spec does not allow, naming the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.seeds.is_empty(),
            "check.seeds must list at least one seed"
        );
        anyhow::ensure!(self.n_samples >= 2, "check.n_samples must be at least 2");
        anyhow::ensure!(
            self.bootstrap_resamples >= 2,
            "check.bootstrap_resamples must be at least 2 (the spec asks for 200 or more)"
        );
        anyhow::ensure!(
            self.confidence > 0.5 && self.confidence < 1.0,
            "check.confidence must lie in (0.5, 1)"
        );
        anyhow::ensure!(
            self.consistency_replicates >= 2,
            "check.consistency_replicates must be at least 2"
        );
        anyhow::ensure!(
            self.timeout_secs > 0.0,
            "check.timeout_secs must be positive"
        );
        anyhow::ensure!(
            self.absorption_p_given_parent > 0.0 && self.absorption_p_given_parent <= 1.0,
            "check.absorption_p_given_parent must lie in (0, 1]"
        );
        anyhow::ensure!(
            self.shrink_seconds.is_finite() && self.shrink_seconds > 0.0,
            "check.shrink_seconds must be positive"
        );
        let t = &self.tolerances;
        for (field, v) in [
            ("atol", t.atol),
            ("rtol_f64", t.rtol_f64),
            ("atol_f32", t.atol_f32),
            ("rtol_f32", t.rtol_f32),
        ] {
            anyhow::ensure!(
                v.is_finite() && v >= 0.0,
                "check.tolerances.{field} is {v}: a tolerance must be a finite number >= 0"
            );
        }
        for c in &self.conditions {
            anyhow::ensure!(
                super::ConditionId::parse(c).is_some(),
                "check.conditions: unknown condition {c:?} (use C1 … C11)"
            );
        }
        Ok(())
    }
}
