//! Known features planted into real activations (issue #22): does toy
//! validity transfer to a real distribution?
//!
//! The planting itself lives in [`rdpbench_core::planted`]; this module runs
//! the three experiments of `rdpbench planted` ([`compute_planted`]):
//! 1. **R2 on a real background** ([`r2`]): TopK SAEs at a fixed `k`
//!    trained on planted data at several co-occurrence levels; the slope
//!    of `P_gt^planted` on `q` with a bootstrap interval.
//! 2. **Validity transfer** ([`transfer`]): the `[validity]` population
//!    trained on planted data; per metric, Spearman ρ with `P_gt^planted`
//!    beside its toy ρ, and a verdict.
//! 3. **Ladders** ([`ladders`]): C1, C2 and C8 on the check toy's oracle
//!    ladders planted on the background under its own fixed code, beside
//!    the toy verdicts.
//!
//! The background ([`data`]) is an activation cache (`--cache`) or a
//! synthetic heavy-tailed draw (no download; what the tests use).
//! SAEs are saved under the sweep folder (`planted-saes/`) and reused on a
//! rerun with the same job and background.

pub mod data;
pub mod ladders;
pub mod population;
pub mod r2;
pub mod transfer;

pub use data::{Background, BackgroundSource, PlantedSource};
pub use rdpbench_schema::results::planted::{
    LadderExperiment, MetricTransfer, PLANTED_FILE, PLANTED_SCHEMA_VERSION, PlantedRun,
    PlantedSaeRow, R2Result, TransferVerdict, Trend,
};
pub use rdpbench_schema::settings::PlantedSettings;

use crate::progress::{Progress, UnitKind};
use crate::validity::{ValidityRun, compute_validity};
use crate::work_queue::map_indexed;
use anyhow::{Context, Result};
use rdpbench_core::planted::Planting;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::usage_error;
use rdpbench_schema::settings::ValiditySettings;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A finished run and how many SAEs it trained (the rest were reused); the
/// counts are not part of `planted.json`, which is identical on a rerun.
#[derive(Debug, Clone)]
pub struct PlantedOutcome {
    pub run: PlantedRun,
    pub trained: usize,
    pub reused: usize,
}

/// The R2 population: `[planted].r2_*` over `[validity].toy`.
fn r2_validity(validity: &ValiditySettings, s: &PlantedSettings) -> ValiditySettings {
    ValiditySettings {
        architectures: vec![s.r2_architecture.clone()],
        sparsity: [(s.r2_architecture.clone(), vec![s.r2_sparsity])].into(),
        q_factors: s.r2_q_factors.clone(),
        seeds: s.r2_seeds.clone(),
        ..validity.clone()
    }
}

/// The three experiments (module docs) into `sweep_dir`. `toy_validity`:
/// a stored `validity.json` to take the toy ρ from; used only when its
/// `[validity]` settings equal `config.validity`, else the toy population
/// is trained (or reused) under `sweep_dir/toy-validity` and scored here.
pub fn compute_planted(
    config: &Config,
    plugins: &PluginSet,
    source: &BackgroundSource<'_>,
    toy_validity: Option<ValidityRun>,
    sweep_dir: &Path,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<PlantedOutcome> {
    let settings = &config.planted;
    settings.validate().map_err(usage_error)?;
    config.validity.validate().map_err(usage_error)?;
    for arch in [&settings.r2_architecture, &settings.background_architecture]
        .into_iter()
        .chain(&config.validity.architectures)
    {
        plugins
            .sae(arch)
            .context("[planted] / [validity] architectures")?;
    }
    observer.phase("planted: background");
    let background = Background::load(source, settings, &config.real)?;
    let plantings: Mutex<BTreeMap<usize, Planting>> = Mutex::new(BTreeMap::new());
    let planting_of = |m: usize| -> Result<Planting> {
        let mut cache = plantings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(&m) {
            return Ok(p.clone());
        }
        let p = background.planting(m, settings.subspace, settings)?;
        cache.insert(m, p.clone());
        Ok(p)
    };
    let population_planting = planting_of(config.validity.toy.d)?;

    observer.phase("planted: R2");
    let r2_jobs =
        population::planted_jobs(&r2_validity(&config.validity, settings), settings, plugins)
            .map_err(|e| usage_error(e.context("[planted].r2_*")))?;
    let r2_saes = population::train_and_evaluate(
        plugins,
        &r2_jobs,
        &background,
        &population_planting,
        settings,
        &sweep_dir.join("r2"),
        observer,
    )?;
    let r2_rows: Vec<PlantedSaeRow> = r2_saes.iter().map(|s| s.row.clone()).collect();
    let (slope, mean_by_q, trend) = r2::slope(
        &r2_rows,
        &settings.r2_q_factors,
        settings.bootstrap_resamples,
        settings.confidence,
        settings.seed,
    );
    let r2 = R2Result {
        architecture: settings.r2_architecture.clone(),
        sparsity: r2_jobs
            .first()
            .map(|j| j.job.sparsity.clone())
            .context("[planted].r2_*: no R2 job")?,
        rows: r2_rows,
        slope,
        mean_by_q,
        trend,
    };

    observer.phase("planted: validity-transfer population");
    let pop_jobs = population::planted_jobs(&config.validity, settings, plugins)
        .map_err(|e| usage_error(e.context("[validity]")))?;
    let pop = population::train_and_evaluate(
        plugins,
        &pop_jobs,
        &background,
        &population_planting,
        settings,
        &sweep_dir.join("transfer"),
        observer,
    )?;
    let (toy_validity, toy_validity_source) = match toy_validity {
        Some(v) if v.settings == config.validity => (v, "validity.json".to_string()),
        _ => {
            observer.phase("planted: toy validity population");
            let v = compute_validity(
                config,
                plugins,
                &sweep_dir.join("toy-validity"),
                jobs,
                observer,
            )?;
            (v, "computed (planted-saes/toy-validity)".to_string())
        }
    };
    observer.phase("planted: metrics");
    let rows: Vec<PlantedSaeRow> = pop.iter().map(|s| s.row.clone()).collect();
    let cases: Vec<_> = pop.iter().map(|s| s.case.clone()).collect();
    let total = plugins.metrics.len();
    let transfer = {
        let guarded = Mutex::new(&mut *observer);
        map_indexed(&plugins.metrics, jobs, |i, m| {
            if let Ok(mut o) = guarded.lock() {
                o.unit(UnitKind::Metric, i, total, m.id());
            }
            transfer::transfer(m, &cases, &rows, Some(&toy_validity), settings)
        })
    };

    let ladders = ladders::ladder_experiment(
        plugins,
        &config.toy,
        &config.check,
        &background,
        &planting_of,
        settings,
        &sweep_dir.join("ladders"),
        jobs,
        observer,
    )?;
    let trained = r2_saes.iter().chain(&pop).filter(|s| s.trained).count();
    let plantings = plantings
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(data::planting_info)
        .collect();
    Ok(PlantedOutcome {
        run: PlantedRun {
            schema_version: PLANTED_SCHEMA_VERSION,
            tool: "rdpbench".into(),
            tool_version: crate::VERSION.into(),
            settings: settings.clone(),
            background: background.info.clone(),
            plantings,
            plugins: plugins.records(),
            plugin_errors: plugins.errors.clone(),
            r2,
            population: rows,
            transfer,
            toy_validity_source,
            ladders,
        },
        trained,
        reused: r2_saes.len() + pop.len() - trained,
    })
}
