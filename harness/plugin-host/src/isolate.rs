//! Process isolation for `rdpbench check --isolate`: each metric is checked
//! in a child process (this same executable, hidden subcommand
//! `__check-worker`), so a plugin that segfaults, aborts or exhausts memory
//! takes down only its own worker. The parent turns a dead worker into
//! [`Status::Error`](rdpbench_core::conditions::Status::Error) verdicts that
//! name the signal and the condition that was running, and the run goes on.
//!
//! Protocol (one job per process):
//! - parent → child, stdin: one JSON [`WorkerJob`];
//! - child → parent, stdout: JSON lines, [`WorkerEvent::Condition`] as each
//!   condition starts, then one [`WorkerEvent::Done`] with the report;
//! - child stderr is captured; its tail goes into the error reason.
//!
//! The child rebuilds the same workbench from the same toy configuration and
//! settings (every draw is seeded), so an isolated check gives the same
//! verdicts as an in-process one.

use crate::PluginSet;
use anyhow::{Context, Result, bail};
use rdpbench_core::conditions::{
    CheckSettings, ConditionId, MetricReport, Workbench, check_metric, error_report,
};
use rdpbench_core::toy::ToyConfig;
use rdpbench_sdk::{Metric, MetricSpec};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The name of the hidden subcommand that runs one [`WorkerJob`].
pub const WORKER_SUBCOMMAND: &str = "__check-worker";

/// How much of a dead worker's stderr goes into the error reason.
const STDERR_TAIL_BYTES: usize = 2000;

/// One metric to check, sent to a worker on its stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub library: PathBuf,
    pub metric: String,
    pub toy: ToyConfig,
    pub settings: CheckSettings,
}

/// One line of a worker's stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// A condition starts.
    Condition { condition: ConditionId },
    /// The metric is checked.
    Done { report: Box<MetricReport> },
}

/// The worker side: reads one job from `input`, checks the metric, writes
/// events to `output`. Errors (a library that no longer loads, an unknown
/// metric id) are returned; the parent reports them with the worker's stderr.
pub fn run_worker(input: impl Read, mut output: impl Write) -> Result<()> {
    let job: WorkerJob =
        serde_json::from_reader(input).context("reading the worker job from stdin")?;
    let mut plugins = PluginSet::default();
    plugins.load_file(&job.library);
    if let Some(e) = plugins.errors.first() {
        bail!("{}: {}", e.path.display(), e.message);
    }
    let metric = plugins.metric(&job.metric).with_context(|| {
        format!(
            "{} no longer exports metric `{}`",
            job.library.display(),
            job.metric
        )
    })?;
    let spec = metric.cached_spec().clone();
    let bench = Workbench::build(&job.toy, &job.settings)?;
    let shared: Arc<dyn Metric> = Arc::new(metric.clone());
    let mut write_error = None;
    let emit = |event: &WorkerEvent, output: &mut dyn Write| -> std::io::Result<()> {
        serde_json::to_writer(&mut *output, event)?;
        output.write_all(b"\n")?;
        output.flush()
    };
    let report = check_metric(shared, &spec, &bench, &mut |condition| {
        if let Err(e) = emit(&WorkerEvent::Condition { condition }, &mut output) {
            write_error.get_or_insert(e);
        }
    });
    if let Some(e) = write_error {
        return Err(e).context("writing progress to the parent");
    }
    emit(
        &WorkerEvent::Done {
            report: Box::new(report),
        },
        &mut output,
    )
    .context("writing the report to the parent")
}

/// The parent side: checks metric `spec` of `library` in a child process of
/// `exe`, telling `progress` each condition as it starts. Never fails: a
/// worker that cannot start, dies, or answers garbage yields an error report.
pub fn check_in_worker(
    exe: &Path,
    library: &Path,
    spec: &MetricSpec,
    toy: &ToyConfig,
    settings: &CheckSettings,
    progress: &mut dyn FnMut(ConditionId),
) -> MetricReport {
    match spawn_and_wait(exe, library, spec, toy, settings, progress) {
        Ok(report) => report,
        Err(reason) => error_report(spec, settings, &reason),
    }
}

fn spawn_and_wait(
    exe: &Path,
    library: &Path,
    spec: &MetricSpec,
    toy: &ToyConfig,
    settings: &CheckSettings,
    progress: &mut dyn FnMut(ConditionId),
) -> std::result::Result<MetricReport, String> {
    let job = WorkerJob {
        library: library.to_path_buf(),
        metric: spec.id.clone(),
        toy: toy.clone(),
        settings: settings.clone(),
    };
    let mut child = Command::new(exe)
        .arg(WORKER_SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start a worker process ({}): {e}", exe.display()))?;
    // The job is small; write it and close stdin so the worker sees EOF.
    let sent = child
        .stdin
        .take()
        .map(|mut stdin| serde_json::to_writer(&mut stdin, &job))
        .transpose();
    // Drain stderr on a thread so a chatty worker cannot block on a full pipe.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = e.read_to_end(&mut text);
            text
        })
    });
    let mut report = None;
    let mut running = None;
    let mut garbage = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<WorkerEvent>(&line) {
                Ok(WorkerEvent::Condition { condition }) => {
                    running = Some(condition);
                    progress(condition);
                }
                Ok(WorkerEvent::Done { report: r }) => report = Some(*r),
                Err(e) => {
                    garbage.get_or_insert(format!("unreadable worker output ({e}): {line}"));
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the worker: {e}"))?;
    let stderr = stderr
        .and_then(|h| h.join().ok())
        .map(|b| tail(&String::from_utf8_lossy(&b), STDERR_TAIL_BYTES))
        .unwrap_or_default();
    if let Err(e) = sent {
        return Err(format!("could not send the job to the worker: {e}"));
    }
    match report {
        Some(report) if status.success() => Ok(report),
        _ => {
            let during = running
                .map(|c| format!(" during {c} ({})", c.name()))
                .unwrap_or_default();
            let mut reason = format!(
                "the metric's isolated worker process {}{during}",
                describe_exit(status)
            );
            if let Some(g) = garbage {
                reason.push_str(&format!("; {g}"));
            }
            if !stderr.trim().is_empty() {
                reason.push_str(&format!("; its stderr ends with: {}", stderr.trim()));
            }
            Err(reason)
        }
    }
}

/// The last `max` bytes of `s`, cut at a character boundary.
fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

/// "died of signal 11 (SIGSEGV)", "exited with status 3", …
fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("died of signal {sig} ({})", signal_name(sig));
        }
    }
    match status.code() {
        Some(0) => "exited without a report".to_string(),
        Some(code) => format!("exited with status {code}"),
        None => format!("ended abnormally ({status})"),
    }
}

#[cfg(unix)]
fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL, e.g. the out-of-memory killer",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_and_respects_char_boundaries() {
        assert_eq!(tail("short", 10), "short");
        assert_eq!(tail("abcdef", 3), "…def");
        // 'é' is two bytes: a cut inside it moves forward to the boundary.
        assert_eq!(tail("aéb", 2), "…b");
    }

    #[test]
    fn events_round_trip_as_tagged_json_lines() {
        let line = serde_json::to_string(&WorkerEvent::Condition {
            condition: ConditionId::C3,
        })
        .unwrap();
        assert!(line.contains("\"event\":\"condition\""), "{line}");
        match serde_json::from_str::<WorkerEvent>(&line).unwrap() {
            WorkerEvent::Condition { condition } => assert_eq!(condition, ConditionId::C3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_worker_that_cannot_start_gives_error_verdicts_for_every_selected_condition() {
        let spec = MetricSpec {
            id: "m".into(),
            version: "1".into(),
            description: String::new(),
            citation: String::new(),
            orientation: rdpbench_sdk::Orientation::HigherIsMorePolysemantic,
            inputs: vec![rdpbench_sdk::Input::Codes],
            examples: vec![],
        };
        let settings = CheckSettings {
            conditions: vec!["C3".into(), "C10".into()],
            ..CheckSettings::default()
        };
        let report = check_in_worker(
            Path::new("/nonexistent/rdpbench-worker"),
            Path::new("/nonexistent/lib.so"),
            &spec,
            &ToyConfig::default(),
            &settings,
            &mut |_| {},
        );
        let conditions: Vec<_> = report.verdicts.iter().map(|v| v.condition).collect();
        assert_eq!(conditions, vec![ConditionId::C3, ConditionId::C10]);
        for v in &report.verdicts {
            assert_eq!(v.status, rdpbench_core::conditions::Status::Error);
            assert!(
                v.reason.contains("could not start a worker"),
                "{}",
                v.reason
            );
        }
    }
}
