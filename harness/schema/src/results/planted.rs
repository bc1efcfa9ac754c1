//! What `rdpbench planted` stores (`planted.json`): the planted data's
//! identity, the R2 curve, the validity-transfer table and the ladder
//! verdicts on the real background. No timestamps or durations: the same
//! settings, background and plugin files give a byte-identical file.

use crate::results::train::Sparsity;
use crate::results::validity::{RhoEstimate, SaeScore};
use crate::results::{PluginError, PluginRecord};
use crate::settings::PlantedSettings;
use anyhow::{Context, Result};
use rdpbench_core::conditions::{ConditionId, Status};
use rdpbench_core::planted::{BackgroundStats, PlantedGroundTruth, PlantingSubspace};
use rdpbench_core::toy::LadderFamily;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the `planted.json` layout; bumped on incompatible changes.
pub const PLANTED_SCHEMA_VERSION: u32 = 1;

/// The results file's name in the results folder.
pub const PLANTED_FILE: &str = "planted.json";

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedRun {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub settings: PlantedSettings,
    pub background: BackgroundInfo,
    /// One planting per toy dimension used (the population's and the ladders' toys).
    pub plantings: Vec<PlantingInfo>,
    pub plugins: Vec<PluginRecord>,
    pub plugin_errors: Vec<PluginError>,
    /// Experiment 1.
    pub r2: R2Result,
    /// Experiment 2: the population trained on planted data.
    pub population: Vec<PlantedSaeRow>,
    /// Experiment 2: per metric.
    pub transfer: Vec<MetricTransfer>,
    /// Where the toy ρ came from: `validity.json` beside this file when its
    /// `[validity]` settings match, else computed by this run.
    pub toy_validity_source: String,
    /// Experiment 3.
    pub ladders: LadderExperiment,
}

/// Where the background came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackgroundInfo {
    /// `synthetic` or `cache`.
    pub kind: String,
    /// The cache folder (as given) or a description of the synthetic draw.
    pub source: String,
    pub n_train_rows: usize,
    pub n_eval_rows: usize,
    /// Statistics of the training rows as read (before the division by `s`).
    pub stats: BackgroundStats,
    /// `s = magnitude · mean norm`: inputs are divided by it.
    pub scale: f64,
}

/// A planting subspace in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantingInfo {
    pub subspace: PlantingSubspace,
    /// Its dimension `m` (the toy's `d`).
    pub dim: usize,
    /// Background variance inside it relative to a random subspace.
    pub variance_ratio: f64,
}

/// One SAE trained on planted data, evaluated on held-out planted rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedSaeRow {
    pub sae_id: String,
    pub architecture: String,
    pub sparsity: Sparsity,
    pub q_factor: f64,
    pub seed: u64,
    /// Index of `(architecture, sparsity, q_factor)` (R2 rows: of `q_factor`).
    pub config_index: usize,
    pub d_sae: usize,
    /// Mean active latents per row (`rdpbench_sdk::train::distortion`).
    pub l0: Option<f64>,
    pub explained_variance: Option<f64>,
    pub mse: Option<f64>,
    /// The restricted ground truth.
    pub planted: PlantedGroundTruth,
    /// Oracle recovery of the planted concepts.
    pub mcc: Option<f64>,
    pub mean_f1: Option<f64>,
}

/// An estimate with a bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlopeEstimate {
    pub value: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub n_resamples: usize,
}

/// Whether `P_gt^planted` rises with `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// The slope's interval lies above 0.
    Rises,
    /// The slope's interval lies below 0.
    Falls,
    /// The interval holds 0, or the slope is undefined.
    Undecided,
}

/// Experiment 1: `P_gt^planted` against `q` at a fixed rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct R2Result {
    pub architecture: String,
    pub sparsity: Sparsity,
    pub rows: Vec<PlantedSaeRow>,
    /// OLS slope of `P_gt^planted` on `q_factor` over the SAEs where it is
    /// defined; interval: basic bootstrap, resampling seeds within each level.
    pub slope: SlopeEstimate,
    /// Mean `P_gt^planted` per level, in `r2_q_factors` order (`None`: undefined on every seed).
    pub mean_by_q: Vec<Option<f64>>,
    pub trend: Trend,
}

/// Does a metric's validity on toys carry over to planted real data?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferVerdict {
    /// Both intervals exclude 0 on the same side.
    Transfers,
    /// The toy interval excludes 0 and the planted one excludes it on the
    /// other side, or the two intervals are disjoint.
    DoesNotTransfer,
    /// Anything else (an interval holds 0, or a ρ is undefined).
    Undecided,
}

/// One metric's toy and planted ρ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricTransfer {
    pub id: String,
    pub version: String,
    pub oracle: bool,
    /// ρ with `P_gt` over the toy validity population.
    pub toy: Option<RhoEstimate>,
    /// ρ with `P_gt^planted` over the planted population.
    pub planted: RhoEstimate,
    pub verdict: TransferVerdict,
    /// Oriented scores on the planted population, in `population` order.
    pub scores: Vec<SaeScore>,
}

/// Experiment 3: the conditions' verdicts on the check toy's ladders,
/// alone and planted on the background under its fixed code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderExperiment {
    /// The conditions run (C1, C2, C8).
    pub conditions: Vec<ConditionId>,
    pub seeds: Vec<u64>,
    /// The background SAE: id, L0 and EV on the background rows.
    pub background_sae: BackgroundSae,
    /// Planted `P_gt` per seed, family and rung (`M` = rung 0), beside the
    /// toy ladder's `P_gt`.
    pub rungs: Vec<RungTruth>,
    pub metrics: Vec<LadderMetric>,
}

/// The background's own code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackgroundSae {
    pub architecture: String,
    pub sparsity: Sparsity,
    pub d_sae: usize,
    pub l0: Option<f64>,
    pub explained_variance: Option<f64>,
}

/// One rung's ground truth, on the toy and planted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungTruth {
    pub seed: u64,
    pub family: LadderFamily,
    pub k: usize,
    pub toy_p_gt: Option<f64>,
    pub planted: PlantedGroundTruth,
}

/// One metric's verdicts, toy beside planted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderMetric {
    pub id: String,
    pub verdicts: Vec<LadderVerdict>,
}

/// One condition (and family) on both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderVerdict {
    pub condition: ConditionId,
    pub family: Option<LadderFamily>,
    pub toy: Status,
    pub planted: Status,
    pub planted_reason: String,
}

impl LadderVerdict {
    /// Whether the planted verdict equals the toy's.
    pub fn same(&self) -> bool {
        self.toy == self.planted
    }
}

impl PlantedRun {
    /// Parses a `planted.json` text, refusing other schema versions; errors
    /// name `origin`.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let head = super::versioned_json(text, origin, PLANTED_SCHEMA_VERSION, super::no_hint)?;
        serde_json::from_value(head).with_context(|| format!("{origin} is not a planted run"))
    }

    /// Reads a stored `planted.json` (or a results folder holding one).
    pub fn load(path: &Path) -> Result<Self> {
        let path = if path.is_dir() {
            path.join(PLANTED_FILE)
        } else {
            path.to_path_buf()
        };
        let origin = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {origin}"))?;
        Self::parse(&text, &origin)
    }
}
