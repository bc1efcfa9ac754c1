//! The gate in front of one plugin library: calls into it are serialised,
//! the call in flight is known (who, since when, under which wall-clock
//! limit), and a call that overruns its limit blocks the library for good.
//!
//! A native call cannot be interrupted. A call that gives no answer within
//! its limit is *hung*: its thread is abandoned inside the plugin (still
//! holding the library), and the library is marked blocked with the hung
//! call as the named culprit. Every later call into that library fails at
//! once with an error naming the culprit, so a healthy sibling metric is
//! reported as blocked by it, never as hung itself. Whoever waits for the
//! library notices an overrun holder without help; a caller stuck inside a
//! plugin is noticed by a supervisor ([`crate::supervise`]) or the process
//! watchdog ([`crate::watchdog`]) through [`CallGate::overdue`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What kind of plugin entry point a call is; each kind has its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// Reading a declaration (`spec`).
    Spec,
    /// `Metric::compute`.
    MetricCompute,
    /// `SaeArchitecture::encode`.
    SaeEncode,
    /// `SaeArchitecture::train`: one call trains a whole SAE.
    SaeTrain,
}

/// Wall-clock limits of plugin calls; `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallLimits {
    /// Every call except training.
    pub call: Option<Duration>,
    /// One `SaeArchitecture::train` call.
    pub train: Option<Duration>,
}

impl CallLimits {
    /// Limits from seconds, where `0` (or less) means "no limit".
    pub fn from_secs(call: f64, train: f64) -> Self {
        let d = |s: f64| (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s));
        Self {
            call: d(call),
            train: d(train),
        }
    }

    pub fn of(&self, kind: CallKind) -> Option<Duration> {
        match kind {
            CallKind::SaeTrain => self.train,
            _ => self.call,
        }
    }
}

/// One call: which entry point, for which metric or SAE, and a label
/// naming it for people (e.g. "metric `x` compute").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    pub kind: CallKind,
    /// The metric or SAE index within the library (spec reads: the index read).
    pub index: u32,
    pub label: String,
}

/// The call in flight.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub site: CallSite,
    pub started: Instant,
    pub limit: Option<Duration>,
}

impl InFlight {
    /// Whether this call has run past its limit at `now`.
    pub fn overdue_at(&self, now: Instant) -> bool {
        self.limit
            .is_some_and(|l| now.saturating_duration_since(self.started) > l)
    }
}

/// A call that gave no answer within its limit: the culprit that blocks its
/// library.
#[derive(Debug, Clone, PartialEq)]
pub struct Hang {
    /// The hung call, e.g. "metric `hang-full` compute".
    pub culprit: String,
    pub kind: CallKind,
    /// The metric or SAE index of the culprit within its library.
    pub index: u32,
    /// The limit it overran, in seconds.
    pub limit_secs: f64,
    /// The library file.
    pub library: std::path::PathBuf,
}

impl std::fmt::Display for Hang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) gave no answer within {:.1} s (hang)",
            self.culprit,
            self.library.display(),
            self.limit_secs
        )
    }
}

/// The error of a call refused because its library is blocked by a hung call.
#[derive(Debug, Clone)]
pub struct Blocked(pub Hang);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not run: the library is blocked by {}; {} still holds it",
            self.0, self.0.culprit
        )
    }
}

impl std::error::Error for Blocked {}

#[derive(Debug, Default)]
struct State {
    in_flight: Option<InFlight>,
    blocked: Option<Hang>,
}

/// The gate of one library (see the module documentation).
#[derive(Debug)]
pub struct CallGate {
    library: std::path::PathBuf,
    state: Mutex<State>,
    freed: Condvar,
    /// Limits in microseconds; 0 = none.
    call_limit_us: AtomicU64,
    train_limit_us: AtomicU64,
}

/// Holding a [`Pass`] is holding the library; dropping it lets the next call in.
#[derive(Debug)]
pub struct Pass<'a> {
    gate: &'a CallGate,
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.gate.lock_state().in_flight = None;
        self.gate.freed.notify_all();
    }
}

fn to_us(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| {
        u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
    })
}

fn from_us(us: u64) -> Option<Duration> {
    (us > 0).then(|| Duration::from_micros(us))
}

/// How long a waiter sleeps at most before looking at the holder again.
const WAIT_SLICE: Duration = Duration::from_millis(100);

impl CallGate {
    pub fn new(library: &std::path::Path) -> Self {
        Self {
            library: library.to_path_buf(),
            state: Mutex::new(State::default()),
            freed: Condvar::new(),
            call_limit_us: AtomicU64::new(0),
            train_limit_us: AtomicU64::new(0),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_limits(&self, limits: CallLimits) {
        self.call_limit_us
            .store(to_us(limits.call), Ordering::SeqCst);
        self.train_limit_us
            .store(to_us(limits.train), Ordering::SeqCst);
    }

    pub fn limits(&self) -> CallLimits {
        CallLimits {
            call: from_us(self.call_limit_us.load(Ordering::SeqCst)),
            train: from_us(self.train_limit_us.load(Ordering::SeqCst)),
        }
    }

    fn hang_of(&self, call: &InFlight) -> Hang {
        Hang {
            culprit: call.site.label.clone(),
            kind: call.site.kind,
            index: call.site.index,
            limit_secs: call.limit.map_or(0.0, |l| l.as_secs_f64()),
            library: self.library.clone(),
        }
    }

    /// Waits for the library and enters it with `site`, or fails at once
    /// (and for good) when the library is blocked by a hung call. A holder
    /// that overruns its limit while this call waits blocks the library.
    pub fn enter(&self, site: CallSite) -> Result<Pass<'_>, Blocked> {
        let limit = self.limits().of(site.kind);
        let mut state = self.lock_state();
        loop {
            if let Some(h) = &state.blocked {
                return Err(Blocked(h.clone()));
            }
            match &state.in_flight {
                None => {
                    state.in_flight = Some(InFlight {
                        site,
                        started: Instant::now(),
                        limit,
                    });
                    return Ok(Pass { gate: self });
                }
                Some(holder) => {
                    let now = Instant::now();
                    if holder.overdue_at(now) {
                        let hang = self.hang_of(holder);
                        state.blocked = Some(hang.clone());
                        self.freed.notify_all();
                        return Err(Blocked(hang));
                    }
                    let wait = holder
                        .limit
                        .map(|l| (holder.started + l).saturating_duration_since(now))
                        .map_or(WAIT_SLICE, |d| d.min(WAIT_SLICE) + Duration::from_millis(1));
                    state = self
                        .freed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }

    /// The call in flight, if any.
    pub fn in_flight(&self) -> Option<InFlight> {
        self.lock_state().in_flight.clone()
    }

    /// The call in flight if it has overrun its limit. Does not block the
    /// library: see [`CallGate::block`].
    pub fn overdue(&self) -> Option<Hang> {
        let state = self.lock_state();
        let call = state.in_flight.as_ref()?;
        call.overdue_at(Instant::now()).then(|| self.hang_of(call))
    }

    /// The call in flight as a culprit, overdue or not (a caller that gave
    /// up on it, e.g. C10's own edge-case timeout, abandoned it).
    pub fn abandoned(&self) -> Option<Hang> {
        let state = self.lock_state();
        state.in_flight.as_ref().map(|call| self.hang_of(call))
    }

    /// Blocks the library for good with `hang` as the culprit (the first
    /// culprit stays).
    pub fn block(&self, hang: Hang) {
        let mut state = self.lock_state();
        state.blocked.get_or_insert(hang);
        self.freed.notify_all();
    }

    /// The hung call that blocks this library, if any.
    pub fn blocked(&self) -> Option<Hang> {
        self.lock_state().blocked.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn site(index: u32) -> CallSite {
        CallSite {
            kind: CallKind::MetricCompute,
            index,
            label: format!("metric `m{index}` compute"),
        }
    }

    #[test]
    fn limits_from_seconds_treat_zero_and_nan_as_none() {
        let l = CallLimits::from_secs(2.5, 0.0);
        assert_eq!(l.call, Some(Duration::from_millis(2500)));
        assert_eq!(l.train, None);
        assert_eq!(l.of(CallKind::SaeTrain), None);
        assert_eq!(l.of(CallKind::SaeEncode), Some(Duration::from_millis(2500)));
        assert_eq!(CallLimits::from_secs(f64::NAN, -1.0), CallLimits::default());
    }

    #[test]
    fn calls_are_serialised_and_the_next_waiter_gets_in() {
        let gate = Arc::new(CallGate::new(Path::new("lib.so")));
        let pass = gate.enter(site(0)).unwrap();
        assert_eq!(gate.in_flight().unwrap().site, site(0));
        let g = gate.clone();
        let waiter =
            std::thread::spawn(move || g.enter(site(1)).map(|_| ()).map_err(|e| e.to_string()));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "the second call waits for the first");
        drop(pass);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert!(gate.in_flight().is_none());
        assert!(gate.blocked().is_none());
    }

    #[test]
    fn a_waiter_blocks_the_library_when_the_holder_overruns_and_names_it() {
        let gate = Arc::new(CallGate::new(Path::new("lib.so")));
        gate.set_limits(CallLimits::from_secs(0.2, 0.0));
        let started = Instant::now();
        let _held_forever = gate.enter(site(0)).unwrap();
        let err = gate.enter(site(1)).unwrap_err();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        assert_eq!(err.0.culprit, "metric `m0` compute");
        assert_eq!(err.0.index, 0);
        assert!(
            err.to_string().contains("blocked by metric `m0` compute"),
            "{err}"
        );
        assert!(err.to_string().contains("within 0.2 s (hang)"), "{err}");
        // Blocked for good: the next call fails at once.
        let t = Instant::now();
        assert!(gate.enter(site(1)).is_err());
        assert!(t.elapsed() < Duration::from_millis(50));
        assert_eq!(gate.overdue().unwrap().culprit, "metric `m0` compute");
    }

    #[test]
    fn without_a_limit_nothing_is_ever_overdue() {
        let gate = CallGate::new(Path::new("lib.so"));
        let _p = gate.enter(site(3)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(gate.overdue().is_none());
        assert_eq!(gate.abandoned().unwrap().index, 3);
    }
}
