//! `rdpbench compare` on validity and benchmark results: hand-made
//! `validity.json` / `bench.json` (built from the real types and saved), the
//! noise-band rules, the rows with a missing side, and the exit codes of
//! `--fail-on`. (Verdict comparison is tested in report_cli.rs.)

mod common;

use common::{Scratch, rdpbench, run};
use rdpbench_runner::bench::{
    BENCH_SCHEMA_VERSION, BenchRun, BenchSettings, MetricBench, SizeResult, fit_scaling,
};
use rdpbench_runner::validity::{
    MetricValidity, RhoEstimate, VALIDITY_SCHEMA_VERSION, ValidityRun, ValiditySettings,
    discriminability,
};
use rdpbench_sdk::Orientation;
use serde_json::Value;
use std::path::Path;

/// A metric's validity with ρ and its interval `[lo, hi]`.
fn rho_metric(id: &str, rho: f64, lo: f64, hi: f64) -> MetricValidity {
    MetricValidity {
        id: id.into(),
        version: "1.0.0".into(),
        oracle: false,
        orientation: Orientation::HigherIsMorePolysemantic,
        inputs: Vec::new(),
        library: format!("lib{id}.so").into(),
        sha256: "0".repeat(64),
        scores: Vec::new(),
        n_defined: 24,
        n_undefined: 0,
        n_errors: 0,
        rho: RhoEstimate {
            rho: Some(rho),
            ci: Some([lo, hi]),
            n: 24,
            n_resamples: 1000,
            n_resamples_defined: 1000,
            reason: None,
        },
        discriminability: discriminability(&[]),
    }
}

fn save_validity(dir: &Path, metrics: Vec<MetricValidity>) {
    let run = ValidityRun {
        schema_version: VALIDITY_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: "test".into(),
        seed: 0,
        settings: ValiditySettings::default(),
        plugins: Vec::new(),
        plugin_errors: Vec::new(),
        population: Vec::new(),
        p_gt_discriminability: discriminability(&[]),
        metrics,
    };
    common::in_stage(dir, rdpbench_store::Stage::Validity, |_| {
        Ok(((), run, rdpbench_reports::validity::exporters()))
    })
    .unwrap();
}

/// One size's timing: median and interval, nanoseconds.
fn size(n_tokens: usize, median: f64, lo: f64, hi: f64) -> SizeResult {
    SizeResult {
        d_sae: 32,
        n_tokens,
        bench_id: format!("m/N{n_tokens}"),
        median_ns: Some(median),
        median_ci_low_ns: Some(lo),
        median_ci_high_ns: Some(hi),
        mean_ns: Some(median),
        outcome: "value".into(),
        message: None,
        value: None,
    }
}

fn save_bench(dir: &Path, metrics: Vec<(&str, Vec<SizeResult>)>) {
    let run = BenchRun {
        schema_version: BENCH_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: "test".into(),
        settings: BenchSettings::default(),
        activation_cache: None,
        saes: Vec::new(),
        metrics: metrics
            .into_iter()
            .map(|(id, sizes)| MetricBench {
                metric: id.into(),
                oracle: false,
                library: format!("lib{id}.so").into(),
                sha256: "0".repeat(64),
                sizes,
                fit: fit_scaling(&[]),
            })
            .collect(),
    };
    common::in_stage(dir, rdpbench_store::Stage::Bench, |_| {
        Ok(((), run, rdpbench_reports::bench::exporters(false)))
    })
    .unwrap();
}

fn compare(a: &Path, b: &Path, extra: &[&str]) -> (i32, String, String) {
    run(rdpbench().arg("compare").arg(a).arg(b).args(extra))
}

/// The row of `section` (`validity` / `runtime`) whose `metric` is `id`
/// (and `n_tokens`, for runtime rows).
fn row<'a>(v: &'a Value, section: &str, id: &str, n_tokens: Option<u64>) -> &'a Value {
    v[section]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == id && n_tokens.is_none_or(|n| r["n_tokens"] == n))
        .unwrap_or_else(|| panic!("no {section} row for {id}: {v}"))
}

#[test]
fn a_rho_change_is_flagged_only_outside_the_interval_band() {
    let s = Scratch::new("compare-validity");
    let (a, b) = (s.path().join("a"), s.path().join("b"));
    save_validity(
        &a,
        vec![
            rho_metric("steady", 0.80, 0.70, 0.90),
            rho_metric("worse", 0.80, 0.70, 0.90),
            rho_metric("better", 0.20, 0.05, 0.35),
            rho_metric("gone", 0.50, 0.40, 0.60),
        ],
    );
    save_validity(
        &b,
        vec![
            // Δρ = −0.10, intervals overlap on [0.70, 0.80]: noise.
            rho_metric("steady", 0.70, 0.55, 0.80),
            // Δρ = −0.50, [0.15, 0.45] lies below [0.70, 0.90]: dropped.
            rho_metric("worse", 0.30, 0.15, 0.45),
            // Δρ = +0.60, disjoint above: rose.
            rho_metric("better", 0.80, 0.70, 0.90),
            rho_metric("new", 0.10, 0.00, 0.20),
        ],
    );
    let (code, js, stderr) = compare(&a, &b, &["--json"]);
    assert_eq!(
        code, 0,
        "a ρ drop alone does not fail without --fail-on: {stderr}"
    );
    let v: Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["verdicts_compared"], false);
    let steady = row(&v, "validity", "steady", None);
    assert_eq!(steady["change"], "within_noise");
    assert!((steady["delta"].as_f64().unwrap() + 0.10).abs() < 1e-12);
    let worse = row(&v, "validity", "worse", None);
    assert_eq!(worse["change"], "dropped");
    assert!((worse["delta"].as_f64().unwrap() + 0.50).abs() < 1e-12);
    assert_eq!(row(&v, "validity", "better", None)["change"], "rose");
    let gone = row(&v, "validity", "gone", None);
    assert_eq!(gone["change"], "only_in_a");
    assert!(gone["b"].is_null() && gone["delta"].is_null());
    assert_eq!(row(&v, "validity", "new", None)["change"], "only_in_b");

    // Exit 5 only when asked, and only for a drop (a rise never fails).
    let (code, text, stderr) = compare(&a, &b, &["--fail-on", "validity"]);
    assert_eq!(code, 5, "{text}\n{stderr}");
    assert!(stderr.contains("1 metric(s) whose rho dropped"), "{stderr}");
    assert!(
        text.contains("DROPPED") && text.contains("only in A"),
        "{text}"
    );
    assert!(text.contains("1 rho dropped, 1 rose"), "{text}");
    let (code, _, stderr) = compare(&b, &a, &["--fail-on", "validity"]);
    assert_eq!(code, 5, "B→A: `better` drops from 0.80 to 0.20: {stderr}");
    // Without a bench.json, --fail-on slowdown warns and passes.
    let (code, _, stderr) = compare(&a, &b, &["--fail-on", "slowdown"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("do not both have bench.json"), "{stderr}");

    let (code, md, _) = compare(&a, &b, &["--markdown"]);
    assert_eq!(code, 0);
    assert!(
        md.contains(
            "| **DROPPED** | `worse` | 0.800 | [0.70, 0.90] | 0.300 | [0.15, 0.45] | -0.500 |"
        ),
        "{md}"
    );
    assert!(md.contains("| only in A | `gone` | 0.500 |"), "{md}");
}

#[test]
fn a_slowdown_is_flagged_only_with_disjoint_intervals_and_above_the_threshold() {
    let s = Scratch::new("compare-runtime");
    let (a, b) = (s.path().join("a"), s.path().join("b"));
    save_bench(
        &a,
        vec![
            (
                "m",
                vec![
                    size(1000, 100e3, 98e3, 102e3),
                    size(4000, 400e3, 390e3, 410e3),
                ],
            ),
            ("small-change", vec![size(1000, 100e3, 99e3, 101e3)]),
            ("sped-up", vec![size(1000, 100e3, 99e3, 101e3)]),
        ],
    );
    save_bench(
        &b,
        vec![
            (
                "m",
                vec![
                    // 2x with disjoint intervals: slower.
                    size(1000, 200e3, 196e3, 204e3),
                    // 2x median but B's interval reaches into A's: noise.
                    size(4000, 800e3, 405e3, 1600e3),
                    // Only in B.
                    size(16000, 1.6e6, 1.5e6, 1.7e6),
                ],
            ),
            // +3%, intervals disjoint: below the 5% threshold.
            ("small-change", vec![size(1000, 103e3, 102.5e3, 103.5e3)]),
            // 2x faster: significant, never a failure.
            ("sped-up", vec![size(1000, 50e3, 49e3, 51e3)]),
        ],
    );
    let (code, js, stderr) = compare(&a, &b, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["runtime"]["noise_threshold"], 0.05);
    let slow = row(&v, "runtime", "m", Some(1000));
    assert_eq!(slow["change"], "slower");
    assert!((slow["ratio"].as_f64().unwrap() - 2.0).abs() < 1e-12);
    assert_eq!(
        row(&v, "runtime", "m", Some(4000))["change"],
        "within_noise"
    );
    assert_eq!(row(&v, "runtime", "m", Some(16000))["change"], "only_in_b");
    let small = row(&v, "runtime", "small-change", None);
    assert_eq!(small["change"], "within_noise");
    assert!((small["ratio"].as_f64().unwrap() - 1.03).abs() < 1e-12);
    assert_eq!(row(&v, "runtime", "sped-up", None)["change"], "faster");

    let (code, text, stderr) = compare(&a, &b, &["--fail-on", "slowdown"]);
    assert_eq!(code, 5, "{text}\n{stderr}");
    assert!(
        stderr.contains("1 metric × size row(s) significantly slower"),
        "{stderr}"
    );
    assert!(text.contains("1 slower, 1 faster"), "{text}");
    // A 2% threshold makes the +3% a slowdown too.
    let (code, js, _) = compare(&a, &b, &["--json", "--noise-threshold", "0.02"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&js).unwrap();
    assert_eq!(row(&v, "runtime", "small-change", None)["change"], "slower");
    // B against A: only speed-ups and a slowdown of `sped-up` (2x): exit 5.
    let (code, _, _) = compare(&b, &a, &["--fail-on", "slowdown,validity"]);
    assert_eq!(code, 5);
    // A vs itself: nothing significant.
    let (code, text, _) = compare(&a, &a, &["--fail-on", "slowdown"]);
    assert_eq!(code, 0);
    assert!(text.contains("0 slower, 0 faster"), "{text}");

    let (_, md, _) = compare(&a, &b, &["--markdown"]);
    assert!(
        md.contains("| **SLOWER** | `m` | 1000 | 32 | 100 µs ±2% | 200 µs ±2% | 2.00× |"),
        "{md}"
    );
    assert!(md.contains("| only in B | `m` | 16000 | 32 | – |"), "{md}");
}

#[test]
fn missing_sections_are_noted_and_runs_with_nothing_in_common_are_a_usage_error() {
    let s = Scratch::new("compare-sections");
    let (a, b, c) = (s.path().join("a"), s.path().join("b"), s.path().join("c"));
    save_bench(&a, vec![("m", vec![size(1000, 1e5, 0.9e5, 1.1e5)])]);
    save_validity(&a, vec![rho_metric("m", 0.5, 0.4, 0.6)]);
    save_bench(&b, vec![("m", vec![size(1000, 1e5, 0.9e5, 1.1e5)])]);
    save_validity(&c, vec![rho_metric("m", 0.5, 0.4, 0.6)]);

    let (code, text, stderr) = compare(&a, &b, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("note: validity.json only in A: not compared"),
        "{text}"
    );
    assert!(
        !text.contains("no verdict changed"),
        "no check.json: {text}"
    );
    // One file named directly: only that kind is read.
    let (code, js, stderr) = compare(&a.join("validity.json"), &c, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&js).unwrap();
    assert!(v["runtime"].is_null() && !v["validity"].is_null(), "{v}");

    let (code, _, stderr) = compare(&b, &c, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nothing to compare"), "{stderr}");
    let (code, _, stderr) = compare(&a, &b, &["--noise-threshold=-1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--noise-threshold"), "{stderr}");
    let empty = s.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, _, stderr) = compare(&a, &empty, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no run.json"), "{stderr}");
}
