//! `rdpbench check --replay CASE_FILE`: rerun one smallest failing case on
//! its metric and print the verdict.

use super::plugins::out;
use anyhow::{Context, Result, anyhow};
use rdpbench_core::conditions::Status;
use rdpbench_core::shrink::{CASE_VERSION, CaseFile, run_case};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_sdk::Metric;
use std::path::Path;
use std::sync::Arc;

/// Reads and validates a case file; errors name the file.
pub fn load(file: &Path) -> Result<CaseFile> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read case file {}", file.display()))?;
    let case: CaseFile = toml::from_str(&text)
        .with_context(|| format!("{} is not an rdpbench case file", file.display()))?;
    anyhow::ensure!(
        case.case_version == CASE_VERSION,
        "{}: case_version is {}, this rdpbench reads {CASE_VERSION}",
        file.display(),
        case.case_version
    );
    case.check
        .validate()
        .with_context(|| format!("{}: [check]", file.display()))?;
    case.toy
        .resolve()
        .with_context(|| format!("{}: [toy]", file.display()))?;
    Ok(case)
}

/// Replays `file`: exit 4 while the metric still fails the case, 0 when it
/// passes; says whether the reason is exactly the recorded one.
pub fn replay(config: &Config, file: &Path) -> Result<Exit> {
    let case = load(file).map_err(usage_error)?;
    let mut plugins = super::setup::discover(config);
    super::setup::end_on_hang(&plugins)?;
    plugins
        .select_metrics(std::slice::from_ref(&case.metric))
        .map_err(|e| usage_error(e.context(format!("{}: metric", file.display()))))?;
    let Some(metric) = plugins.metrics.first() else {
        return Err(usage_error(anyhow!(
            "{}: metric `{}` is not loaded (check [plugins].paths / RDPBENCH_PLUGIN_PATH)",
            file.display(),
            case.metric
        )));
    };
    let spec = metric.cached_spec().clone();
    let shared: Arc<dyn Metric> = Arc::new(metric.clone());
    let report = run_case(shared, &spec, &case.toy, &case.check).map_err(|e| {
        usage_error(e.context(format!("{}: cannot build the case", file.display())))
    })?;
    let summary = report
        .summary
        .iter()
        .find(|s| s.condition == case.condition && s.family == case.family)
        .with_context(|| {
            format!(
                "{}: the case produced no {} verdict",
                file.display(),
                case.condition
            )
        })?;
    let exact = summary.status == Status::Fail && summary.reason == case.reason;
    out(&format!(
        "{} {} on {}: {}: {}\n{}\n",
        case.metric,
        case.condition,
        case.size(),
        summary.status.as_str(),
        summary.reason,
        if exact {
            "reproduced exactly (same verdict and reason as recorded)"
        } else if summary.status == Status::Fail {
            "still fails, with a different reason than recorded"
        } else {
            "no longer fails"
        }
    ))?;
    Ok(if summary.status == Status::Fail {
        Exit::ConditionsFailed
    } else {
        Exit::Ok
    })
}
