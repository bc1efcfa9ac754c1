//! The one progress observer every stage reports to, in the style of
//! criterion's reporters: an observer with a no-op default for every hook.
//!
//! A stage announces named phases ([`Progress::phase`]), then its units of
//! work one by one ([`Progress::unit`]: a metric, an SAE to train or one
//! found finished), the training steps of the current SAE
//! ([`Progress::training_step`]), the fixed sub-units of a unit
//! ([`Progress::subunit`]: check's conditions), what a unit came to
//! ([`Progress::unit_finished`]) and failures it survives
//! ([`Progress::error`]). Nothing a stage returns depends on its observer.

use rdpbench_sdk::TrainObserver;

/// What a unit announced by [`Progress::unit`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// A metric is checked, scored or timed.
    Metric,
    /// An SAE is trained; [`Progress::training_step`] reports follow.
    Train,
    /// An SAE's finished folder was found: it is reused, not retrained.
    Reuse,
}

/// What a long stage reports as it goes. Every hook has a no-op default; the
/// CLI draws progress bars from them. Stages that run units in parallel call
/// the hooks from several threads (one at a time), hence `Send`.
pub trait Progress: Send {
    /// A named phase of the stage begins (`"check"`, `"train"`, `"evaluate"`,
    /// `"building toy models and oracle ladders"`…).
    fn phase(&mut self, _name: &str) {}
    /// Unit `index` (0-based) of `total` of the current phase begins.
    fn unit(&mut self, _kind: UnitKind, _index: usize, _total: usize, _label: &str) {}
    /// One training step report of the current SAE: the plugin's JSON object
    /// (forwarded from its [`TrainObserver`], see [`TrainSteps`]).
    fn training_step(&mut self, _step: u64, _total_steps: u64, _metrics_json: &str) {}
    /// One of a fixed number of sub-units of a unit begins (check: a
    /// condition on a metric, `"{metric}: C3 …"`); parallel units interleave.
    fn subunit(&mut self, _label: &str) {}
    /// Unit `index` is done; `outcome` says what it came to (check: its
    /// number of failing verdicts).
    fn unit_finished(&mut self, _index: usize, _label: &str, _outcome: &str) {}
    /// A part failed and the stage goes on without it (bench: a size that
    /// could not be evaluated is not timed).
    fn error(&mut self, _message: &str) {}
}

/// The observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;
impl Progress for Silent {}

/// The plugin's training callback ([`TrainObserver`]) of a stage: forwards
/// each report to [`Progress::training_step`].
pub struct TrainSteps<'a>(pub &'a mut dyn Progress);

impl TrainObserver for TrainSteps<'_> {
    fn on_progress(&mut self, step: u64, total_steps: u64, metrics_json: &str) {
        self.0.training_step(step, total_steps, metrics_json);
    }
}

impl std::fmt::Debug for TrainSteps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrainSteps(..)")
    }
}
