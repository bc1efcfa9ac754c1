//! Fault injection end to end: plugins that hang, segfault, abort or
//! allocate absurdly; `kill -9` of a parent with isolated workers; absurd
//! sizes and training settings. Each test checks the exit code, the
//! message, and that nothing already written is lost.
//!
//! Hang tests use a 3 s call limit (`[plugins].call_timeout_secs`), so a
//! hang verdict is due within about 3 s of the hanging call.

mod common;

use common::{Scratch, lib, rdpbench, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A plugin folder with `stems`, and a config loading only it, with extra
/// TOML lines appended (e.g. limits).
fn setup(tag: &str, stems: &[&str], build_dir: bool, extra: &str) -> (Scratch, PathBuf) {
    let s = Scratch::new(tag);
    let plugins = s.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for stem in stems {
        let src = lib(stem);
        std::fs::copy(&src, plugins.join(src.file_name().unwrap())).unwrap();
    }
    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(
        &cfg,
        format!("[plugins]\npaths = [\"plugins\"]\nbuild_dir = {build_dir}\n{extra}\n"),
    )
    .unwrap();
    (s, cfg)
}

fn check(cfg: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(rdpbench()
        .arg("--config")
        .arg(cfg)
        .arg("check")
        .arg("--out")
        .arg(out)
        .args(extra))
}

fn results(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap()
}

fn verdicts(json: &Value, metric: &str, condition: &str) -> Vec<Value> {
    json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["spec"]["id"] == metric)
        .unwrap_or_else(|| panic!("metric {metric} in results"))["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["condition"] == condition)
        .cloned()
        .collect()
}

const LIMIT_3S: &str = "call_timeout_secs = 3.0";

/// The C3 run of `hang-full` and its healthy sibling, in-process or isolated.
fn hang_on_full_size_data(isolate: bool) {
    let (s, cfg) = setup("hang-full", &["test_plugin_hangs"], false, LIMIT_3S);
    let out = s.path().join("out");
    let mut args = vec![
        "--conditions",
        "C3",
        "--seeds",
        "0",
        "--metrics",
        "hang-full,healthy-sibling",
    ];
    if isolate {
        args.push("--isolate");
    }
    let t = Instant::now();
    let (code, stdout, stderr) = check(&cfg, &out, &args);
    let took = t.elapsed();
    // The limit, plus building the workbench and starting workers on a
    // loaded two-core machine.
    assert!(
        took < Duration::from_secs(3 + 15),
        "took {took:?}\n{stderr}"
    );
    assert_eq!(code, 3, "a hang is a plugin failure\n{stdout}\n{stderr}");
    let json = results(&out);
    let v = verdicts(&json, "hang-full", "C3");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0]["status"], "error");
    let reason = v[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("hang: no answer within 3.0 s during C3"),
        "{reason}"
    );
    assert!(stdout.contains("hang-full: hang"), "{stdout}");
    // The sibling in the same library is checked, not blamed.
    let v = verdicts(&json, "healthy-sibling", "C3");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0]["status"], "pass", "{}", v[0]["reason"]);
    // Every export was written.
    for f in ["check.json", "check.csv", "check.md", "check.junit.xml"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn a_metric_hanging_on_full_size_data_gets_a_hang_verdict_in_process() {
    hang_on_full_size_data(false);
}

#[test]
fn a_metric_hanging_on_full_size_data_gets_a_hang_verdict_isolated() {
    hang_on_full_size_data(true);
}

#[test]
fn a_metric_hanging_in_c10_blocks_its_library_but_its_sibling_is_not_blamed() {
    // No call limit: C10's own 2 s edge-case timeout is what fires, and its
    // abandoned thread keeps holding the library.
    let (s, cfg) = setup(
        "hang-c10",
        &["test_plugin_hangs"],
        false,
        "call_timeout_secs = 0\n[check]\ntimeout_secs = 2.0",
    );
    let out = s.path().join("out");
    let (code, stdout, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C10",
            "--metrics",
            "hang-always,healthy-sibling",
        ],
    );
    assert_eq!(code, 0, "C10 failing is a verdict\n{stdout}\n{stderr}");
    let json = results(&out);
    let v = verdicts(&json, "hang-always", "C10");
    assert_eq!(v[0]["status"], "fail");
    assert!(
        v[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no answer within 2.0 s (hang)"),
        "{}",
        v[0]["reason"]
    );
    let v = verdicts(&json, "healthy-sibling", "C10");
    assert_eq!(v[0]["status"], "pass", "{}", v[0]["reason"]);
}

/// Pids of live processes whose environment holds `KEY=value`.
fn processes_with_env(key: &str, value: &str) -> Vec<u32> {
    let needle = format!("{key}={value}");
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        // A zombie has an empty environ: it is dead, only not yet reaped.
        if env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

#[test]
#[cfg(target_os = "linux")]
fn kill_9_of_an_isolating_parent_leaves_no_worker_behind() {
    // Workers that never finish: no call limit, a metric that never returns.
    let (s, cfg) = setup(
        "orphans",
        &["test_plugin_hangs"],
        false,
        "call_timeout_secs = 0\n[check]\ntimeout_secs = 600.0",
    );
    let out = s.path().join("out");
    let tag = format!("orphans-{}", std::process::id());
    let mut parent = rdpbench()
        .env("RDPBENCH_FAULT_TEST", &tag)
        .arg("--config")
        .arg(&cfg)
        .args(["check", "--isolate", "--jobs", "2", "--conditions", "C3"])
        .args(["--metrics", "hang-always,hang-full", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the parent and its worker (the metrics of one library are
    // checked one after the other, so one worker at a time).
    let t = Instant::now();
    while processes_with_env("RDPBENCH_FAULT_TEST", &tag).len() < 2 {
        assert!(t.elapsed() < Duration::from_secs(60), "no worker started");
        std::thread::sleep(Duration::from_millis(100));
    }
    parent.kill().unwrap(); // SIGKILL
    parent.wait().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let left = processes_with_env("RDPBENCH_FAULT_TEST", &tag);
    for pid in &left {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    assert!(left.is_empty(), "workers outlived their parent: {left:?}");
}

#[test]
fn segfault_and_absurd_allocation_cost_only_their_own_verdicts_isolated() {
    let (s, cfg) = setup(
        "crashes",
        &["test_plugin_crashes", "test_plugin_hangs"],
        false,
        LIMIT_3S,
    );
    let out = s.path().join("out");
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[
            "--isolate",
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--metrics",
            "segfaults,huge-alloc,healthy-sibling",
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    let json = results(&out);
    for (metric, signal) in [
        ("segfaults", "signal 11 (SIGSEGV)"),
        ("huge-alloc", "signal 6 (SIGABRT)"),
    ] {
        let v = verdicts(&json, metric, "C3");
        assert_eq!(v[0]["status"], "error");
        let reason = v[0]["reason"].as_str().unwrap();
        assert!(
            reason.contains(signal) && reason.contains("during C3"),
            "{reason}"
        );
    }
    assert_eq!(
        verdicts(&json, "healthy-sibling", "C3")[0]["status"],
        "pass"
    );
}

#[test]
fn absurd_check_sizes_are_refused_up_front_with_the_estimate() {
    let (s, cfg) = setup("sizes", &["test_plugin_hangs"], false, "");
    let out = s.path().join("out");
    let t = Instant::now();
    let (code, _, stderr) = check(&cfg, &out, &["--samples", "1000000000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(
        stderr.contains("check needs at least") && stderr.contains("N = 1000000000"),
        "{stderr}"
    );
    let (code, _, stderr) = check(&cfg, &out, &["--samples", "18446744073709551615"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("more than 2^64 bytes"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // A size that fits the machine but not --max-memory.
    let (code, _, stderr) = check(&cfg, &out, &["--max-memory", "1M"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("1.0 MiB are available (--max-memory)"),
        "{stderr}"
    );
    assert!(!out.join("check.json").exists(), "nothing was run");
}

fn train(cfg: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(rdpbench()
        .arg("--config")
        .arg(cfg)
        .arg("train")
        .arg("--out")
        .arg(out)
        .args(extra))
}

#[test]
fn bad_training_settings_are_refused_before_any_sae_is_trained() {
    let (s, cfg) = setup("train-settings", &[], true, "");
    let out = s.path().join("out");
    for (args, needle) in [
        (
            &["--widths", "8,0"][..],
            "[train].widths (--widths) holds 0",
        ),
        (
            &["--widths", "8", "--k", "16"],
            "`k` = 16 exceeds `d_sae` = 8",
        ),
        (&["--k", "0"], "hyperparameter `k` = 0 is out of range"),
        (&["--k", "nan"], "[train].sparsity.topk holds NaN"),
        (&["--steps", "0"], "[train].steps (--steps) is 0"),
        (&["--widths", "100000000"], "needs at least"),
    ] {
        let t = Instant::now();
        let (code, _, stderr) = train(&cfg, &out, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(t.elapsed() < Duration::from_secs(10), "{args:?}");
        assert!(
            !out.join("saes").join("train.json").exists(),
            "{args:?}: nothing was trained"
        );
    }
    let bad_batch = s.path().join("batch0.toml");
    std::fs::write(
        &bad_batch,
        std::fs::read_to_string(&cfg).unwrap() + "[train]\nbatch_size = 0\n",
    )
    .unwrap();
    let (code, _, stderr) = train(&bad_batch, &out, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("[train].batch_size is 0"), "{stderr}");
}

#[test]
fn a_hang_outside_check_ends_the_stage_with_exit_3_and_keeps_earlier_results() {
    let (s, cfg) = setup(
        "hang-validity",
        &["test_plugin_hangs"],
        true,
        "call_timeout_secs = 2.0\n\
         [validity]\narchitectures = [\"topk\"]\nq_factors = [0.0]\nseeds = [0]\nsteps = 20\n\
         [validity.sparsity]\ntopk = [2.0]\n",
    );
    let out = s.path().join("out");
    // An earlier stage's results in the same folder.
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--metrics",
            "healthy-sibling",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(out.join("check.json")).unwrap();
    let t = Instant::now();
    let (code, _, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args(["validity", "--metrics", "hang-always", "--out"])
        .arg(&out));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("metric `hang-always` compute")
            && stderr.contains("gave no answer within 2.0 s (hang)"),
        "{stderr}"
    );
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    assert_eq!(std::fs::read(out.join("check.json")).unwrap(), before);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["stages"]["check"]["status"], "ok");
}

#[test]
fn a_metric_or_condition_missing_from_b_is_lost_unless_named() {
    let (s, cfg) = setup(
        "gates",
        &["test_plugin_hangs", "rdpbench_metric_template"],
        false,
        "",
    );
    let a = s.path().join("a");
    let b = s.path().join("b");
    let base = ["--seeds", "0", "--conditions", "C3,C6"];
    let (code, _, stderr) = check(
        &cfg,
        &a,
        &[&base[..], &["--metrics", "healthy-sibling,label-entropy"]].concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    // B: one metric removed (as if its plugin stopped loading), one condition fewer.
    let (code, _, stderr) = check(
        &cfg,
        &b,
        &[
            "--seeds",
            "0",
            "--conditions",
            "C3",
            "--metrics",
            "label-entropy",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let compare = |extra: &[&str]| run(rdpbench().arg("compare").arg(&a).arg(&b).args(extra));
    let (code, stdout, stderr) = compare(&[]);
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("3 condition(s) passed in A are lost in B"),
        "{stderr}"
    );
    assert!(
        stdout.contains("healthy-sibling") && stdout.contains("not checked in B"),
        "{stdout}"
    );
    // Naming the metric excuses its two conditions, not label-entropy's C6.
    let (code, _, stderr) = compare(&["--allow-missing", "healthy-sibling"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("1 condition(s)"), "{stderr}");
    let (code, stdout, stderr) = compare(&["--allow-missing", "healthy-sibling,C6"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // `check --baseline` applies the same rule.
    let c = s.path().join("c");
    let a_json = a.join("check.json");
    let baseline = a_json.to_str().unwrap();
    let args = [
        "--seeds",
        "0",
        "--conditions",
        "C3,C6",
        "--metrics",
        "label-entropy",
    ];
    let (code, _, stderr) = check(&cfg, &c, &[&args[..], &["--baseline", baseline]].concat());
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("REGRESSION: healthy-sibling C3: pass → not checked"),
        "{stderr}"
    );
    let (code, _, stderr) = check(
        &cfg,
        &c,
        &[
            &args[..],
            &["--baseline", baseline, "--allow-missing", "healthy-sibling"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("not checked (--allow-missing)"), "{stderr}");
}

#[test]
fn a_check_json_whose_summary_disagrees_with_its_verdicts_is_refused() {
    let (s, cfg) = setup("summary", &["test_plugin_hangs"], false, "");
    let a = s.path().join("a");
    let (code, _, stderr) = check(
        &cfg,
        &a,
        &[
            "--seeds",
            "0",
            "--conditions",
            "C3",
            "--metrics",
            "healthy-sibling",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    // The verdict says fail; the summary still says pass.
    let mut json = results(&a);
    json["metrics"][0]["verdicts"][0]["status"] = "fail".into();
    let edited = s.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let original = std::fs::read(a.join("check.json")).unwrap();
    let (code, _, stderr) = run(rdpbench()
        .arg("compare")
        .arg(&edited)
        .arg(a.join("check.json")));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("edited.json: metric `healthy-sibling`: its stored summary [C3 pass]")
            && stderr.contains("which give [C3 fail]"),
        "{stderr}"
    );
    let (code, _, stderr) = check(
        &cfg,
        &s.path().join("b"),
        &[
            "--seeds",
            "0",
            "--conditions",
            "C3",
            "--baseline",
            edited.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("disagrees with its verdicts"), "{stderr}");
    assert_eq!(std::fs::read(a.join("check.json")).unwrap(), original);
}

/// Control bytes other than line feed and tab.
fn control_bytes(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .filter(|&&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f)
        .count()
}

#[test]
fn control_bytes_from_a_plugin_reach_no_sink_raw() {
    let (s, cfg) = setup("control", &["test_plugin_control_bytes"], false, "");
    let out = s.path().join("out");
    let (code, stdout, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--metrics",
            "control-bytes",
        ],
    );
    assert_eq!(code, 3, "every compute() fails\n{stderr}");
    assert_eq!(control_bytes(stdout.as_bytes()), 0, "terminal: {stdout:?}");
    assert_eq!(control_bytes(stderr.as_bytes()), 0, "terminal: {stderr:?}");
    assert!(stdout.contains("bad input ␛[31mRED␛[0m␛[2J␇␈␍"), "{stdout}");
    for file in ["check.md", "check.csv", "check.junit.xml", "report.html"] {
        let bytes = std::fs::read(out.join(file)).unwrap();
        assert_eq!(control_bytes(&bytes), 0, "{file}");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("RED"), "{file} still reports the message");
    }
    for file in ["check.md", "check.csv", "report.html"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(
            text.contains("␛[31mRED"),
            "{file}: the bytes are shown, not hidden"
        );
    }
    // JSON keeps the message exactly, escaped.
    let json = results(&out);
    let reason = verdicts(&json, "control-bytes", "C3")[0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("\u{1b}[31mRED"), "{reason:?}");
}

#[test]
fn negative_tolerances_are_refused_naming_the_field() {
    let (s, cfg) = setup(
        "tolerance",
        &["test_plugin_hangs"],
        false,
        "[check.tolerances]\natol = -1.1\n",
    );
    let (code, _, stderr) = check(&cfg, &s.path().join("out"), &["--conditions", "C3"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("check.tolerances.atol is -1.1: a tolerance must be a finite number >= 0"),
        "{stderr}"
    );
}

#[test]
fn a_hang_in_sae_training_ends_train_with_exit_3_and_keeps_earlier_results() {
    let (s, cfg) = setup(
        "hang-train",
        &["test_plugin_hangs"],
        false,
        "train_timeout_secs = 2.0\n[train]\narchitectures = [\"hang-train\"]\nwidths = [8]\n\
         [train.sparsity]\nhang-train = [2.0]\n",
    );
    let out = s.path().join("out");
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--metrics",
            "healthy-sibling",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(out.join("check.json")).unwrap();
    let t = Instant::now();
    let (code, _, stderr) = train(&cfg, &out, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("SAE architecture `hang-train` train")
            && stderr.contains("gave no answer within 2.0 s (hang)"),
        "{stderr}"
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(std::fs::read(out.join("check.json")).unwrap(), before);
}

#[test]
fn a_hang_while_shrinking_a_failure_ends_and_keeps_the_verdict() {
    let (s, cfg) = setup(
        "hang-shrink",
        &["test_plugin_hangs"],
        false,
        "call_timeout_secs = 2.0",
    );
    let out = s.path().join("out");
    let t = Instant::now();
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--metrics",
            "hang-when-shrunk",
        ],
    );
    assert!(
        t.elapsed() < Duration::from_secs(2 + 15),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(code, 0, "a failed condition is a verdict\n{stderr}");
    let json = results(&out);
    let v = verdicts(&json, "hang-when-shrunk", "C3");
    assert_eq!(v[0]["status"], "fail", "{}", v[0]["reason"]);
    let metric = &json["metrics"][0];
    assert!(
        metric["minimal_cases"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{metric}"
    );
}

#[test]
fn a_spec_that_never_returns_is_a_load_error_at_the_limit() {
    let (s, cfg) = setup(
        "hang-spec",
        &["test_plugin_hang_in_spec", "test_plugin_hangs"],
        false,
        "call_timeout_secs = 2.0",
    );
    let out = s.path().join("out");
    let t = Instant::now();
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--metrics",
            "healthy-sibling",
        ],
    );
    assert!(
        t.elapsed() < Duration::from_secs(2 + 15),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(code, 3, "a plugin failed to load\n{stderr}");
    assert!(
        stderr.contains("libtest_plugin_hang_in_spec")
            && stderr.contains("metric #0 spec")
            && stderr.contains("gave no answer within 2.0 s (hang)"),
        "{stderr}"
    );
    let json = results(&out);
    assert_eq!(
        verdicts(&json, "healthy-sibling", "C3")[0]["status"],
        "pass"
    );
}
