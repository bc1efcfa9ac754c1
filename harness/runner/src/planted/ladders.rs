//! Experiment 3: the conditions C1, C2 and C8 on oracle ladders built from
//! the planted directions on top of the background, beside the same
//! conditions on the toy alone.
//!
//! The toy workbench is the check's ([`Workbench::build`] on the check toy,
//! without noise), restricted to C1, C2 and C8. The planted workbench is
//! the same workbench with every case those conditions read planted
//! ([`Planting::plant_case`]) on held-out background rows under the
//! background's own code: an SAE of `[planted].background_*` trained on the
//! background alone and held fixed, whose latents come first. Seed `i`
//! uses the background rows from `(i · N) mod (eval_rows − N + 1)`, so the
//! rungs of one seed share their rows (the paired comparisons stay paired).

use super::data::Background;
use super::population::{Encoded, encode_rows, planted_toy};
use crate::progress::{Progress, TrainSteps, UnitKind};
use crate::train::{finished_job, training_config};
use crate::work_queue::map_indexed;
use anyhow::{Context, Result, ensure};
use rdpbench_core::conditions::{CheckSettings, ConditionId, MetricReport, Workbench, check_toy};
use rdpbench_core::planted::{BackgroundCode, Planting, planted_p_gt};
use rdpbench_core::rng::Rng;
use rdpbench_core::toy::{EvalCase, GroundTruthOptions, ToyConfig};
use rdpbench_plugin_host::supervise::check_supervised;
use rdpbench_plugin_host::{LoadedSae, PluginSet, saelens};
use rdpbench_schema::results::planted::{
    BackgroundSae, LadderExperiment, LadderMetric, LadderVerdict, RungTruth,
};
use rdpbench_schema::results::train::Sparsity;
use rdpbench_schema::settings::PlantedSettings;
use rdpbench_sdk::data::DenseMatrix;
use rdpbench_sdk::train::distortion::Distortion;
use rdpbench_sdk::{BatchSource, SaeArchitecture, SaeWeights, TrainRequest};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The conditions of this experiment.
pub const LADDER_CONDITIONS: [ConditionId; 3] = [ConditionId::C1, ConditionId::C2, ConditionId::C8];

/// Stream tag of the background SAE's row order.
const TAG_BG_ORDER: u64 = 0x4247_4f52; // "BGOR"

/// Background rows in a seeded order, cycling.
struct RowsSource<'a> {
    rows: &'a DenseMatrix,
    order: Vec<usize>,
    next: usize,
}

impl BatchSource for RowsSource<'_> {
    fn d_in(&self) -> usize {
        self.rows.cols
    }
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> Result<usize> {
        let d = self.rows.cols;
        for r in 0..rows {
            let t = self.order[(self.next + r) % self.order.len()];
            out[r * d..(r + 1) * d].copy_from_slice(self.rows.row(t));
        }
        self.next += rows;
        Ok(rows)
    }
}

/// The check toy, planted without noise, and the check settings
/// restricted to this experiment's conditions (C9's replicates and C10's
/// edge cases are not built into the planted workbench).
pub fn ladder_setup(toy: &ToyConfig, check: &CheckSettings) -> (ToyConfig, CheckSettings) {
    let settings = CheckSettings {
        conditions: LADDER_CONDITIONS.iter().map(|c| c.to_string()).collect(),
        ..check.clone()
    };
    (planted_toy(&check_toy(toy, &settings)), settings)
}

/// Trains (or reuses, from `dir`) the background SAE and returns it with
/// its record.
fn background_sae<'p>(
    plugins: &'p PluginSet,
    background: &Background,
    settings: &PlantedSettings,
    dir: &Path,
    observer: &mut dyn Progress,
) -> Result<(&'p LoadedSae, SaeWeights, Sparsity)> {
    let arch = &settings.background_architecture;
    let sae = plugins
        .sae(arch)
        .context("[planted].background_architecture")?;
    let knob = plugins.sparsity_knob(arch)?;
    let sparsity = Sparsity::new(knob.clone(), settings.background_sparsity);
    let mut h = settings.hyperparameters.clone();
    h.insert("d_sae".into(), settings.background_d_sae.into());
    h.insert("steps".into(), settings.steps.into());
    h.insert("batch_size".into(), settings.batch_size.into());
    h.insert("lr".into(), settings.lr.into());
    h.insert("eval_every".into(), 0.into());
    h.insert("seed".into(), settings.seed.into());
    h.insert(knob, settings.background_sparsity.into());
    let hyperparameters = serde_json::Value::Object(h);
    let id = format!(
        "background-{arch}-w{}-{}-s{}",
        settings.background_d_sae,
        sparsity.label(),
        settings.seed
    );
    let record = serde_json::json!({
        "hyperparameters": hyperparameters,
        "background": background.info,
    });
    let folder = dir.join(&id);
    if let Some(w) = finished_job(
        &folder,
        plugins,
        "rdpbench_planted_background",
        &record,
        &id,
    )? {
        observer.unit(UnitKind::Reuse, 0, 1, &id);
        return Ok((sae, w, sparsity));
    }
    observer.unit(UnitKind::Train, 0, 1, &id);
    let config =
        training_config(&sae.spec(), &hyperparameters).context("[planted].background_*")?;
    let mut source = RowsSource {
        rows: &background.train,
        order: Rng::derive(settings.seed, &[TAG_BG_ORDER]).permutation(background.train.rows),
        next: 0,
    };
    let text = config.to_string();
    let mut weights = sae
        .train(TrainRequest {
            config: &text,
            data: &mut source,
            observer: &mut TrainSteps(observer),
        })
        .with_context(|| format!("training the background SAE `{id}`"))?;
    let mut cfg: serde_json::Value = serde_json::from_str(&weights.cfg_json)
        .context("the plugin returned an invalid cfg.json")?;
    if let Some(meta) = cfg.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("model_name".into(), "rdpbench-planted-background".into());
        meta.insert("rdpbench_planted_background".into(), record);
    }
    weights.cfg_json = serde_json::to_string_pretty(&cfg)?;
    saelens::save(&folder, &weights, &sae.cached_spec().saelens)?;
    Ok((sae, weights, sparsity))
}

/// The background code of `rows` under `weights`; its rate and distortion
/// go into `acc`.
fn background_code(
    sae: &dyn SaeArchitecture,
    weights: &SaeWeights,
    rows: &DenseMatrix,
    acc: &mut Distortion,
) -> Result<BackgroundCode> {
    let Encoded {
        codes,
        decoder,
        encoder,
    } = encode_rows(sae, weights, rows, acc)?;
    Ok(BackgroundCode {
        decoder,
        encoder,
        codes,
    })
}

/// Rows `start..start + n` of `m`.
fn slice_rows(m: &DenseMatrix, start: usize, n: usize) -> Result<DenseMatrix> {
    DenseMatrix::from_vec(
        n,
        m.cols,
        m.data[start * m.cols..(start + n) * m.cols].to_vec(),
    )
}

/// The toy workbench with every case C1, C2 and C8 read planted.
pub fn plant_workbench(
    toy_bench: &Workbench,
    background: &Background,
    planting: &Planting,
    sae: &dyn SaeArchitecture,
    weights: &SaeWeights,
) -> Result<(Workbench, Distortion)> {
    let n = toy_bench.settings.n_samples;
    let eval = &background.eval;
    ensure!(
        eval.rows >= n,
        "the ladders need {n} background rows ([check].n_samples) but [planted].eval_rows = {}",
        eval.rows
    );
    let mut bench = toy_bench.clone();
    bench.edge_cases.clear();
    let mut total = Distortion::new(eval.cols);
    for (i, seed) in bench.seeds.iter_mut().enumerate() {
        let start = (i * n) % (eval.rows - n + 1);
        let rows = slice_rows(eval, start, n)?;
        let code = background_code(sae, weights, &rows, &mut total)?;
        let plant = |c: &EvalCase| planting.plant_case(c, &rows, Some(&code));
        seed.mono = plant(&seed.mono)?;
        for r in &mut seed.rungs {
            r.case = plant(&r.case)?;
        }
        seed.mono_independent = plant(&seed.mono_independent)?;
        seed.mono_cooccurring = plant(&seed.mono_cooccurring)?;
        for (_, c) in &mut seed.merged_cooccurring {
            *c = plant(c)?;
        }
        seed.mono_dense = plant(&seed.mono_dense)?;
        seed.replicates_n.clear();
        seed.replicates_4n.clear();
    }
    Ok((bench, total))
}

/// Pairs each (condition, family) summary of `toy` with `planted`'s.
fn pair(toy: &MetricReport, planted: &MetricReport) -> Vec<LadderVerdict> {
    toy.summary
        .iter()
        .map(|t| {
            let p = planted
                .summary
                .iter()
                .find(|p| p.condition == t.condition && p.family == t.family);
            LadderVerdict {
                condition: t.condition,
                family: t.family,
                toy: t.status,
                planted: p.map_or(rdpbench_core::conditions::Status::Error, |p| p.status),
                planted_reason: p.map_or_else(
                    || "no planted verdict for this condition".to_string(),
                    |p| p.reason.clone(),
                ),
            }
        })
        .collect()
}

/// The experiment of the module docs.
#[allow(clippy::too_many_arguments)]
pub fn ladder_experiment(
    plugins: &PluginSet,
    toy: &ToyConfig,
    check: &CheckSettings,
    background: &Background,
    planting_of: &dyn Fn(usize) -> Result<Planting>,
    settings: &PlantedSettings,
    dir: &Path,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<LadderExperiment> {
    let (toy, check) = ladder_setup(toy, check);
    observer.phase("ladders: building the toy workbench");
    let toy_bench = Arc::new(Workbench::build(&toy, &check).context("the check toy")?);
    let planting = planting_of(toy.d)?;
    observer.phase("ladders: the background's own code");
    let (sae, weights, sparsity) = background_sae(plugins, background, settings, dir, observer)?;
    let (planted_bench, quality) =
        plant_workbench(&toy_bench, background, &planting, sae, &weights)?;
    let planted_bench = Arc::new(planted_bench);
    let gt = GroundTruthOptions::default();
    let mut rungs = Vec::new();
    for (toy_seed, seed) in toy_bench.seeds.iter().zip(&planted_bench.seeds) {
        for report in &toy_seed.ladder_reports {
            for summary in &report.rungs {
                let case = if summary.rung == 0 {
                    &seed.mono
                } else {
                    &seed
                        .family(report.family)
                        .find(|r| r.k == summary.rung)
                        .with_context(|| format!("{} rung {}", report.family, summary.rung))?
                        .case
                };
                rungs.push(RungTruth {
                    seed: seed.seed,
                    family: report.family,
                    k: summary.rung,
                    toy_p_gt: summary.p_gt,
                    planted: planted_p_gt(
                        &case.directions,
                        &case.decoder,
                        &case.codes,
                        &case.labels,
                        &gt,
                        settings.background_residual,
                    )?,
                });
            }
        }
    }
    observer.phase("ladders: conditions");
    let total = plugins.metrics.len();
    let observer = Mutex::new(observer);
    let metrics = map_indexed(&plugins.metrics, jobs, |i, m| {
        if let Ok(mut o) = observer.lock() {
            o.unit(UnitKind::Metric, i, total, m.id());
        }
        let toy_report = check_supervised(m, &toy_bench, &mut |_| {}).report;
        let planted_report = check_supervised(m, &planted_bench, &mut |_| {}).report;
        LadderMetric {
            id: m.id().to_string(),
            verdicts: pair(&toy_report, &planted_report),
        }
    });
    Ok(LadderExperiment {
        conditions: LADDER_CONDITIONS.to_vec(),
        seeds: check.seeds.clone(),
        background_sae: BackgroundSae {
            architecture: settings.background_architecture.clone(),
            sparsity,
            d_sae: settings.background_d_sae,
            l0: quality.l0(),
            explained_variance: quality.explained_variance(),
        },
        rungs,
        metrics,
    })
}
