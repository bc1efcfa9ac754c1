//! The set-up every metric-scoring command shares: plugin discovery with its
//! errors on stderr, the metric selection and the number of parallel jobs
//! (the progress bar: [`super::progress::Bar`]).

use super::plugins::{report_errors, search_of};
use anyhow::Result;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};

/// Discovers the plugins, prints their load errors, and keeps the metrics
/// `requested` names (empty: `[plugins].metrics`; that empty too: all).
/// Returns the set and the exit class of the load errors; an unknown id is
/// a usage error.
pub fn discover_metrics(config: &Config, requested: Vec<String>) -> Result<(PluginSet, Exit)> {
    let mut plugins = PluginSet::discover(&search_of(config));
    let exit = report_errors(&plugins);
    let ids = if requested.is_empty() {
        config.plugins.metrics.clone()
    } else {
        requested
    };
    plugins.select_metrics(&ids).map_err(usage_error)?;
    Ok((plugins, exit))
}

/// `--jobs`, else the number of CPUs.
pub fn jobs_or_cpus(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
