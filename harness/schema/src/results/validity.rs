//! What `rdpbench validity` stores (`validity.json`): the population of
//! trained SAEs with their ground truth, and every metric's oriented score per
//! SAE with its ρ and discriminability. No timestamps, no durations, no
//! "trained or resumed" flag: the same settings and plugin files give a
//! byte-identical file, fresh or resumed.

use crate::settings::ValiditySettings;

use crate::results::PluginError;
use crate::results::PluginRecord;
use crate::results::train::Sparsity;
use anyhow::{Context, Result, ensure};
use rdpbench_sdk::{Input, Orientation};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the `validity.json` layout; bumped on incompatible changes.
pub const VALIDITY_SCHEMA_VERSION: u32 = 1;

/// The results file's name in the results folder (beside `check.json`).
pub const VALIDITY_FILE: &str = "validity.json";

/// One trained SAE of the population and its scores on held-out toy data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationRow {
    /// Folder name under the population folder, e.g. `q0.5-topk-w16-k2-s0`.
    pub sae_id: String,
    pub architecture: String,
    /// The sparsity knob and its value (`{"k": 2.0}`, `{"l1_coefficient": 0.3}`, …).
    pub sparsity: Sparsity,
    /// Co-occurrence level `q / min p_i` of the toy's groups.
    pub q_factor: f64,
    pub seed: u64,
    /// Index of the configuration `(architecture, sparsity, q_factor)`
    /// (discriminability groups SAEs by it).
    pub config_index: usize,
    pub d_sae: usize,
    /// Mean non-zero codes per row.
    pub l0: Option<f64>,
    /// `1 − E‖x−x̂‖² / (E‖x‖² − ‖E x‖²)`.
    pub explained_variance: Option<f64>,
    /// Mean over all elements of `(x − x̂)²`.
    pub mse: Option<f64>,
    /// Ground-truth polysemanticity (`None`: undefined, no live explained latent).
    pub p_gt: Option<f64>,
    /// Oracle MCC (Hungarian-matched |cos| of decoder rows to concepts).
    pub mcc: Option<f64>,
    pub n_live: usize,
    /// Whether this run trained it (`false`: a finished folder was reused).
    /// Not stored, so a resumed run writes the same file.
    #[serde(skip)]
    pub trained: bool,
}

/// One metric's score on one SAE, oriented so that higher = more polysemantic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SaeScore {
    Value {
        value: f64,
    },
    /// The metric said it is not defined here.
    Undefined {
        reason: String,
    },
    /// The metric failed (error, panic, non-finite value).
    Error {
        message: String,
    },
}

impl SaeScore {
    pub fn value(&self) -> Option<f64> {
        match self {
            SaeScore::Value { value } => Some(*value),
            _ => None,
        }
    }
}

/// One metric's validity over the population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValidity {
    pub id: String,
    pub version: String,
    /// Reads the true concept directions (labelled as an oracle everywhere).
    pub oracle: bool,
    /// As the metric declares it; `scores` are already oriented.
    pub orientation: Orientation,
    pub inputs: Vec<Input>,
    pub library: PathBuf,
    pub sha256: String,
    /// One per population row, in row order.
    pub scores: Vec<SaeScore>,
    /// Scores that are values / explicitly undefined / errors.
    pub n_defined: usize,
    pub n_undefined: usize,
    pub n_errors: usize,
    /// Spearman ρ between the oriented score and `P_gt` over the SAEs where
    /// both are defined, with its bootstrap interval.
    pub rho: RhoEstimate,
    /// F ratio of configurations over reseed noise.
    pub discriminability: Discriminability,
}

/// A whole `rdpbench validity` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidityRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    /// Seed of the bootstrap over SAEs (also in `settings`).
    pub seed: u64,
    pub settings: ValiditySettings,
    pub plugins: Vec<PluginRecord>,
    pub plugin_errors: Vec<PluginError>,
    pub population: Vec<PopulationRow>,
    /// The F ratio of `P_gt` itself: whether the population's configurations
    /// differ in ground truth beyond reseed noise.
    pub p_gt_discriminability: Discriminability,
    pub metrics: Vec<MetricValidity>,
}

impl ValidityRun {
    /// Reads a stored `validity.json` (or a results folder holding one),
    /// refusing other schema versions.
    pub fn load(path: &Path) -> Result<Self> {
        let path = if path.is_dir() {
            path.join(VALIDITY_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read validity results {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a `validity.json`'s text; `origin` (a path) names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let head = super::versioned_json(text, origin, VALIDITY_SCHEMA_VERSION, super::no_hint)?;
        let run: Self = serde_json::from_value(head)
            .with_context(|| format!("{origin} is not an rdpbench validity result"))?;
        for m in &run.metrics {
            ensure!(
                m.scores.len() == run.population.len(),
                "{origin}: metric `{}` has {} scores for {} SAEs",
                m.id,
                m.scores.len(),
                run.population.len()
            );
        }
        Ok(run)
    }

    /// The metric with this id.
    pub fn metric(&self, id: &str) -> Option<&MetricValidity> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// Smallest and largest defined `P_gt` of the population.
    pub fn p_gt_range(&self) -> Option<[f64; 2]> {
        let vals = self.population.iter().filter_map(|r| r.p_gt);
        vals.fold(None, |acc, v| match acc {
            None => Some([v, v]),
            Some([lo, hi]) => Some([lo.min(v), hi.max(v)]),
        })
    }
}

/// ρ with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RhoEstimate {
    /// Spearman's ρ on all pairs; `None` when undefined (see `reason`).
    pub rho: Option<f64>,
    /// Percentile-bootstrap interval `[q_{(1−c)/2}, q_{(1+c)/2}]` of ρ over
    /// resamples of the pairs (SAEs) with replacement; `None` when ρ is
    /// undefined or fewer than half of the resamples gave a defined ρ.
    pub ci: Option<[f64; 2]>,
    /// Number of pairs.
    pub n: usize,
    /// Resamples drawn, and those on which ρ was defined.
    pub n_resamples: usize,
    pub n_resamples_defined: usize,
    /// Why ρ is undefined.
    pub reason: Option<String>,
}

/// The F ratio and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discriminability {
    /// `MS_between / MS_within`; `None` when undefined (see `reason`).
    pub f_ratio: Option<f64>,
    pub ms_between: Option<f64>,
    pub ms_within: Option<f64>,
    /// Configurations with at least one defined score (`G`).
    pub n_configs: usize,
    /// Defined scores (`N`).
    pub n_values: usize,
    pub reason: Option<String>,
}
