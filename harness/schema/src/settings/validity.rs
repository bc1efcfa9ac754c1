//! The `[validity]` section of the configuration: the population of trained
//! toy SAEs over which metric validity is measured.

use anyhow::{Result, ensure};
use rdpbench_core::toy::{GroupsConfig, Marginals, ParentChild, ToyConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The validity population: `architectures × sparsity[arch] × q_factors ×
/// seeds`, every SAE of width `d_sae` trained on `toy` with its groups' `q`
/// set to `q_factor · min p_i` ([`ToyConfig::with_q_factor`]).
///
/// A *configuration* is one `(architecture, sparsity, q_factor)` cell; its
/// SAEs differ only in `seeds` (initialisation and training data), so the
/// spread within a configuration is reseed noise (see
/// [`super::Discriminability`]).
///
/// Metrics may be undefined on some SAEs by their own definition; ρ and F
/// then use the SAEs where they are defined. In the default population:
/// `coactivation-entropy` on the TopK `k = 1` SAEs (one latent per token,
/// no co-firing partners: 6 of 42).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValiditySettings {
    /// Architecture plugin ids (`relu`, `topk`, `batchtopk`, `jumprelu`, `gated`, `matryoshka`).
    pub architectures: Vec<String>,
    /// Sparsity levels per architecture, in the sparsity knob its plugin
    /// declares (`k`, `l1_coefficient`, …). Every listed architecture needs an entry;
    /// entries of unlisted architectures are unused (config layers merge this
    /// table key by key, so the defaults' entries stay).
    pub sparsity: BTreeMap<String, Vec<f64>>,
    /// Co-occurrence levels: `q / min_{i∈G} p_i` of every group of `toy`, in `[0, 1]`.
    pub q_factors: Vec<f64>,
    /// Training seeds; one SAE per seed and configuration.
    pub seeds: Vec<u64>,
    /// Latent count of every SAE.
    pub d_sae: usize,
    /// The toy model (same fields as `[toy]`; it needs co-occurrence groups).
    pub toy: ToyConfig,
    /// Seed of the toy model's directions.
    pub toy_seed: u64,
    /// Optimiser steps per SAE.
    pub steps: u64,
    /// Rows per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate.
    pub lr: f64,
    /// Held-out rows (toy draw [`crate::train::EVAL_DRAW`]) on which metrics,
    /// `P_gt`, MCC, L0, MSE and EV are computed.
    pub eval_samples: usize,
    /// Bootstrap resamples (over SAEs) for the confidence interval of ρ.
    pub bootstrap_resamples: usize,
    /// Two-sided confidence level of the ρ interval.
    pub confidence: f64,
    /// Seed of the bootstrap over SAEs.
    pub seed: u64,
    /// Further training hyperparameters passed to every plugin.
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

/// The population's default toy: the standard toy ([`ToyConfig::default`]:
/// 16 orthonormal concepts in `d = 32`, groups `{0..3}`, `{4..7}`, `{8..11}`)
/// with Zipf marginals `p_i ∈ [0.05, 0.2]` (exponent 1, `p_0 = 0.2`,
/// `p_1 ≈ 0.12`, `p_12..15 ≈ 0.05`) and two parents with two children each:
/// `12, 13 ⇒ 0` and `14, 15 ⇒ 1`.
///
/// Why: feature absorption needs a parent/child hierarchy, and a child
/// present with probability `p_child / p_parent` given its parent must be
/// strictly rarer than the parent (with the standard toy's constant
/// `p = 0.1` a child would fire exactly with its parent: equal sets, not a
/// hierarchy, and the absorption metric is undefined on every SAE). The
/// conditional probabilities are `P(12 | 0) ≈ P(13 | 0) ≈ 0.26` and
/// `P(14 | 1) ≈ P(15 | 1) ≈ 0.42`; children are concepts outside the
/// co-occurrence groups (the toy requires it), parents the two most
/// frequent concepts. `Σ p_i ≈ 1.18` concepts per row (1.6 before).
pub fn validity_toy() -> ToyConfig {
    ToyConfig {
        marginals: Marginals::Zipf {
            p_min: 0.05,
            p_max: 0.2,
            exponent: 1.0,
        },
        hierarchy: [(0, 12), (0, 13), (1, 14), (1, 15)]
            .into_iter()
            .map(|(parent, child)| ParentChild {
                parent,
                child,
                p_given_parent: None,
            })
            .collect(),
        ..ToyConfig::default()
    }
}

impl ValiditySettings {
    /// Checks what serde cannot; errors name the `[validity]` field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            !self.architectures.is_empty(),
            "[validity].architectures is empty"
        );
        super::validate_sparsity("validity", &self.architectures, &self.sparsity)?;
        ensure!(!self.q_factors.is_empty(), "[validity].q_factors is empty");
        for (i, q) in self.q_factors.iter().enumerate() {
            ensure!(
                (0.0..=1.0).contains(q),
                "[validity].q_factors[{i}] = {q} is outside [0, 1]"
            );
        }
        ensure!(
            !matches!(self.toy.groups, GroupsConfig::None) || self.q_factors.len() == 1,
            "[validity].toy.groups is `none`: co-occurrence levels need groups"
        );
        ensure!(!self.seeds.is_empty(), "[validity].seeds is empty");
        ensure!(self.d_sae > 0, "[validity].d_sae must be positive");
        ensure!(
            self.eval_samples > 0,
            "[validity].eval_samples must be positive"
        );
        ensure!(
            self.confidence > 0.0 && self.confidence < 1.0,
            "[validity].confidence = {} is outside (0, 1)",
            self.confidence
        );
        for &q in &self.q_factors {
            self.toy.with_q_factor(q).resolve().map_err(|e| {
                e.context(format!("[validity].toy with q_factor {q} is not feasible"))
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_toy_has_a_hierarchy_of_strictly_rarer_children() {
        let s = ValiditySettings::default();
        s.validate().unwrap();
        let p = s.toy.marginal_probabilities().unwrap();
        // Zipf end points: p_0 = p_max, p_15 = p_min.
        assert!((p[0] - 0.2).abs() < 1e-15, "{}", p[0]);
        assert!((p[15] - 0.05).abs() < 1e-15, "{}", p[15]);
        assert_eq!(s.toy.hierarchy.len(), 4);
        for h in &s.toy.hierarchy {
            // P(child | parent) = p_child / p_parent, at most 1/2 here: the
            // child's token set is a strict subset of the parent's.
            let cond = p[h.child] / p[h.parent];
            assert!(cond <= 0.5, "child {} of {}: {cond}", h.child, h.parent);
        }
        // Every co-occurrence level of the population is a feasible toy.
        for &q in &s.q_factors {
            let r = s.toy.with_q_factor(q).resolve().unwrap();
            assert_eq!(r.groups.len(), 3);
        }
    }
}
