//! Python metric files: one long-lived Python worker process per metric,
//! spoken to over its stdin/stdout with the framed protocol of
//! [`crate::python_protocol`] (docs/python-metrics.md).
//!
//! The worker is `python/rdpbench_metric.py`, embedded in this binary and run
//! as `python3 -c SOURCE METRIC_FILE` (the interpreter is `RDPBENCH_PYTHON`,
//! else `python3`), so nothing needs installing besides numpy. It imports the
//! metric file, answers with a `hello` frame holding the spec, then one reply
//! per `compute` request.
//!
//! Faults stay inside the metric: an exception is an error frame (its
//! traceback's last lines become the error); a worker that dies (a crash, an
//! `os._exit`) is an error naming the metric, its exit status or signal and
//! its stderr's tail, and the next call starts a fresh worker (at most
//! [`MAX_STARTS`] per metric); a call that gives no answer within the call
//! limit (plus [`KILL_GRACE`]) kills the worker. Calls are serialised by the
//! metric's [`crate::call_gate::CallGate`] like a native library's, so the
//! supervisor turns that hang into the same hang verdict.

use crate::python_protocol::{Frame, FrameWriter, PROTOCOL, PROTOCOL_VERSION, read_frame};
use anyhow::{Context, Result, bail};
use rdpbench_sdk::{CsrView, MatrixView, MetricInput, MetricOutput, MetricSpec};
use std::collections::VecDeque;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// The worker's source (`python/rdpbench_metric.py`).
pub const WORKER_SOURCE: &str = include_str!("../../../python/rdpbench_metric.py");

/// Environment variable naming the Python interpreter (default `python3`).
pub const PYTHON_ENV: &str = "RDPBENCH_PYTHON";

/// The file extension of a Python metric.
pub const PYTHON_EXTENSION: &str = "py";

/// How long a worker may take to import its metric and say hello, at least
/// (the call limit when it is longer).
pub const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// How long past the call limit a silent worker is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// How many workers one metric may start in one process (the first and
/// restarts after crashes).
pub const MAX_STARTS: u32 = 4;

/// How much of a worker's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 2000;

/// The interpreter: `RDPBENCH_PYTHON`, else `python3`.
pub fn python_interpreter() -> String {
    std::env::var(PYTHON_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// What the worker said about itself in its `hello`.
#[derive(Debug, Clone)]
pub struct Hello {
    pub spec: MetricSpec,
    /// "Python X.Y.Z, numpy A.B.C".
    pub runtime: String,
}

/// One running worker process.
#[derive(Debug)]
struct Worker {
    child: Child,
    /// `None` once closed (the worker's cue to exit).
    stdin: Option<ChildStdin>,
    frames: mpsc::Receiver<Result<Option<Frame>>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

impl Worker {
    fn start(script: &Path) -> Result<Self> {
        let python = python_interpreter();
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(WORKER_SOURCE)
            .arg(script)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!("cannot start `{python}` (set {PYTHON_ENV} to the Python interpreter)")
            })?;
        let stdin = child.stdin.take().context("worker stdin")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let mut stderr_pipe = child.stderr.take().context("worker stderr")?;
        let (tx, frames) = mpsc::channel();
        std::thread::Builder::new()
            .name("py-worker-out".into())
            .spawn(move || {
                let mut reader = BufReader::with_capacity(1 << 16, stdout);
                loop {
                    let frame = read_frame(&mut reader);
                    let end = !matches!(frame, Ok(Some(_)));
                    if tx.send(frame).is_err() || end {
                        return;
                    }
                }
            })
            .context("starting the worker's reader thread")?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        {
            let stderr = stderr.clone();
            std::thread::Builder::new()
                .name("py-worker-err".into())
                .spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stderr_pipe.read(&mut buf) {
                        if n == 0 {
                            return;
                        }
                        let mut tail = stderr.lock().unwrap_or_else(|p| p.into_inner());
                        tail.extend(&buf[..n]);
                        let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
                        tail.drain(..excess);
                    }
                })
                .context("starting the worker's stderr thread")?;
        }
        Ok(Self {
            child,
            stdin: Some(stdin),
            frames,
            stderr,
        })
    }

    /// The next frame within `limit` (`None`: wait as long as it takes).
    fn next(&mut self, limit: Option<Duration>) -> Reply {
        let got = match limit {
            Some(l) => self.frames.recv_timeout(l),
            None => self
                .frames
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(Ok(Some(frame))) => Reply::Frame(frame),
            Ok(Ok(None)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                Reply::Died(self.death("it closed its output"))
            }
            Ok(Err(e)) => Reply::Died(self.death(&format!("{e:#}"))),
            Err(mpsc::RecvTimeoutError::Timeout) => Reply::Silent,
        }
    }

    /// Why the worker is gone: its exit status or signal and stderr's tail.
    fn death(&mut self, what: &str) -> String {
        let mut status = None;
        for _ in 0..50 {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = match status {
            Some(s) => describe_status(s),
            None => {
                self.kill();
                "still running; killed".to_string()
            }
        };
        // Let the stderr thread catch the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail = self.stderr_tail();
        format!(
            "the Python worker died ({status}; {what}){}",
            if tail.is_empty() {
                String::new()
            } else {
                format!("; its stderr ends: {tail}")
            }
        )
    }

    fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let bytes: Vec<u8> = tail.iter().copied().collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a worker may take to exit after its stdin closes.
const EXIT_GRACE: Duration = Duration::from_secs(2);

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends an idle worker (its atexit handlers run); one
        // that does not exit within EXIT_GRACE is killed.
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + EXIT_GRACE;
        while let Ok(None) = self.child.try_wait() {
            if std::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.wait();
    }
}

fn describe_status(s: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            let name = match sig {
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {sig}{name}");
        }
    }
    match s.code() {
        Some(c) => format!("exit status {c}"),
        None => "no exit status".into(),
    }
}

enum Reply {
    Frame(Frame),
    Died(String),
    Silent,
}

/// The error text of an `error` frame: the message and the traceback's tail.
fn error_text(f: &Frame) -> String {
    let (message, tb) = (f.text("message"), f.text("traceback"));
    if tb.is_empty() {
        message.to_string()
    } else {
        format!("{message}\n{tb}")
    }
}

/// A Python metric file and its worker.
#[derive(Debug)]
pub struct PythonMetric {
    script: PathBuf,
    hello: Hello,
    worker: Mutex<WorkerSlot>,
}

#[derive(Debug, Default)]
struct WorkerSlot {
    worker: Option<Worker>,
    starts: u32,
    last_death: String,
    /// The worker's own time in its last call (`seconds` of the reply).
    last_seconds: Option<f64>,
}

/// Starts a worker and reads its `hello` within `limit`.
fn start_and_greet(script: &Path, limit: Duration) -> Result<(Worker, Hello)> {
    let mut worker = Worker::start(script)?;
    let frame = match worker.next(Some(limit)) {
        Reply::Frame(f) => f,
        Reply::Died(why) => bail!("{why}"),
        Reply::Silent => {
            worker.kill();
            bail!(
                "the Python worker said nothing within {:.0} s of starting (importing the metric \
                 hangs?); killed",
                limit.as_secs_f64()
            )
        }
    };
    let version = frame.header.get("version").and_then(|v| v.as_u64());
    if frame.text("protocol") != PROTOCOL || version != Some(u64::from(PROTOCOL_VERSION)) {
        bail!(
            "the worker speaks {:?} version {version:?}; this host speaks {PROTOCOL} version \
             {PROTOCOL_VERSION}",
            frame.text("protocol")
        );
    }
    match frame.kind() {
        "hello" => {}
        "error" => bail!("loading the metric failed: {}", error_text(&frame)),
        other => bail!("the worker's first frame is `{other}`, not `hello`"),
    }
    let spec_json = frame
        .header
        .get("spec")
        .cloned()
        .context("the worker's hello has no `spec`")?;
    let spec: MetricSpec = serde_json::from_value(spec_json)
        .context("SPEC is not a valid metric spec (fields as in docs/plugin-abi.md)")?;
    spec.validate().context("SPEC is invalid")?;
    let runtime = format!(
        "Python {}, numpy {}",
        frame.text("python"),
        frame.text("numpy")
    );
    Ok((worker, Hello { spec, runtime }))
}

impl PythonMetric {
    /// Starts the worker of `script` and reads its spec; `call_limit` bounds
    /// the start-up (at least [`STARTUP_LIMIT`]).
    pub fn open(script: &Path, call_limit: Option<Duration>) -> Result<Self> {
        let limit = call_limit.map_or(STARTUP_LIMIT, |l| l.max(STARTUP_LIMIT));
        let (worker, hello) = start_and_greet(script, limit)?;
        Ok(Self {
            script: script.to_path_buf(),
            hello,
            worker: Mutex::new(WorkerSlot {
                worker: Some(worker),
                starts: 1,
                last_death: String::new(),
                last_seconds: None,
            }),
        })
    }

    pub fn spec(&self) -> &MetricSpec {
        &self.hello.spec
    }

    /// "Python X.Y.Z, numpy A.B.C" as the worker reported it.
    pub fn runtime(&self) -> &str {
        &self.hello.runtime
    }

    /// One evaluation; `limit` is the call limit (the worker is killed
    /// [`KILL_GRACE`] after it). The caller holds the metric's call gate.
    pub fn compute(
        &self,
        input: &MetricInput<'_>,
        limit: Option<Duration>,
    ) -> Result<MetricOutput> {
        let mut slot = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        if slot.worker.is_none() {
            if slot.starts >= MAX_STARTS {
                bail!(
                    "not run: its Python worker was started {} times and died each time; last: {}",
                    slot.starts,
                    slot.last_death
                );
            }
            slot.starts += 1;
            let start_limit = limit.map_or(STARTUP_LIMIT, |l| l.max(STARTUP_LIMIT));
            let (worker, _) = start_and_greet(&self.script, start_limit)
                .context("restarting the Python worker")?;
            slot.worker = Some(worker);
        }
        let worker = slot.worker.as_mut().expect("started above");
        let request = request_frame(input)?;
        let written = match worker.stdin.as_mut() {
            Some(stdin) => request.0.write(request.1, stdin),
            None => Err(anyhow::anyhow!("its stdin is closed")),
        };
        if let Err(e) = written {
            let why = worker.death(&format!("writing the request failed: {e:#}"));
            slot.worker = None;
            slot.last_death.clone_from(&why);
            bail!("{why}");
        }
        let frame = match worker.next(limit.map(|l| l + KILL_GRACE)) {
            Reply::Frame(f) => f,
            Reply::Died(why) => {
                slot.worker = None;
                slot.last_death.clone_from(&why);
                bail!("{why}");
            }
            Reply::Silent => {
                worker.kill();
                slot.worker = None;
                slot.last_death = "killed after a hang".into();
                bail!(
                    "no answer within {:.1} s (hang); its Python worker was killed",
                    limit.unwrap_or_default().as_secs_f64()
                );
            }
        };
        slot.last_seconds = frame.header.get("seconds").and_then(|s| s.as_f64());
        drop(slot);
        output_of(&frame, input)
    }

    /// The seconds the worker reported for its last call: building the
    /// numpy inputs and `compute` itself, without the transfer (for the
    /// overhead measurement, `rdpbench-metrics-bench`'s `python-overhead`).
    pub fn last_worker_seconds(&self) -> Option<f64> {
        self.worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_seconds
    }
}

fn dense<'a>(w: &mut FrameWriter<'a>, name: &str, m: Option<MatrixView<'a>>) {
    if let Some(m) = m {
        w.f32s(name, &[m.rows, m.cols], m.data);
    }
}

/// A CSR matrix's structure (`NAME.indptr`, `NAME.indices`); values apart.
fn csr<'a>(w: &mut FrameWriter<'a>, name: &str, m: Option<CsrView<'a>>) {
    if let Some(m) = m {
        w.u64s(&format!("{name}.indptr"), m.indptr);
        w.u32s(&format!("{name}.indices"), m.indices);
    }
}

/// The `compute` request for `input`.
fn request_frame<'a>(input: &MetricInput<'a>) -> Result<(FrameWriter<'a>, serde_json::Value)> {
    let config: serde_json::Value = serde_json::from_str(input.config)
        .with_context(|| format!("the metric config is not JSON: {}", input.config))?;
    let mut w = FrameWriter::default();
    dense(&mut w, "decoder", input.decoder);
    dense(&mut w, "encoder", input.encoder);
    dense(&mut w, "activations", input.activations);
    dense(&mut w, "concept_directions", input.concept_directions);
    if let Some(c) = input.codes {
        csr(&mut w, "codes", Some(c));
        if c.values.is_empty() {
            // A pattern matrix (every stored entry 1) crosses with its ones.
            w.f32s_owned("codes.values", vec![1.0; c.indices.len()]);
        } else {
            w.f32s("codes.values", &[c.values.len()], c.values);
        }
    }
    csr(&mut w, "labels", input.labels);
    let header = serde_json::json!({
        "type": "compute",
        "n_tokens": input.n_tokens,
        "d_in": input.d_in,
        "d_sae": input.d_sae,
        "n_concepts": input.n_concepts,
        "per_latent": input.per_latent,
        "config": config,
        "csr_cols": {
            "codes": input.codes.map(|c| c.n_cols),
            "labels": input.labels.map(|c| c.n_cols),
        },
    });
    Ok((w, header))
}

/// The metric's answer in `frame`.
fn output_of(frame: &Frame, input: &MetricInput<'_>) -> Result<MetricOutput> {
    match frame.kind() {
        "value" => {
            let value = frame
                .header
                .get("value")
                .and_then(|v| v.as_f64())
                .context("a `value` reply without a numeric `value`")?;
            if !value.is_finite() {
                bail!("returned {value}: a metric must return a finite value or Undefined(reason)");
            }
            let per_latent = if input.per_latent {
                frame.f64s("per_latent", input.d_sae)?.map(|v| {
                    v.into_iter()
                        .map(|x| (!x.is_nan()).then_some(x))
                        .collect::<Vec<_>>()
                })
            } else {
                None
            };
            if let Some(j) = per_latent
                .iter()
                .flatten()
                .position(|v| v.is_some_and(|v| !v.is_finite()))
            {
                bail!("returned a non-finite per-latent score for latent {j}");
            }
            Ok(MetricOutput::Value { value, per_latent })
        }
        "undefined" => Ok(MetricOutput::Undefined {
            reason: frame.text("reason").to_string(),
        }),
        "error" => bail!("raised {}", error_text(frame)),
        other => bail!("answered an unknown reply type `{other}`"),
    }
}
