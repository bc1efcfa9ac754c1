//! `rdpbench report` and `rdpbench compare` end to end: real plugin, real
//! binary, real files. (The HTML's structure and escaping are tested in
//! reports/tests/report_html.rs; a browser check is
//! scripts/screenshot-report.sh.)

mod common;

use common::{Scratch, lib, rdpbench, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs a quick check of the order-sensitive test plugin into `out`.
fn checked(tag: &str) -> (Scratch, PathBuf, PathBuf) {
    let s = Scratch::new(tag);
    let plugins = s.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let src = lib("test_plugin_order_sensitive");
    std::fs::copy(&src, plugins.join(src.file_name().unwrap())).unwrap();
    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(
        &cfg,
        "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\n",
    )
    .unwrap();
    let out = s.path().join("out");
    let (code, _, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args(["check", "--conditions", "C3,C10", "--seeds", "0", "--out"])
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    (s, cfg, out)
}

fn report(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    run(rdpbench().arg("--config").arg(cfg).arg("report").args(args))
}

#[test]
fn report_writes_one_self_contained_html_file_next_to_the_results() {
    let (_s, cfg, out) = checked("report-html");
    let (code, _, stderr) = report(&cfg, &[out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("adjacent-decoder-cosine"));
    assert!(html.contains("id=\"matrix\"") && html.contains("<svg"));
    assert!(!html.to_lowercase().contains("<script"));
    // The same, to a chosen file.
    let dest = out.join("elsewhere.html");
    let (code, _, stderr) = report(
        &cfg,
        &[out.to_str().unwrap(), "--out", dest.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dest).unwrap(),
        html,
        "deterministic"
    );
    // Other formats on stdout, identical to what check wrote.
    let (code, md, _) = report(&cfg, &[out.to_str().unwrap(), "--format", "markdown"]);
    assert_eq!(code, 0);
    assert_eq!(md, std::fs::read_to_string(out.join("check.md")).unwrap());
    let (code, csv, _) = report(&cfg, &[out.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(code, 0);
    assert_eq!(csv, std::fs::read_to_string(out.join("check.csv")).unwrap());
}

#[test]
fn report_on_a_missing_results_folder_is_a_usage_error() {
    let s = Scratch::new("report-missing");
    let (code, _, stderr) = run(rdpbench().arg("report").arg(s.path().join("nothing-here")));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no results folder") && stderr.contains("nothing-here"),
        "{stderr}"
    );
}

#[test]
fn compare_reports_lost_and_gained_conditions_and_exits_5_on_a_loss() {
    let (s, _cfg, out) = checked("compare");
    let a = out.join("check.json");
    // Against itself: nothing changed, exit 0.
    let (code, stdout, stderr) = run(rdpbench().arg("compare").arg(&a).arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("no verdict changed"), "{stdout}");
    assert!(stdout.contains("0 lost, 0 gained"), "{stdout}");
    // A run in which C3 passed, against the real one (C3 fails): lost.
    // Verdicts and summary alike (a summary its verdicts contradict is refused).
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    for verdict in json["metrics"][0]["verdicts"].as_array_mut().unwrap() {
        if verdict["condition"] == "C3" {
            verdict["status"] = "pass".into();
        }
    }
    for summary in json["metrics"][0]["summary"].as_array_mut().unwrap() {
        if summary["condition"] == "C3" {
            summary["status"] = "pass".into();
        }
    }
    let passed = s.path().join("passed.json");
    std::fs::write(&passed, serde_json::to_string(&json).unwrap()).unwrap();
    let (code, stdout, stderr) = run(rdpbench().arg("compare").arg(&passed).arg(&a));
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stdout.contains("LOST"), "{stdout}");
    assert!(stdout.contains("adjacent-decoder-cosine"), "{stdout}");
    assert!(stdout.contains("1 lost, 0 gained"), "{stdout}");
    // The other way round it is a gain: exit 0. Markdown table.
    let (code, md, stderr) = run(rdpbench()
        .arg("compare")
        .arg(&a)
        .arg(&passed)
        .arg("--markdown"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        md.contains("| gained | `adjacent-decoder-cosine` | C3 | fail | pass |"),
        "{md}"
    );
    assert!(md.contains("**0 lost**, 1 gained"), "{md}");
    // JSON for machines.
    let (code, js, _) = run(rdpbench().arg("compare").arg(&passed).arg(&a).arg("--json"));
    assert_eq!(code, 5);
    let v: Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["rows"][0]["kind"], "lost");
    // A missing file is a usage error.
    let (code, _, _) = run(rdpbench().arg("compare").arg(&a).arg(s.path().join("nope")));
    assert_eq!(code, 2);
}
