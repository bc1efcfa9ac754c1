//! The results store under the real CLI: `kill -9` while `rdpbench check`
//! writes leaves only whole files and the previous run intact; a second run
//! on the same folder exits 6 at once; a run whose check stage fails shows
//! that, never the older run's verdicts.

mod common;

use common::{Scratch, lib, rdpbench, run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A plugin folder with two real metrics and a config that loads only it.
fn setup(tag: &str) -> (Scratch, PathBuf) {
    let s = Scratch::new(tag);
    let plugins = s.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for stem in ["rdpbench_metric_template", "rdpbench_metric_firing_density"] {
        let src = lib(stem);
        std::fs::copy(&src, plugins.join(src.file_name().unwrap())).unwrap();
    }
    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(
        &cfg,
        "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\n\n[check]\nn_samples = 600\n",
    )
    .unwrap();
    (s, cfg)
}

fn check_cmd(cfg: &Path, out: &Path) -> Command {
    let mut c = rdpbench();
    c.arg("--config")
        .arg(cfg)
        .args([
            "check",
            "--seeds",
            "0",
            "--conditions",
            "C1,C3,C6,C10",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Every regular file under `dir` (hidden staging and lock files included)
/// is whole: JSON parses, XML is closed, CSV/Markdown/HTML are UTF-8 and end
/// in a newline or a closing tag.
fn assert_every_file_whole(dir: &Path) {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out)
            } else {
                out.push(p)
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name == ".rdpbench.lock" {
            continue;
        }
        // Files still being staged are not results yet; the next open
        // discards them.
        if f.components().any(|c| c.as_os_str() == ".staging") {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        let text =
            String::from_utf8(bytes).unwrap_or_else(|_| panic!("{} is not UTF-8", f.display()));
        if name.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", f.display()));
        } else if name.ends_with(".xml") {
            assert!(
                text.trim_end().ends_with("</testsuites>"),
                "{} is cut",
                f.display()
            );
        } else if name.ends_with(".html") {
            assert!(
                text.trim_end().ends_with("</html>"),
                "{} is cut",
                f.display()
            );
        } else {
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{} is cut",
                f.display()
            );
        }
    }
}

fn wait(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kill_9_while_check_writes_leaves_whole_files_and_the_previous_run() {
    let (s, cfg) = setup("kill9");
    let out = s.path().join("out");
    // A complete first run, and how long one takes.
    let t = Instant::now();
    let (code, stderr) = wait(check_cmd(&cfg, &out).spawn().unwrap());
    assert_eq!(code, 0, "{stderr}");
    let full = t.elapsed();
    let first = std::fs::read(out.join("check.json")).unwrap();
    let manifest = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
    };
    assert_eq!(manifest()["stages"]["check"]["status"], "ok");

    // 20 kills at seeded moments spread over a run's duration.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..20 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let frac = (state >> 11) as f64 / (1u64 << 53) as f64;
        let delay = full.mul_f64(0.05 + 1.1 * frac);
        let mut child = check_cmd(&cfg, &out).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        assert_every_file_whole(&out);
        // run.json always parses and vouches for a check.json whose bytes
        // match: the previous run's (same seed, byte-identical) or the new one.
        let m = manifest();
        let check = &m["stages"]["check"];
        if check["status"] == "ok" {
            assert_eq!(
                std::fs::read(out.join("check.json")).unwrap(),
                first,
                "kill {i}"
            );
        }
    }
    // The folder still works: a last run completes and vouches for its files.
    let (code, stderr) = wait(check_cmd(&cfg, &out).spawn().unwrap());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(manifest()["stages"]["check"]["status"], "ok");
    assert!(
        !out.join(".staging").exists()
            || std::fs::read_dir(out.join(".staging"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn a_second_run_on_the_same_folder_exits_6_at_once() {
    let (s, cfg) = setup("lock");
    let out = s.path().join("out");
    let first = check_cmd(&cfg, &out).spawn().unwrap();
    // Wait until the first holds the lock (its run.json or lock file exists).
    let t = Instant::now();
    while !out.join(".rdpbench.lock").exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = Instant::now();
    let (code, stderr) = wait(check_cmd(&cfg, &out).spawn().unwrap());
    let refused_in = t.elapsed();
    let (code_first, stderr_first) = wait(first);
    assert_eq!(code_first, 0, "{stderr_first}");
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains(&out.display().to_string()) && stderr.contains("in use"),
        "{stderr}"
    );
    assert!(
        refused_in < Duration::from_secs(5),
        "refused after {refused_in:?}"
    );
    // One coherent run: the winner's files, all vouched.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let files = m["stages"]["check"]["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["path"] == "check.json"), "{m}");
    assert_every_file_whole(&out);
}

#[test]
fn a_failed_check_stage_shows_as_failed_not_as_the_older_run() {
    let (s, cfg) = setup("stale");
    let out = s.path().join("out");
    let (code, stderr) = wait(check_cmd(&cfg, &out).spawn().unwrap());
    assert_eq!(code, 0, "{stderr}");
    let old = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        old.contains("label-entropy"),
        "the first report shows its metrics"
    );

    // `rdpbench run` whose check stage fails (it selects a metric no plugin
    // provides), the other stages skipped, into the same folder.
    let cfg_bad = s.path().join("bad.toml");
    let cfg_bad_text =
        "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\nmetrics = [\"no-such-metric\"]\n";
    std::fs::write(&cfg_bad, cfg_bad_text).unwrap();
    let (code, _, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg_bad)
        .args(["run", "--skip", "train,rdp,validity,bench", "--out"])
        .arg(&out));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("check FAILED"), "{stderr}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(m["stages"]["check"]["status"], "failed", "{m}");
    assert!(
        m["stages"]["check"]["reason"]
            .as_str()
            .unwrap()
            .contains("no-such-metric")
    );
    assert_eq!(m["stages"]["train"]["status"], "skipped", "{m}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("No check results"),
        "the report says check failed"
    );
    assert!(html.contains("no-such-metric"), "with the reason");
    for section in ["id=\"leaderboard\"", "id=\"matrix\"", "id=\"failures\""] {
        assert!(
            !html.contains(section),
            "none of the old run's verdicts is shown as current ({section})"
        );
    }
    // The report command agrees: it renders only what run.json vouches for.
    let (code, _, stderr) = run(rdpbench().args(["report"]).arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let again = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(again.contains("No check results") && !again.contains("id=\"matrix\""));
}
