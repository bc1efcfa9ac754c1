//! The process watchdog for stages that call plugins directly (train, bench,
//! real, validity, reproduce): a thread that looks at every library's call
//! gate and, when a call overruns its limit, blocks that library and hands
//! the [`Hang`] to `on_hang` once. Such a stage cannot go on without the
//! call's answer, so the command's `on_hang` reports the culprit and ends
//! the process (files already written stay: every write is atomic).

use crate::PluginLibrary;
use crate::call_gate::Hang;
use std::sync::Arc;
use std::time::Duration;

/// How often the watchdog looks at the gates.
const POLL: Duration = Duration::from_millis(50);

/// Starts the watchdog over `libraries` (it runs until the process ends).
pub fn spawn(
    libraries: Vec<Arc<PluginLibrary>>,
    on_hang: impl FnOnce(&Hang) + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rdpbench-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(POLL);
                if let Some(hang) = libraries.iter().find_map(|l| l.gate().overdue()) {
                    for l in &libraries {
                        if l.path() == hang.library {
                            l.gate().block(hang.clone());
                        }
                    }
                    on_hang(&hang);
                    return;
                }
            }
        })
        .map(|_| ())
}
