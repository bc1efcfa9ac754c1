//! `rdpbench game`: every loaded metric's gameability search
//! ([`rdpbench_core::game`]), metrics in parallel.

use crate::progress::{Progress, UnitKind};
use crate::work_queue::map_indexed;
use anyhow::Result;
use rdpbench_core::conditions::CheckSettings;
use rdpbench_core::conditions::check_toy;
use rdpbench_core::game::{GameSettings, Starts, play};
use rdpbench_core::toy::ToyConfig;
use rdpbench_plugin_host::PluginSet;
use rdpbench_schema::results::game::{GAME_SCHEMA_VERSION, GameRun};
use std::sync::Mutex;

/// Plays every metric of `plugins` on the check toy (`toy` plus the
/// families `check` appends), `jobs` metrics at a time. The output does not
/// depend on `jobs`.
pub fn run_game(
    plugins: &PluginSet,
    toy: &ToyConfig,
    check: &CheckSettings,
    settings: &GameSettings,
    jobs: usize,
    observer: &mut dyn Progress,
) -> Result<GameRun> {
    let toy = check_toy(toy, check);
    observer.phase("building the oracle starts");
    let starts = Starts::build(&toy, settings)?;
    observer.phase("game");
    let total = plugins.metrics.len();
    let observer = Mutex::new(observer);
    let metrics = map_indexed(&plugins.metrics, jobs, |i, m| {
        let spec = m.cached_spec().clone();
        {
            let mut o = observer.lock().unwrap_or_else(|p| p.into_inner());
            o.unit(UnitKind::Metric, i, total, &spec.id);
        }
        let g = play(m, &spec, spec.is_oracle(), &starts, settings);
        let mut o = observer.lock().unwrap_or_else(|p| p.into_inner());
        o.unit_finished(i, &spec.id, &g.verdict);
        g
    });
    Ok(GameRun {
        schema_version: GAME_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: crate::VERSION.into(),
        settings: settings.clone(),
        toy,
        metrics,
    })
}
