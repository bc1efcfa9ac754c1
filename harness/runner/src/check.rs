//! `rdpbench check`: every loaded metric through every condition, over
//! several seeds, into a [`CheckRun`].

use crate::progress::{Progress, UnitKind};
use crate::work_queue::map_indexed;
use anyhow::Result;
use rdpbench_core::conditions::{CheckSettings, ConditionId, Status, Workbench, check_metric};
use rdpbench_core::shrink::{Budget, failing_verdict, shrink};
use rdpbench_core::toy::ToyConfig;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::results::check::{
    CheckRun, MetricResult, MinimalCase, SCHEMA_VERSION, SeedLadders,
};
use rdpbench_sdk::Metric;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Shrinks every condition `result` failed (not the structurally blind
/// ones: those are properties of the metric's inputs) to its smallest
/// failing case.
fn minimal_cases(
    metric: &rdpbench_plugin_host::LoadedMetric,
    result: &MetricResult,
    toy: &ToyConfig,
    settings: &CheckSettings,
) -> Vec<MinimalCase> {
    let budget = Budget {
        trials: settings.shrink_trials,
        time: std::time::Duration::from_secs_f64(settings.shrink_seconds),
    };
    let spec = &result.report.spec;
    result
        .report
        .summary
        .iter()
        .filter(|s| s.status == Status::Fail && !s.structurally_blind)
        .filter_map(|s| {
            let original = failing_verdict(&result.report, s.condition, s.family)?;
            let shared: Arc<dyn Metric> = Arc::new(metric.clone());
            let shrunk = shrink(shared, spec, toy, settings, original, budget)?;
            Some(MinimalCase {
                file: format!(
                    "{}/{}",
                    rdpbench_store::ResultDir::CheckCases.path(),
                    MinimalCase::file_name(&spec.id, &shrunk.case)
                ),
                trials: shrunk.trials,
                timed_out: shrunk.timed_out,
                case: shrunk.case,
            })
        })
        .collect()
}

/// Where each metric's conditions run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Isolation {
    /// In this process (fast; a plugin that segfaults or aborts ends the run).
    #[default]
    InProcess,
    /// One child process of `exe` per metric (see [`rdpbench_plugin_host::isolate`]): a
    /// crashing plugin costs only its own verdicts.
    Process { exe: PathBuf },
}

/// Runs the conditions on every metric of `plugins`, `jobs` metrics at a time. Plugin load errors are
/// carried into the results; a metric that errors or panics gets error
/// verdicts and the run goes on.
pub fn run_check(
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<CheckRun> {
    run_check_with(
        plugins,
        toy,
        settings,
        jobs,
        &Isolation::InProcess,
        observer,
    )
}

/// [`run_check`] with a choice of [`Isolation`].
pub fn run_check_with(
    plugins: &PluginSet,
    toy: &ToyConfig,
    settings: &CheckSettings,
    jobs: usize,
    isolation: &Isolation,
    observer: &mut dyn Progress,
) -> Result<CheckRun> {
    observer.phase("building toy models and oracle ladders");
    let bench = Workbench::build(toy, settings)?;
    observer.phase("check");
    let total = plugins.metrics.len();
    // Metrics are independent: see `map_indexed` (output independent of scheduling).
    let observer = Mutex::new(observer);
    let notify = |f: &mut dyn FnMut(&mut dyn Progress)| {
        let mut guard = observer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut **guard);
    };
    let metrics = map_indexed(&plugins.metrics, jobs, |i, m| {
        let spec = m.cached_spec().clone();
        notify(&mut |o| o.unit(UnitKind::Metric, i, total, &spec.id));
        let mut progress = |c: ConditionId| {
            let label = format!("{}: {c} {}", spec.id, c.name());
            notify(&mut |o| o.subunit(&label))
        };
        let report = match isolation {
            Isolation::InProcess => {
                let shared: Arc<dyn Metric> = Arc::new(m.clone());
                check_metric(shared, &spec, &bench, &mut progress)
            }
            Isolation::Process { exe } => rdpbench_plugin_host::isolate::check_in_worker(
                exe,
                m.library().path(),
                &spec,
                toy,
                settings,
                &mut progress,
            ),
        };
        let failures = report
            .verdicts
            .iter()
            .filter(|v| v.status.is_failure())
            .count();
        let outcome = format!("{failures} failing verdict(s)");
        notify(&mut |o| o.unit_finished(i, &spec.id, &outcome));
        MetricResult {
            library: m.library().path().to_path_buf(),
            sha256: m.library().sha256().to_string(),
            oracle: spec.is_oracle(),
            report,
            minimal_cases: Vec::new(),
        }
    });
    // Shrinking runs the metric in this process, so only where the
    // conditions did (an isolated metric may crash the host).
    let mut metrics = metrics;
    if settings.shrink_trials > 0 && *isolation == Isolation::InProcess {
        observer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .phase("shrinking failed conditions to their smallest failing cases");
        let cases = map_indexed(&plugins.metrics, jobs, |i, m| {
            minimal_cases(m, &metrics[i], &bench.toy, settings)
        });
        for (result, cases) in metrics.iter_mut().zip(cases) {
            result.minimal_cases = cases;
        }
    }
    Ok(CheckRun {
        schema_version: SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: crate::VERSION.into(),
        settings: settings.clone(),
        // The check toy actually used (with any appended parent/child families).
        toy: bench.toy.clone(),
        plugins: plugins.records(),
        plugin_errors: plugins.errors.clone(),
        ground_truth: bench
            .seeds
            .iter()
            .map(|s| SeedLadders {
                seed: s.seed,
                ladders: s.ladder_reports.clone(),
            })
            .collect(),
        metrics,
    })
}
