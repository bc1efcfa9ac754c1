//! C10, defined everywhere: on the edge cases (all latents dead; one latent;
//! a latent with one constant positive value on every sample; `N = 1`;
//! `N = 3`) the metric returns a finite value or an explicit "undefined",
//! never NaN, Inf, an error, a panic or a hang.
//!
//! Each edge case runs on its own thread with a timeout. A metric that hangs
//! is reported and abandoned: its thread is left behind (and, for a plugin,
//! the library's call lock with it), and the driver skips its remaining
//! conditions. Only an isolating child process could reclaim it.

use super::Ctx;
use super::verdict::{Comparison, ConditionId, Status, Verdict};
use crate::eval::{Score, applicable, evaluate};
use std::sync::mpsc;
use std::time::Duration;

/// Returns the verdict and whether the metric hung.
pub fn check(ctx: &Ctx<'_>) -> (Verdict, bool) {
    let mut v = Verdict::new(ConditionId::C10, None, None);
    let timeout = Duration::from_secs_f64(ctx.settings.timeout_secs);
    let mut failure: Option<String> = None;
    let mut tried = 0;
    for edge in &ctx.bench.edge_cases {
        if !applicable(ctx.spec, &edge.case) {
            continue;
        }
        tried += 1;
        let (tx, rx) = mpsc::channel();
        let metric = ctx.shared.clone();
        let spec = ctx.spec.clone();
        let case = edge.case.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("c10-{}", spec.id))
            .spawn(move || {
                let _ = tx.send(evaluate(&*metric, &spec, &case));
            });
        if let Err(e) = spawned {
            return (
                v.with(Status::Error, format!("C10: cannot start a thread: {e}")),
                false,
            );
        }
        let outcome = match rx.recv_timeout(timeout) {
            Ok(Ok(Score::Value { value })) => {
                v.evidence.push(Comparison {
                    label: format!("{}: value", edge.name),
                    lhs: Some(value),
                    ..Comparison::default()
                });
                None
            }
            Ok(Ok(Score::Undefined { reason })) => {
                v.evidence.push(Comparison {
                    label: format!("{}: undefined ({reason})", edge.name),
                    ..Comparison::default()
                });
                None
            }
            Ok(Err(e)) => Some(format!("C10 failed on \"{}\": {e:#}", edge.name)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(format!(
                "C10 failed on \"{}\": the metric panicked",
                edge.name
            )),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let reason = format!(
                    "C10 failed on \"{}\": no answer within {:.1} s (hang); remaining conditions skipped",
                    edge.name, ctx.settings.timeout_secs
                );
                return (v.with(Status::Fail, reason), true);
            }
        };
        if let Some(reason) = outcome {
            failure.get_or_insert(reason);
        }
    }
    let v = match (tried, failure) {
        (0, _) => v.with(Status::NotApplicable, "no edge case the metric applies to"),
        (_, Some(r)) => v.with(Status::Fail, r),
        (n, None) => v.with(
            Status::Pass,
            format!("finite or explicitly undefined on all {n} edge cases"),
        ),
    };
    (v, false)
}
