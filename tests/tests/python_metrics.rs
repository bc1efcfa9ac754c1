//! Python metrics end to end: the Python twins of three built-in metrics give
//! the Rust plugins' verdicts and values; an exception, a hang and a crash
//! each cost only their own metric's verdicts; a bad SPEC is a plugin error;
//! `rdpbench new metric --lang python` scaffolds a metric that checks like
//! the Rust template; the `rdpbench` Python package returns the verdicts.
//!
//! Needs `python3` (or `RDPBENCH_PYTHON`) with numpy. Without it these tests
//! fail when `RDPBENCH_REQUIRE_PYTHON` or `CI` is set (`.ci/run` installs
//! numpy and sets it) and are skipped with a message otherwise.

mod common;

use common::{Scratch, rdpbench, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn python_metric(file: &str) -> PathBuf {
    repo().join("python/metrics").join(file)
}

fn fixture(file: &str) -> PathBuf {
    repo().join("tests/fixtures/python").join(file)
}

/// Whether Python with numpy is here; panics where it is required.
fn python_ready() -> bool {
    let python = rdpbench_plugin_host::python::python_interpreter();
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let required = ["RDPBENCH_REQUIRE_PYTHON", "CI"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
        assert!(
            !required,
            "`{python}` with numpy is required here (RDPBENCH_REQUIRE_PYTHON or CI is set): \
             install it (`pip install numpy`) or set RDPBENCH_PYTHON"
        );
        eprintln!(
            "SKIPPED: `{python}` with numpy not found; install numpy (or set RDPBENCH_PYTHON) \
             to run the Python-metric tests"
        );
    }
    ok
}

/// A config that loads no build-folder plugins, with `extra` TOML lines.
fn config(s: &Scratch, build_dir: bool, extra: &str) -> PathBuf {
    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(
        &cfg,
        format!("[plugins]\nbuild_dir = {build_dir}\n{extra}\n"),
    )
    .unwrap();
    cfg
}

fn check(cfg: &Path, out: &Path, plugins: &[PathBuf], args: &[&str]) -> (i32, String, String) {
    let mut cmd = rdpbench();
    cmd.arg("--config")
        .arg(cfg)
        .arg("check")
        .arg("--out")
        .arg(out);
    for p in plugins {
        cmd.arg("--plugin").arg(p);
    }
    run(cmd.args(args))
}

fn results(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap()
}

fn metric<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["spec"]["id"] == id)
        .unwrap_or_else(|| panic!("metric {id} in check.json"))
}

/// Relative agreement `|a − b| ≤ 1e-9 · max(|a|, |b|)`, or both below 1e-12.
fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(scale)
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// The verdicts of `rust` and `python` agree: same conditions, families,
/// seeds and statuses in the same order; every measured value within 1e-9
/// relative (differences and interval bounds relative to the values'
/// scale). Returns the number of values compared.
fn assert_twins(json: &Value, rust: &str, python: &str) -> usize {
    let (r, p) = (metric(json, rust), metric(json, python));
    let (rv, pv) = (
        r["verdicts"].as_array().unwrap(),
        p["verdicts"].as_array().unwrap(),
    );
    assert_eq!(rv.len(), pv.len(), "{rust} vs {python}: verdict counts");
    let mut compared = 0;
    for (a, b) in rv.iter().zip(pv) {
        let at = format!(
            "{rust} vs {python} {} {} {}",
            a["condition"], a["family"], a["seed"]
        );
        for key in [
            "condition",
            "family",
            "seed",
            "status",
            "structurally_blind",
        ] {
            assert_eq!(
                a[key], b[key],
                "{at}: {key}\n{}\n{}",
                a["reason"], b["reason"]
            );
        }
        let (ea, eb) = (
            a["evidence"].as_array().unwrap(),
            b["evidence"].as_array().unwrap(),
        );
        assert_eq!(ea.len(), eb.len(), "{at}: evidence");
        for (x, y) in ea.iter().zip(eb) {
            assert_eq!(x["label"], y["label"], "{at}");
            // Differences and bounds relative to the values' scale, and at
            // least 1e-15 absolute (pooled rows carry no values).
            let scale = ["lhs", "rhs"]
                .iter()
                .filter_map(|k| number(&x[*k]))
                .fold(1e-6f64, |m, v| m.max(v.abs()));
            for key in ["lhs", "rhs"] {
                match (number(&x[key]), number(&y[key])) {
                    // `lhs`/`rhs` are often differences of two O(1) metric
                    // values (`m(L1) − m(M)`, ~1e-8 when they nearly cancel):
                    // their rounding error is absolute, about 1e-16 of the
                    // terms, so the tolerance is relative to at least 1e-6.
                    (Some(u), Some(v)) => {
                        assert!(close(u, v, 1e-6), "{at} {}: {key} {u} vs {v}", x["label"]);
                        compared += 1;
                    }
                    (u, v) => assert_eq!(u, v, "{at} {}: {key}", x["label"]),
                }
            }
            for key in ["diff", "ci_low", "ci_high"] {
                match (number(&x[key]), number(&y[key])) {
                    (Some(u), Some(v)) => {
                        assert!(close(u, v, scale), "{at} {}: {key} {u} vs {v}", x["label"]);
                    }
                    (u, v) => assert_eq!(u, v, "{at} {}: {key}", x["label"]),
                }
            }
        }
    }
    for (a, b) in r["summary"]
        .as_array()
        .unwrap()
        .iter()
        .zip(p["summary"].as_array().unwrap())
    {
        assert_eq!(
            a["status"], b["status"],
            "{rust} vs {python} summary {}",
            a["condition"]
        );
    }
    compared
}

#[test]
fn python_twins_give_the_rust_plugins_verdicts_and_values() {
    if !python_ready() {
        return;
    }
    let s = Scratch::new("py-twins");
    let cfg = config(&s, true, "");
    let out = s.path().join("out");
    let twins = [
        (
            "mean-firing-density",
            "mean-firing-density-py",
            "firing_density.py",
        ),
        ("label-entropy", "label-entropy-py", "label_entropy.py"),
        (
            "mean-max-decoder-cosine",
            "mean-max-decoder-cosine-py",
            "decoder_cosine.py",
        ),
    ];
    let files: Vec<PathBuf> = twins.iter().map(|t| python_metric(t.2)).collect();
    let ids: Vec<&str> = twins.iter().flat_map(|t| [t.0, t.1]).collect();
    let (code, stdout, stderr) = check(
        &cfg,
        &out,
        &files,
        &[
            "--metrics",
            &ids.join(","),
            "--seeds",
            "0,1,2",
            "--no-shrink",
        ],
    );
    assert!(code == 0, "exit {code}\n{stdout}\n{stderr}");
    let json = results(&out);
    for (rust, python, _) in twins {
        let n = assert_twins(&json, rust, python);
        assert!(n > 50, "{rust}: only {n} values compared");
    }
    // The Python metrics' library records name the protocol and runtime.
    let records = json["plugins"].as_array().unwrap();
    let py = records
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("label_entropy.py"))
        .expect("a plugin record for label_entropy.py");
    let sdk = py["sdk_version"].as_str().unwrap();
    assert!(sdk.starts_with("rdpbench-py v1 (Python 3."), "{sdk}");
}

#[test]
fn an_exception_a_hang_and_a_crash_cost_only_their_own_verdicts() {
    if !python_ready() {
        return;
    }
    let s = Scratch::new("py-faults");
    let cfg = config(&s, false, "call_timeout_secs = 3.0");
    let out = s.path().join("out");
    let files = [
        fixture("raises.py"),
        fixture("hangs.py"),
        fixture("crashes.py"),
        fixture("bad_spec.py"),
        python_metric("firing_density.py"),
    ];
    let t = std::time::Instant::now();
    let (code, stdout, stderr) = check(
        &cfg,
        &out,
        &files,
        &["--conditions", "C3", "--seeds", "0", "--no-shrink"],
    );
    let took = t.elapsed();
    assert_eq!(code, 3, "plugin failures are exit 3\n{stdout}\n{stderr}");
    // The 3 s limit, building the workbench, starting five workers on a loaded machine.
    assert!(took.as_secs() < 3 + 30, "took {took:?}");
    let json = results(&out);
    let only = |id: &str| {
        let v = metric(&json, id)["verdicts"].as_array().unwrap().clone();
        assert_eq!(v.len(), 1, "{id}: {v:?}");
        v[0].clone()
    };
    let raised = only("py-raises");
    assert_eq!(raised["status"], "error");
    let reason = raised["reason"].as_str().unwrap();
    for part in [
        "Python metric `py-raises`",
        "raised ValueError: boom from python on",
        "raises.py",
        "in helper",
    ] {
        assert!(reason.contains(part), "{part:?} not in {reason}");
    }
    let hung = only("py-hangs");
    assert_eq!(hung["status"], "error");
    let reason = hung["reason"].as_str().unwrap();
    assert!(
        reason.contains("hang: no answer within 3.0 s during C3"),
        "{reason}"
    );
    let crashed = only("py-crashes");
    assert_eq!(crashed["status"], "error");
    let reason = crashed["reason"].as_str().unwrap();
    assert!(
        reason.contains("the Python worker died (killed by signal 11 (SIGSEGV)"),
        "{reason}"
    );
    // The healthy metric beside them passes C3 (a count is permutation-invariant).
    assert_eq!(only("mean-firing-density-py")["status"], "pass");
    // The bad SPEC is a plugin error naming the file and the missing field.
    let errors = json["plugin_errors"].as_array().unwrap();
    let bad = errors
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("bad_spec.py"))
        .unwrap_or_else(|| panic!("bad_spec.py in {errors:?}"));
    assert!(
        bad["message"].as_str().unwrap().contains("citation"),
        "{bad}"
    );
    // No worker outlives the run: a worker whose parent is gone exits
    // within about a second (it watches its parent id).
    let hung_worker_alive = || {
        let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
        String::from_utf8_lossy(&ps.stdout)
            .lines()
            .any(|l| l.contains(&*fixture("hangs.py").to_string_lossy()))
    };
    let t = std::time::Instant::now();
    while hung_worker_alive() && t.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        !hung_worker_alive(),
        "a worker of hangs.py outlived the run by 10 s"
    );
}

#[test]
fn a_scaffolded_python_metric_checks_like_the_rust_template() {
    if !python_ready() {
        return;
    }
    let s = Scratch::new("py-new");
    let dir = s.path().join("mine");
    let (code, _, stderr) = run(rdpbench()
        .args(["new", "metric", "my-py-metric", "--lang", "python", "--dir"])
        .arg(&dir));
    assert_eq!(code, 0, "{stderr}");
    let file = dir.join("my_py_metric.py");
    assert!(file.is_file(), "{stderr}");
    assert!(
        stderr.contains("--plugin"),
        "the hint names how to check it: {stderr}"
    );
    // A second scaffold of the same name is refused, not overwritten.
    let (code, _, stderr) = run(rdpbench()
        .args(["new", "metric", "my-py-metric", "--lang", "python", "--dir"])
        .arg(&dir));
    assert_eq!(code, 2, "{stderr}");
    // Found through RDPBENCH_PLUGIN_PATH (a folder), checked beside the Rust template.
    let cfg = config(&s, true, "");
    let out = s.path().join("out");
    let (code, stdout, stderr) = run(rdpbench()
        .env("RDPBENCH_PLUGIN_PATH", &dir)
        .arg("--config")
        .arg(&cfg)
        .args([
            "check",
            "--metrics",
            "label-entropy,my-py-metric",
            "--seeds",
            "0,1,2",
            "--no-shrink",
            "--out",
        ])
        .arg(&out));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let json = results(&out);
    assert_twins(&json, "label-entropy", "my-py-metric");
    // It passes the invariances and the floor the template passes.
    let summary = metric(&json, "my-py-metric")["summary"].as_array().unwrap();
    for c in ["C3", "C4", "C6", "C9", "C10"] {
        let row = summary.iter().find(|r| r["condition"] == c).unwrap();
        assert_eq!(row["status"], "pass", "{c}: {}", row["reason"]);
    }
}

#[test]
fn the_python_package_returns_the_verdicts_of_check_json() {
    if !python_ready() {
        return;
    }
    let s = Scratch::new("py-package");
    let exe = common::build_dir().join(format!("rdpbench{}", std::env::consts::EXE_SUFFIX));
    // A metric defined as a function (as in a notebook), checked on C3 and
    // C10, with a baseline run of its own: no regression.
    let script = r#"
import json, os, sys
import numpy as np
import rdpbench

def density(x):
    counts = np.bincount(x.codes.indices[x.codes.values > 0], minlength=x.d_sae)
    live = np.count_nonzero(counts)
    if live == 0:
        return rdpbench.Undefined("no latent fires")
    return float(counts.sum()) / (live * x.n_tokens)

spec = {"id": "nb-density", "version": "1", "description": "Density.", "citation": "test",
        "orientation": "higher_is_more_polysemantic", "inputs": ["codes"],
        "examples": [{"description": "f = 1/2", "codes": [[1.0], [0.0]], "expected": 0.5}]}
assert rdpbench.examples(density, spec) == 1
out = sys.argv[1]
r = rdpbench.check(density, spec, seeds=[0], conditions=["C3", "C10"], out=out,
                   extra_args=["--no-shrink"])
m = r.metric("nb-density")
again = rdpbench.check(density, spec, seeds=[0], conditions=["C3", "C10"], out=out + "-2",
                       baseline=r.check_json, extra_args=["--no-shrink"])
print(json.dumps({"exit": r.exit_code, "again": again.exit_code,
                  "statuses": {s.condition: s.status for s in m.summary},
                  "verdicts": len(m.verdicts), "check_json": r.check_json}))
"#;
    let out = s.path().join("out");
    // Run as a script file: `density` lives in `__main__` and is copied with
    // its source, as from a notebook cell.
    let file = s.path().join("notebook.py");
    std::fs::write(&file, script).unwrap();
    let o = Command::new(rdpbench_plugin_host::python::python_interpreter())
        .arg(&file)
        .arg(&out)
        .env("PYTHONPATH", repo().join("python"))
        .env("RDPBENCH_BIN", &exe)
        .env_remove("RDPBENCH_PLUGIN_PATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(got["exit"], 0, "{got}");
    assert_eq!(got["again"], 0, "{got}");
    assert_eq!(got["statuses"]["C3"], "pass", "{got}");
    assert_eq!(got["statuses"]["C10"], "pass", "{got}");
    // The same check.json on disk: its verdict count is what Python saw.
    let json = results(&out);
    assert_eq!(
        metric(&json, "nb-density")["verdicts"]
            .as_array()
            .unwrap()
            .len() as u64,
        got["verdicts"].as_u64().unwrap()
    );
}
