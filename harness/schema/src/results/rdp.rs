//! `rdp.json`: the reproduction of the paper's toy rate-distortion claims
//! (`rdpbench reproduce rdp`, CONDITIONS.md §5).

use crate::results::train::ToyEval;
use crate::settings::rdp::RdpSettings;
use serde::{Deserialize, Serialize};

/// One point of a rate-distortion curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub family: String,
    pub data: String,
    pub k: f64,
    pub l0: f64,
    pub mse: f64,
    pub explained_variance: f64,
    pub p_gt: Option<f64>,
}

/// The gap of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateGap {
    pub data: String,
    pub restricted_l0_at_target: Option<f64>,
    pub unrestricted_l0_at_target: Option<f64>,
    pub measured_gap: Option<f64>,
    pub analytic_tax: f64,
    pub empirical_tax: f64,
    pub empirical_tax_se: f64,
    /// Fraction of the `k` grid where the restricted MSE is above the unrestricted MSE at equal L0 (interpolated).
    pub restricted_above_fraction: Option<f64>,
}

/// One R2 point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgtPoint {
    pub q_factor: f64,
    pub q: f64,
    pub seed: u64,
    pub eval: ToyEval,
}

/// A claim's verdict with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    pub holds: bool,
    pub evidence: String,
}

/// Everything `reproduce rdp` writes (`rdp.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RdpReport {
    pub schema_version: u32,
    pub rdpbench_version: String,
    pub settings: RdpSettings,
    pub curves: Vec<CurvePoint>,
    pub gaps: Vec<RateGap>,
    pub pgt_vs_q: Vec<PgtPoint>,
    pub claims: Vec<Claim>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `reproduce rdp` writes, `report` reads back: the settings'
    /// toy model included.
    #[test]
    fn rdp_json_round_trips() {
        let mut settings = RdpSettings::default();
        settings.toy.n_concepts = 7;
        let report = RdpReport {
            schema_version: 1,
            rdpbench_version: "test".into(),
            settings,
            curves: Vec::new(),
            gaps: Vec::new(),
            pgt_vs_q: Vec::new(),
            claims: vec![Claim {
                id: "R1".into(),
                holds: true,
                evidence: "e".into(),
            }],
        };
        let text = serde_json::to_string_pretty(&report).unwrap();
        let back: RdpReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
    }
}
