//! The `[validity]` section of the configuration: the population of trained
//! toy SAEs over which metric validity is measured.

use anyhow::{Result, bail, ensure};
use rdpbench_core::toy::{GroupsConfig, ToyConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The validity population: `architectures × sparsity[arch] × q_factors ×
/// seeds`, every SAE of width `d_sae` trained on `toy` with its groups' `q`
/// set to `q_factor · min p_i` ([`ToyConfig::with_q_factor`]).
///
/// A *configuration* is one `(architecture, sparsity, q_factor)` cell; its
/// SAEs differ only in `seeds` (initialisation and training data), so the
/// spread within a configuration is reseed noise (see
/// [`super::Discriminability`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValiditySettings {
    /// Architecture plugin ids (`relu`, `topk`, `batchtopk`, `jumprelu`, `gated`, `matryoshka`).
    pub architectures: Vec<String>,
    /// Sparsity levels per architecture, in that architecture's own knob:
    /// `k` for TopK/BatchTopK/Matryoshka, `l1_coefficient` for ReLU/Gated,
    /// `l0_coefficient` for JumpReLU. Every listed architecture needs an entry;
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
    /// Folder of the trained SAEs, relative to the results folder.
    pub dir: PathBuf,
    /// Further training hyperparameters passed to every plugin.
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

impl Default for ValiditySettings {
    fn default() -> Self {
        Self {
            architectures: vec!["topk".into(), "relu".into(), "jumprelu".into()],
            sparsity: BTreeMap::from([
                ("topk".into(), vec![1.0, 2.0, 4.0]),
                ("relu".into(), vec![0.03, 0.3]),
                ("jumprelu".into(), vec![0.05, 0.5]),
            ]),
            q_factors: vec![0.0, 0.5, 1.0],
            seeds: vec![0, 1],
            d_sae: 16,
            toy: ToyConfig::default(),
            toy_seed: 0,
            steps: 400,
            batch_size: 512,
            lr: 3e-3,
            eval_samples: 4096,
            bootstrap_resamples: 1000,
            confidence: 0.95,
            seed: 0,
            dir: PathBuf::from("validity-saes"),
            hyperparameters: serde_json::Map::new(),
        }
    }
}

impl ValiditySettings {
    /// Checks what serde cannot; errors name the `[validity]` field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            !self.architectures.is_empty(),
            "[validity].architectures is empty"
        );
        for arch in &self.architectures {
            match self.sparsity.get(arch) {
                None => bail!(
                    "[validity].sparsity has no entry for architecture `{arch}` (add `{arch} = [..]`)"
                ),
                Some(levels) if levels.is_empty() => {
                    bail!("[validity].sparsity.{arch} is empty")
                }
                Some(_) => {}
            }
        }
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
