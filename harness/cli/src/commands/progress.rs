//! The one progress display of every command: an indicatif bar on stderr
//! (hidden when stderr is not a terminal) drawn from the runner's
//! [`Progress`] hooks, plus the few lines every command prints on stderr
//! whatever the terminal (a finished SAE folder reused, an error a stage goes
//! on after, `rdpbench real`'s stage start times).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdpbench_runner::progress::{Progress, UnitKind};
use std::time::Instant;

/// What the bar's position counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// The training steps of the current SAE, then the metrics scored
    /// (`train`, `validity`, `real`).
    Steps,
    /// The units themselves (`reproduce`: the SAEs trained); training steps
    /// are not shown.
    Units,
    /// `n` sub-units per metric (`check`: its conditions).
    Subunits(u64),
    /// Nothing: a spinner with the elapsed time and the message (`bench`).
    Spinner,
}

/// The progress display of a command.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
    counts: Counts,
    started: Instant,
    /// The current phase (`""` before the first).
    phase: String,
    /// `"{phase} [i/total] {label}"` of the current unit.
    unit: String,
    /// Print each phase's start time on stderr, after this command name.
    log_phases: Option<&'static str>,
    /// Print each metric unit's start on stderr (criterion's output
    /// interleaves with it).
    log_metrics: bool,
}

impl Bar {
    pub fn new(counts: Counts) -> Self {
        let template = match counts {
            Counts::Steps | Counts::Units => "{bar:30} {pos}/{len} {msg}",
            Counts::Subunits(_) => "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
            Counts::Spinner => "{spinner} {elapsed_precise} {msg}",
        };
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(template).expect("valid template");
        bar.set_style(match counts {
            Counts::Subunits(_) => style.progress_chars("=> "),
            _ => style,
        });
        Self {
            bar,
            counts,
            started: Instant::now(),
            phase: String::new(),
            unit: String::new(),
            log_phases: None,
            log_metrics: false,
        }
    }

    /// Also prints `"{command}: stage {name} starts at {t} s"` on stderr
    /// when a phase begins (the wall time per phase).
    pub fn log_phases(mut self, command: &'static str) -> Self {
        self.log_phases = Some(command);
        self
    }

    /// Also prints each metric unit's start on stderr.
    pub fn log_metrics(mut self) -> Self {
        self.log_metrics = true;
        self
    }

    /// Clears the bar (the lines printed stay).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn line(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }
}

impl Progress for Bar {
    fn phase(&mut self, name: &str) {
        self.phase = name.to_string();
        if let Some(command) = self.log_phases {
            let at = self.started.elapsed().as_secs_f64();
            self.line(&format!("{command}: stage {name} starts at {at:.1} s"));
        }
        self.bar.set_message(name.to_string());
    }

    fn unit(&mut self, kind: UnitKind, index: usize, total: usize, label: &str) {
        let tag = format!("[{}/{total}] {label}", index + 1);
        self.unit = if self.phase.is_empty() {
            tag
        } else {
            format!("{} {tag}", self.phase)
        };
        match (kind, self.counts) {
            (UnitKind::Metric, Counts::Subunits(n)) if index == 0 => {
                self.bar.set_length(total as u64 * n);
            }
            (UnitKind::Metric, Counts::Steps) | (_, Counts::Units) => {
                self.bar.set_length(total as u64);
                self.bar.set_position(index as u64);
            }
            (UnitKind::Train | UnitKind::Reuse, Counts::Steps) => self.bar.set_position(0),
            _ => {}
        }
        match kind {
            UnitKind::Metric if self.log_metrics => self.line(&self.unit),
            UnitKind::Reuse => self.line(&format!(
                "{}: finished folder found, not retrained",
                self.unit
            )),
            _ => {}
        }
        self.bar.set_message(self.unit.clone());
    }

    fn training_step(&mut self, step: u64, total_steps: u64, metrics_json: &str) {
        if self.counts != Counts::Steps {
            return;
        }
        self.bar.set_length(total_steps);
        self.bar.set_position(step);
        let v: serde_json::Value = serde_json::from_str(metrics_json).unwrap_or_default();
        let f = |k: &str| v.get(k).and_then(|x| x.as_f64());
        let mut msg = self.unit.clone();
        if let Some(loss) = f("loss") {
            msg.push_str(&format!(" loss {loss:.4}"));
        }
        if let Some(l0) = f("l0") {
            msg.push_str(&format!(" l0 {l0:.2}"));
        }
        if let Some(ev) = f("heldout_ev") {
            msg.push_str(&format!(
                " | held-out EV {ev:.4} MSE {:.2e} L0 {:.2}",
                f("heldout_mse").unwrap_or(f64::NAN),
                f("heldout_l0").unwrap_or(f64::NAN)
            ));
            tracing::info!("{} step {step}/{total_steps}: {metrics_json}", self.unit);
        }
        self.bar.set_message(msg);
    }

    fn subunit(&mut self, label: &str) {
        self.bar.set_message(label.to_string());
        if let Counts::Subunits(_) = self.counts {
            self.bar.inc(1);
        }
    }

    fn unit_finished(&mut self, _index: usize, label: &str, outcome: &str) {
        tracing::info!(
            "{label}: done, {outcome}, {:.1} s elapsed",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn error(&mut self, message: &str) {
        self.line(&format!("error: {message}"));
    }
}
