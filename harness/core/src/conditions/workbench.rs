//! The metric-independent part of a conditions run, built once: per seed,
//! the toy model, its datasets, the oracle cases and the bootstrap draws.
//! Every metric is then checked against the same workbench.
//!
//! Datasets of one seed (data seeds are fixed so that variants of the same
//! model share common random numbers, row by row):
//! - ladder data: the check toy (groups at their `q`), draw 0, `N` rows;
//!   `M` and every rung of the AND, OR, growing and absorption ladders are
//!   built on it. The check toy is the configured `[toy]`, with the
//!   `absorption_*` parent/child families of the settings appended when it
//!   has no hierarchy of its own ([`ToyConfig::with_appended_families`]).
//! - independent / co-occurring / dense data for C8 and C11: the same
//!   directions with no groups, with groups at `q = 0.9 p`, and with no
//!   groups at `2p`; all draw 1, `N` rows.
//! - C9 replicates: ladder-data model, draws 100.. at `N` rows and draws
//!   200.. at `4N` rows.

use super::settings::CheckSettings;
use super::stats::bootstrap_rows;
use crate::toy::{
    EvalCase, GroundTruthOptions, LadderFamily, LadderReport, MergeKind, ToyConfig, ToyModel,
    ladder, merged_case, monosemantic, n_rungs, verify_ladder,
};
use anyhow::{Context, Result};
use rdpbench_sdk::CsrMatrix;

/// The ladder families, in report order.
pub const FAMILIES: [LadderFamily; 4] = LadderFamily::ALL;

const DRAW_LADDER: u64 = 0;
const DRAW_PAIRED: u64 = 1;
const DRAW_REPLICATE_N: u64 = 100;
const DRAW_REPLICATE_4N: u64 = 200;
const TAG_BOOT_LADDER: u64 = 0xB001;
const TAG_BOOT_PAIRED: u64 = 0xB002;

/// One rung of one ladder family, built on the ladder data.
#[derive(Debug, Clone)]
pub struct Rung {
    pub family: LadderFamily,
    /// `k ≥ 1` (rung 0 is `M`).
    pub k: usize,
    pub case: EvalCase,
}

/// Everything one seed contributes.
#[derive(Debug, Clone)]
pub struct SeedBench {
    pub seed: u64,
    /// `M` on the ladder data.
    pub mono: EvalCase,
    /// Rungs `k ≥ 1` of every family, on the ladder data.
    pub rungs: Vec<Rung>,
    /// The ladders' by-construction checks (P_gt per rung, L0 savings).
    pub ladder_reports: Vec<LadderReport>,
    /// Bootstrap row draws over the ladder data.
    pub ladder_boot: Vec<Vec<usize>>,
    /// `M` on independent data at `p` (C8, C11).
    pub mono_independent: EvalCase,
    /// `M` on data whose groups co-occur at `q = 0.9 p` (C8).
    pub mono_cooccurring: EvalCase,
    /// The co-occurring groups merged, per family (AND, OR), on that data (C8).
    pub merged_cooccurring: Vec<(LadderFamily, EvalCase)>,
    /// `M` on independent data at `2p` (C11).
    pub mono_dense: EvalCase,
    /// Bootstrap row draws over the paired (C8, C11) datasets.
    pub paired_boot: Vec<Vec<usize>>,
    /// C9: `M` on independent replicates at `N` and at `4N`.
    pub replicates_n: Vec<EvalCase>,
    pub replicates_4n: Vec<EvalCase>,
}

impl SeedBench {
    /// The rungs of one family, in order of `k`.
    pub fn family(&self, family: LadderFamily) -> impl Iterator<Item = &Rung> {
        self.rungs.iter().filter(move |r| r.family == family)
    }
}

/// A named edge case for C10.
#[derive(Debug, Clone)]
pub struct EdgeCase {
    pub name: &'static str,
    pub case: EvalCase,
}

/// The whole workbench.
#[derive(Debug, Clone)]
pub struct Workbench {
    /// The check toy actually used (the configured toy, plus any appended
    /// parent/child families).
    pub toy: ToyConfig,
    pub settings: CheckSettings,
    pub seeds: Vec<SeedBench>,
    pub edge_cases: Vec<EdgeCase>,
}

fn build_seed(toy: &ToyConfig, s: &CheckSettings, seed: u64) -> Result<SeedBench> {
    let n = s.n_samples;
    let model = ToyModel::new(toy, seed).context("toy config")?;
    let data = model.sample(DRAW_LADDER, 0, n);
    let gt = GroundTruthOptions::default();
    let mut rungs = Vec::new();
    let mut ladder_reports = Vec::new();
    for family in FAMILIES {
        if n_rungs(family, &model) < 2 {
            continue;
        }
        ladder_reports.push(
            verify_ladder(family, &model, &data, &gt)
                .with_context(|| format!("seed {seed}: the {family} ladder is not valid"))?,
        );
        for k in 1..n_rungs(family, &model) {
            rungs.push(Rung {
                family,
                k,
                case: ladder(family, &model, &data, k)?,
            });
        }
    }

    let independent = model.with_config(&toy.independent())?;
    let cooccurring = model.with_config(&toy.with_q_factor(s.cooccurrence_q_factor))?;
    let dense = model.with_config(&toy.independent().with_scaled_marginals(s.density_factor))?;
    let co_data = cooccurring.sample(DRAW_PAIRED, 0, n);
    let mut merged_cooccurring = Vec::new();
    if !cooccurring.groups().is_empty() {
        for (family, kind) in [
            (LadderFamily::And, MergeKind::And),
            (LadderFamily::Or, MergeKind::Or),
        ] {
            let merges: Vec<_> = cooccurring
                .groups()
                .iter()
                .map(|g| crate::toy::Merge {
                    members: g.members.clone(),
                    kind,
                })
                .collect();
            merged_cooccurring.push((family, merged_case(&cooccurring, &co_data, &merges)?));
        }
    }
    let replicate = |draw: u64, rows: usize| monosemantic(&model, &model.sample(draw, 0, rows));
    Ok(SeedBench {
        seed,
        mono: monosemantic(&model, &data),
        rungs,
        ladder_reports,
        ladder_boot: bootstrap_rows(n, s.bootstrap_resamples, seed, TAG_BOOT_LADDER),
        mono_independent: monosemantic(&independent, &independent.sample(DRAW_PAIRED, 0, n)),
        mono_cooccurring: monosemantic(&cooccurring, &co_data),
        merged_cooccurring,
        mono_dense: monosemantic(&dense, &dense.sample(DRAW_PAIRED, 0, n)),
        paired_boot: bootstrap_rows(n, s.bootstrap_resamples, seed, TAG_BOOT_PAIRED),
        replicates_n: (0..s.consistency_replicates as u64)
            .map(|r| replicate(DRAW_REPLICATE_N + r, n))
            .collect(),
        replicates_4n: (0..s.consistency_replicates as u64)
            .map(|r| replicate(DRAW_REPLICATE_4N + r, 4 * n))
            .collect(),
    })
}

/// The C10 edge cases, derived from `M`: all latents dead; a single latent;
/// a latent with one constant positive value on every sample; `N = 1`; `N = 3`.
pub fn edge_cases(mono: &EvalCase) -> Vec<EdgeCase> {
    let n = mono.n_tokens();
    let f = mono.d_sae();
    let rows =
        |k: usize| crate::eval::take_rows(mono, &(0..k.min(n)).collect::<Vec<_>>(), &all_inputs());
    let mut dead = mono.clone();
    dead.codes = CsrMatrix {
        n_rows: n,
        n_cols: f,
        indptr: vec![0; n + 1],
        indices: Vec::new(),
        values: Vec::new(),
    };
    let mut one = mono.clone();
    one.decoder = rdpbench_sdk::DenseMatrix::from_vec(1, mono.d_in(), mono.decoder.row(0).to_vec())
        .expect("one row");
    one.encoder = mono.encoder.as_ref().map(|e| {
        let col: Vec<f32> = (0..e.rows).map(|i| e.data[i * e.cols]).collect();
        rdpbench_sdk::DenseMatrix::from_vec(e.rows, 1, col).expect("one column")
    });
    let mut codes = CsrMatrix::with_cols(1);
    let v = mono.codes.view();
    for t in 0..n {
        codes.push_row(
            v.row_iter(t)
                .filter(|&(j, _)| j == 0)
                .map(|(_, a)| (0u32, a)),
        );
    }
    one.codes = codes;
    let mut constant = mono.clone();
    let mut codes = CsrMatrix::with_cols(f);
    for t in 0..n {
        let mut row: Vec<(u32, f32)> = v
            .row_iter(t)
            .filter(|&(j, _)| j != 0)
            .map(|(j, a)| (j as u32, a))
            .collect();
        row.insert(0, (0, 1.0));
        codes.push_row(row);
    }
    constant.codes = codes;
    vec![
        EdgeCase {
            name: "all latents dead",
            case: dead,
        },
        EdgeCase {
            name: "one latent",
            case: one,
        },
        EdgeCase {
            name: "latent 0 constant 1.0 on every sample",
            case: constant,
        },
        EdgeCase {
            name: "N = 1",
            case: rows(1),
        },
        EdgeCase {
            name: "N = 3",
            case: rows(3),
        },
    ]
}

fn all_inputs() -> rdpbench_sdk::MetricSpec {
    rdpbench_sdk::MetricSpec {
        id: "all-inputs".into(),
        version: "1".into(),
        description: String::new(),
        citation: String::new(),
        orientation: rdpbench_sdk::Orientation::HigherIsMorePolysemantic,
        inputs: rdpbench_sdk::Input::ALL.to_vec(),
        examples: Vec::new(),
    }
}

/// The toy the conditions run on: `toy`, with the settings' parent/child
/// families appended when it has no hierarchy (see the module docs).
pub fn check_toy(toy: &ToyConfig, settings: &CheckSettings) -> ToyConfig {
    toy.with_appended_families(
        settings.absorption_families,
        settings.absorption_children,
        settings.absorption_p_given_parent,
    )
    .unwrap_or_else(|| toy.clone())
}

impl Workbench {
    /// Builds every seed's datasets and cases; fails (naming the seed and the
    /// ladder) when the toy config cannot support the conditions.
    pub fn build(toy: &ToyConfig, settings: &CheckSettings) -> Result<Self> {
        settings.validate()?;
        let toy = check_toy(toy, settings);
        let toy = &toy;
        let seeds = settings
            .seeds
            .iter()
            .map(|&s| build_seed(toy, settings, s))
            .collect::<Result<Vec<_>>>()?;
        let edge_cases = edge_cases(&seeds[0].mono);
        Ok(Self {
            toy: toy.clone(),
            settings: settings.clone(),
            seeds,
            edge_cases,
        })
    }
}
