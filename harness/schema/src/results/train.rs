//! `train.json`: the jobs of a training sweep and what became of them.

use rdpbench_core::toy::ToyConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Version of the [`SweepSummary`] layout.
pub const TRAIN_SCHEMA_VERSION: u32 = 1;

/// The sparsity knob of one job: the hyperparameter that the architecture
/// plugin declares as its sparsity knob (`k`, `l1_coefficient`, …) and its
/// value. The host knows no knob by name: it reads the name from the plugin.
///
/// Serialized as a one-entry object, `{"k": 4.0}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sparsity {
    pub knob: String,
    pub value: f64,
}

impl Sparsity {
    pub fn new(knob: impl Into<String>, value: f64) -> Self {
        Self {
            knob: knob.into(),
            value,
        }
    }

    /// The short form used in job ids: the knob's first `_`-separated word,
    /// then the value, with a `_` between them when the word ends in a digit
    /// (`k` 4 → `k4`, `l1_coefficient` 0.3 → `l1_0.3`).
    pub fn label(&self) -> String {
        let word = self.knob.split('_').next().unwrap_or(&self.knob);
        let sep = if word.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        format!("{word}{sep}{}", self.value)
    }
}

impl Serialize for Sparsity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.knob, &self.value)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Sparsity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = std::collections::BTreeMap::<String, f64>::deserialize(d)?;
        let mut it = m.into_iter();
        match (it.next(), it.next()) {
            (Some((knob, value)), None) => Ok(Sparsity { knob, value }),
            _ => Err(serde::de::Error::custom(
                "a sparsity is an object with exactly one entry, e.g. {\"k\": 4.0}",
            )),
        }
    }
}

/// One SAE to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainJob {
    /// Folder name, e.g. `topk-w32-k4-s0`.
    pub id: String,
    pub architecture: String,
    pub d_sae: usize,
    pub sparsity: Sparsity,
    pub seed: u64,
    /// Everything passed to the plugin.
    pub hyperparameters: serde_json::Value,
    pub toy: ToyConfig,
    pub toy_seed: u64,
}

/// Scores of a trained SAE on held-out toy data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyEval {
    pub n_samples: usize,
    /// Explained variance (`rdpbench_sdk::train::distortion`).
    pub explained_variance: Option<f64>,
    /// Per-element MSE.
    pub mse: Option<f64>,
    /// Mean non-zero codes per row (rate).
    pub l0: Option<f64>,
    /// Oracle MCC (Hungarian-matched |cos| of decoder rows to concepts).
    pub mcc: Option<f64>,
    pub mmcs: Option<f64>,
    /// Ground-truth polysemanticity `P_gt` (undefined: `None`).
    pub p_gt: Option<f64>,
    pub polysemantic_fraction: Option<f64>,
    pub n_live: usize,
    pub d_sae: usize,
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub job: TrainJob,
    pub folder: PathBuf,
    /// `false` when a finished folder was found (resume).
    pub trained: bool,
    pub eval: ToyEval,
}

/// The sweep summary written as `train.json` (and `train.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub schema_version: u32,
    pub rdpbench_version: String,
    pub jobs: Vec<JobOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsity_labels_match_the_historic_job_ids() {
        assert_eq!(Sparsity::new("k", 4.0).label(), "k4");
        assert_eq!(Sparsity::new("l1_coefficient", 0.3).label(), "l1_0.3");
        assert_eq!(Sparsity::new("l0_coefficient", 0.5).label(), "l0_0.5");
        assert_eq!(Sparsity::new("target_l0", 20.0).label(), "target20");
    }

    #[test]
    fn sparsity_serializes_as_a_one_entry_object() {
        let s = Sparsity::new("l1_coefficient", 0.3);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"l1_coefficient":0.3}"#);
        assert_eq!(serde_json::from_str::<Sparsity>(&json).unwrap(), s);
        let two = serde_json::from_str::<Sparsity>(r#"{"k":1,"l1_coefficient":2}"#);
        assert!(two.unwrap_err().to_string().contains("exactly one entry"));
    }
}
