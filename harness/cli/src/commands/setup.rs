//! The set-up every metric-scoring command shares: plugin discovery with its
//! errors on stderr, the metric selection and the number of parallel jobs
//! (the progress bar: [`super::progress::Bar`]).

use super::plugins::{report_errors, search_of};
use anyhow::Result;
use rdpbench_plugin_host::PluginSet;
use rdpbench_plugin_host::call_gate::CallLimits;
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};

/// The wall-clock limits of plugin calls that `[plugins]` sets.
pub fn call_limits(config: &Config) -> CallLimits {
    CallLimits::from_secs(
        config.plugins.call_timeout_secs,
        config.plugins.train_timeout_secs,
    )
}

/// Every plugin the config names, with its call limits set.
pub fn discover(config: &Config) -> PluginSet {
    PluginSet::discover_limited(&search_of(config), call_limits(config))
}

/// Starts the process watchdog for a stage that calls `plugins` directly:
/// a call that overruns its limit ends the process with exit 3 and a
/// message naming the call, its library and the limit. Files already
/// written stay (every write is atomic).
pub fn end_on_hang(plugins: &PluginSet) -> Result<()> {
    rdpbench_plugin_host::watchdog::spawn(plugins.libraries.clone(), |hang| {
        eprintln!(
            "error: {hang}: the stage cannot go on without its answer and ends here \
             (raise [plugins].call_timeout_secs or train_timeout_secs if the call is just slow; \
             files already written are kept)"
        );
        std::process::exit(i32::from(Exit::Plugin.code()));
    })?;
    Ok(())
}

/// Discovers the plugins, prints their load errors, and keeps the metrics
/// `requested` names (empty: `[plugins].metrics`; that empty too: all).
/// Returns the set and the exit class of the load errors; an unknown id is
/// a usage error.
pub fn discover_metrics(config: &Config, requested: Vec<String>) -> Result<(PluginSet, Exit)> {
    let mut plugins = discover(config);
    end_on_hang(&plugins)?;
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
