//! Process isolation for `rdpbench check --isolate`: each metric is checked
//! in a child process (this same executable, hidden subcommand
//! `__check-worker`), so a plugin that segfaults, aborts or exhausts memory
//! takes down only its own worker. The parent turns a dead worker into
//! [`Status::Error`](rdpbench_core::conditions::Status::Error) verdicts that
//! name the signal and the condition that was running, and the run goes on.
//!
//! Protocol (one job per process):
//! - parent → child, stdin: one line of JSON [`WorkerJob`]; the parent then
//!   keeps stdin open until the worker ends. The worker exits when stdin
//!   closes (its parent died: the pipe watchdog), and on Linux it also asks
//!   the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`);
//! - child → parent, stdout: JSON lines, [`WorkerEvent::Condition`] as each
//!   condition starts, [`WorkerEvent::Alive`] every second, then one
//!   [`WorkerEvent::Done`] with the report;
//! - child stderr is captured; its tail goes into the error reason.
//!
//! Hangs: the worker checks its metric under the same supervisor as an
//! in-process run ([`crate::supervise`]), so a call that overruns
//! `call_timeout_secs` ends in a hang verdict and the worker exits (its
//! stuck thread with it). A worker that goes silent for
//! [`SILENCE_LIMIT`] (no heartbeat: the whole process is stuck) is killed.
//!
//! The child rebuilds the same workbench from the same toy configuration and
//! settings (every draw is seeded), so an isolated check gives the same
//! verdicts as an in-process one.

use crate::PluginSet;
use crate::call_gate::CallLimits;
use crate::supervise::{OnCondition, check_supervised_with};
use anyhow::{Context, Result, bail};
use rdpbench_core::conditions::{
    CheckSettings, ConditionId, MetricReport, Workbench, error_report,
};
use rdpbench_core::toy::ToyConfig;
use rdpbench_sdk::MetricSpec;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The name of the hidden subcommand that runs one [`WorkerJob`].
pub const WORKER_SUBCOMMAND: &str = "__check-worker";

/// How much of a dead worker's stderr goes into the error reason.
const STDERR_TAIL_BYTES: usize = 2000;

/// A worker that writes nothing (not even its heartbeat) for this long is
/// stuck as a whole and is killed.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(30);

/// How long a worker may take to exit after its report.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The exit status of a worker whose parent went away.
pub const EXIT_PARENT_GONE: i32 = 70;

/// One metric to check, sent to a worker on its stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub library: PathBuf,
    pub metric: String,
    pub toy: ToyConfig,
    pub settings: CheckSettings,
    /// `[plugins].call_timeout_secs`: the wall-clock limit of one call (0: none).
    pub call_timeout_secs: f64,
    /// The parent's process id: a worker whose parent is already another
    /// process (it died before the worker started) exits at once.
    pub parent_pid: u32,
}

/// One line of a worker's stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// A condition starts.
    Condition { condition: ConditionId },
    /// The worker is alive (every second).
    Alive,
    /// The metric is checked.
    Done { report: Box<MetricReport> },
}

/// The worker side: reads one job line from `input`, checks the metric,
/// writes events to `output`, and leaves a thread reading the rest of
/// `input` that ends the process when it closes (the parent is gone).
/// Errors (a library that no longer loads, an unknown metric id) are
/// returned; the parent reports them with the worker's stderr.
pub fn run_worker(
    mut input: impl BufRead + Send + 'static,
    output: impl Write + Send + 'static,
) -> Result<()> {
    crate::parent_death::kill_me_when_parent_dies();
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("reading the worker job from stdin")?;
    let job: WorkerJob =
        serde_json::from_str(&line).context("parsing the worker job read from stdin")?;
    if let Some(parent) = crate::parent_death::parent_pid()
        && parent != job.parent_pid
    {
        std::process::exit(EXIT_PARENT_GONE);
    }
    std::thread::Builder::new()
        .name("parent-pipe".into())
        .spawn(move || {
            // EOF or an error: the parent closed our stdin or died.
            let _ = std::io::copy(&mut input, &mut std::io::sink());
            std::process::exit(EXIT_PARENT_GONE);
        })
        .context("starting the parent-pipe watchdog")?;
    let output = Arc::new(Mutex::new(output));
    let emit = {
        let output = output.clone();
        move |event: &WorkerEvent| -> std::io::Result<()> {
            let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
            serde_json::to_writer(&mut *out, event)?;
            out.write_all(b"\n")?;
            out.flush()
        }
    };
    {
        let emit = emit.clone();
        std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                while emit(&WorkerEvent::Alive).is_ok() {
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
            .context("starting the heartbeat")?;
    }
    let mut plugins = PluginSet::default();
    plugins.load_file(&job.library);
    if let Some(e) = plugins.errors.first() {
        bail!("{}: {}", e.path.display(), e.message);
    }
    plugins.set_call_limits(CallLimits::from_secs(job.call_timeout_secs, 0.0));
    let metric = plugins.metric(&job.metric).with_context(|| {
        format!(
            "{} no longer exports metric `{}`",
            job.library.display(),
            job.metric
        )
    })?;
    let bench = Arc::new(Workbench::build(&job.toy, &job.settings)?);
    let write_error = Arc::new(Mutex::new(None));
    let direct: OnCondition = {
        let (emit, write_error) = (emit.clone(), write_error.clone());
        Arc::new(move |condition| {
            if let Err(e) = emit(&WorkerEvent::Condition { condition }) {
                write_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
            }
        })
    };
    let supervised = check_supervised_with(metric, &bench, Some(direct), &mut |_| {});
    if let Some(e) = write_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e).context("writing progress to the parent");
    }
    emit(&WorkerEvent::Done {
        report: Box::new(supervised.report),
    })
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
    call_timeout_secs: f64,
    progress: &mut dyn FnMut(ConditionId),
) -> MetricReport {
    match spawn_and_wait(
        exe,
        library,
        spec,
        toy,
        settings,
        call_timeout_secs,
        progress,
    ) {
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
    call_timeout_secs: f64,
    progress: &mut dyn FnMut(ConditionId),
) -> std::result::Result<MetricReport, String> {
    let job = WorkerJob {
        library: library.to_path_buf(),
        metric: spec.id.clone(),
        toy: toy.clone(),
        settings: settings.clone(),
        call_timeout_secs,
        parent_pid: std::process::id(),
    };
    let mut child = Command::new(exe)
        .arg(WORKER_SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start a worker process ({}): {e}", exe.display()))?;
    // The job is one line; stdin then stays open until the worker is done
    // (the worker's pipe watchdog ends it when stdin closes).
    let mut stdin = child.stdin.take();
    let sent = stdin
        .as_mut()
        .map(|stdin| {
            let mut line = serde_json::to_vec(&job).map_err(std::io::Error::other)?;
            line.push(b'\n');
            stdin.write_all(&line)?;
            stdin.flush()
        })
        .transpose();
    // Drain stderr on a thread so a chatty worker cannot block on a full pipe.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = e.read_to_end(&mut text);
            text
        })
    });
    // Read stdout on a thread too, so silence can be timed.
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut report = None;
    let mut running = None;
    let mut garbage = None;
    let mut killed = None;
    let mut last_sign = Instant::now();
    loop {
        let wait = if report.is_some() {
            EXIT_GRACE
        } else {
            SILENCE_LIMIT
        };
        match rx.recv_timeout(wait.saturating_sub(last_sign.elapsed())) {
            Ok(line) => {
                last_sign = Instant::now();
                match serde_json::from_str::<WorkerEvent>(&line) {
                    Ok(WorkerEvent::Condition { condition }) => {
                        running = Some(condition);
                        progress(condition);
                    }
                    Ok(WorkerEvent::Alive) => {}
                    Ok(WorkerEvent::Done { report: r }) => report = Some(*r),
                    Err(e) => {
                        garbage.get_or_insert(format!("unreadable worker output ({e}): {line}"));
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                if report.is_none() {
                    killed = Some(format!(
                        "gave no sign of life for {} s (hang) and was killed",
                        wait.as_secs()
                    ));
                }
                break;
            }
        }
    }
    drop(stdin);
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
        Some(report) => Ok(report),
        None => {
            let during = running
                .map(|c| format!(" during {c} ({})", c.name()))
                .unwrap_or_default();
            let how = killed.unwrap_or_else(|| describe_exit(status));
            let mut reason = format!("the metric's isolated worker process {how}{during}");
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
            1.0,
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
