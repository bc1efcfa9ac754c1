//! `rdpbench check` end to end: real plugins, real binary, real files.

mod common;

use common::{Scratch, lib, rdpbench, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A plugin folder with the given workspace libraries, and a config that
/// loads only that folder.
fn setup(tag: &str, stems: &[&str]) -> (Scratch, PathBuf) {
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
        "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\n",
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

fn verdicts<'a>(json: &'a Value, metric: &str, condition: &str) -> Vec<&'a Value> {
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
        .collect()
}

#[test]
fn order_dependent_plugin_fails_c3_and_only_c3_with_evidence() {
    let (s, cfg) = setup("order", &["test_plugin_order_sensitive"]);
    let out = s.path().join("out");
    let (code, stdout, stderr) = check(&cfg, &out, &["--conditions", "C3,C4,C6", "--seeds", "0,1"]);
    assert_eq!(
        code, 0,
        "failed conditions are findings, not errors\n{stderr}"
    );
    assert!(stdout.contains("adjacent-decoder-cosine"), "{stdout}");
    let json = results(&out);
    for v in verdicts(&json, "adjacent-decoder-cosine", "C3") {
        assert_eq!(v["status"], "fail", "{v}");
        let reason = v["reason"].as_str().unwrap();
        assert!(
            reason.contains("permute") || reason.contains("reverse"),
            "{reason}"
        );
        let moved = v["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["diff"].as_f64().unwrap().abs() > c["allowed"].as_f64().unwrap());
        assert!(moved, "evidence shows a permutation moving the score: {v}");
    }
    for v in verdicts(&json, "adjacent-decoder-cosine", "C4") {
        assert_eq!(
            v["status"], "pass",
            "rescaling keeps decoder directions: {v}"
        );
    }
    // The JUnit file has one case per verdict and counts the failures.
    let xml = std::fs::read_to_string(out.join("check.junit.xml")).unwrap();
    let n_verdicts = json["metrics"][0]["verdicts"].as_array().unwrap().len();
    assert_eq!(xml.matches("<testcase ").count(), n_verdicts);
    assert!(
        xml.contains("<testsuite name=\"adjacent-decoder-cosine\""),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<failure ").count(),
        2 + verdicts(&json, "adjacent-decoder-cosine", "C6")
            .iter()
            .filter(|v| v["status"] == "fail")
            .count()
    );
    let md = std::fs::read_to_string(out.join("check.md")).unwrap();
    assert!(
        md.contains("| `adjacent-decoder-cosine` |") && md.contains("## Failures"),
        "{md}"
    );
    let csv = std::fs::read_to_string(out.join("check.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + n_verdicts);
}

#[test]
fn baseline_regression_exits_5_and_a_steady_run_exits_0() {
    let (s, cfg) = setup("baseline", &["test_plugin_order_sensitive"]);
    let out = s.path().join("out");
    let args = ["--conditions", "C3", "--seeds", "0"];
    let (code, _, _) = check(&cfg, &out, &args);
    assert_eq!(code, 0);
    // Against itself: nothing lost.
    let same = s.path().join("same.json");
    std::fs::copy(out.join("check.json"), &same).unwrap();
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[&args[..], &["--baseline", same.to_str().unwrap()]].concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    // A baseline in which C3 passed: the current run lost it. Verdicts and
    // summaries both say pass (a summary its verdicts contradict is refused).
    let mut json = results(&out);
    for verdict in json["metrics"][0]["verdicts"].as_array_mut().unwrap() {
        verdict["status"] = "pass".into();
    }
    for summary in json["metrics"][0]["summary"].as_array_mut().unwrap() {
        summary["status"] = "pass".into();
    }
    let passed = s.path().join("passed.json");
    std::fs::write(&passed, serde_json::to_string(&json).unwrap()).unwrap();
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &[&args[..], &["--baseline", passed.to_str().unwrap()]].concat(),
    );
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("REGRESSION: adjacent-decoder-cosine C3: pass → fail"),
        "{stderr}"
    );
    assert!(out.join("comparison.json").is_file());
    // --strict turns any failure into exit 4.
    let (code, _, _) = check(&cfg, &out, &[&args[..], &["--strict"]].concat());
    assert_eq!(code, 4);
}

#[test]
fn nan_and_panicking_metrics_error_while_the_others_complete() {
    let (s, cfg) = setup(
        "nan",
        &[
            "rdpbench_metric_template",
            "test_plugin_nan",
            "test_plugin_panics",
        ],
    );
    let out = s.path().join("out");
    let (code, _, stderr) = check(
        &cfg,
        &out,
        &["--conditions", "C3,C10", "--seeds", "0", "--jobs", "2"],
    );
    assert_eq!(code, 3, "plugin errors exit 3\n{stderr}");
    assert!(
        stderr.contains("spec() exploded on purpose"),
        "the load error is reported: {stderr}"
    );
    let json = results(&out);
    for v in verdicts(&json, "label-entropy", "C3") {
        assert_eq!(v["status"], "pass");
    }
    let nan = verdicts(&json, "returns-nan", "C3");
    assert_eq!(nan[0]["status"], "error");
    assert!(nan[0]["reason"].as_str().unwrap().contains("NaN"));
    let c10 = verdicts(&json, "panics-in-compute", "C10");
    assert_eq!(c10[0]["status"], "fail");
    assert!(
        c10[0]["reason"]
            .as_str()
            .unwrap()
            .contains("exploded on purpose"),
        "{}",
        c10[0]
    );
    assert_eq!(json["plugin_errors"].as_array().unwrap().len(), 1);
}

#[test]
fn same_seed_gives_byte_identical_results() {
    let (s, cfg) = setup("determinism", &["rdpbench_metric_template"]);
    let args = [
        "--conditions",
        "C1,C7,C9,C11",
        "--seeds",
        "3",
        "--samples",
        "1000",
    ];
    let (a, b) = (s.path().join("a"), s.path().join("b"));
    assert_eq!(check(&cfg, &a, &args).0, 0);
    assert_eq!(
        check(&cfg, &b, &[&args[..], &["--jobs", "1"]].concat()).0,
        0
    );
    let ja = std::fs::read(a.join("check.json")).unwrap();
    let jb = std::fs::read(b.join("check.json")).unwrap();
    assert!(
        ja == jb,
        "check.json differs between two runs with the same seed"
    );
}

#[test]
fn oracle_p_gt_plugin_passes_c1_to_c7_and_c11_on_every_family() {
    let (s, cfg) = setup("oracle", &["rdpbench_metric_oracle_pgt"]);
    let out = s.path().join("out");
    let (code, stdout, stderr) = check(
        &cfg,
        &out,
        &[
            "--conditions",
            "C1,C2,C3,C4,C5,C6,C7,C11",
            "--seeds",
            "0",
            "--samples",
            "2000",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("oracle-p-gt (oracle)"), "{stdout}");
    let json = results(&out);
    let summary = json["metrics"][0]["summary"].as_array().unwrap();
    assert_eq!(
        summary.len(),
        2 * 4 + 6,
        "C1 and C2 per family (AND, OR, growing, absorption), six single conditions"
    );
    for s in summary {
        assert_eq!(s["status"], "pass", "{s}");
    }
}

#[test]
fn unknown_metric_or_condition_is_a_usage_error() {
    let (s, cfg) = setup("usage", &["rdpbench_metric_template"]);
    let out = s.path().join("out");
    let (code, _, stderr) = check(&cfg, &out, &["--metrics", "no-such-metric"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no-such-metric") && stderr.contains("label-entropy"),
        "{stderr}"
    );
    let (code, _, stderr) = check(&cfg, &out, &["--conditions", "C12"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("C12"), "{stderr}");
}

#[test]
fn isolated_check_survives_an_aborting_plugin_and_matches_in_process_verdicts() {
    let (s, cfg) = setup(
        "isolate",
        &["rdpbench_metric_template", "test_plugin_aborts"],
    );
    let out = s.path().join("out");
    let args = ["--conditions", "C3,C10", "--seeds", "0", "--jobs", "2"];
    let (code, _, stderr) = check(&cfg, &out, &[&args[..], &["--isolate"]].concat());
    // The run completes and writes every result; exit 3 says a plugin failed.
    assert_eq!(
        code, 3,
        "a crashed metric is a verdict, not a dead run\n{stderr}"
    );
    let json = results(&out);
    for condition in ["C3", "C10"] {
        let v = verdicts(&json, "aborts", condition);
        assert_eq!(v.len(), 1, "{condition}: {v:?}");
        assert_eq!(v[0]["status"], "error");
        let reason = v[0]["reason"].as_str().unwrap();
        assert!(
            reason.contains("signal 6 (SIGABRT)") && reason.contains("during C10"),
            "{reason}"
        );
    }

    // The surviving metric's verdicts are exactly those of an in-process run.
    let (s2, cfg2) = setup("isolate-ref", &["rdpbench_metric_template"]);
    let out2 = s2.path().join("out");
    let (code, _, stderr) = check(&cfg2, &out2, &args);
    assert_eq!(code, 0, "{stderr}");
    let reference = results(&out2);
    let entropy = |j: &Value| {
        j["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["spec"]["id"] == "label-entropy")
            .unwrap()["verdicts"]
            .clone()
    };
    assert_eq!(entropy(&json), entropy(&reference));
}

/// Summary status of (metric, condition, family) in a check.json.
fn summary_status(json: &Value, metric: &str, condition: &str, family: Option<&str>) -> String {
    json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["spec"]["id"] == metric)
        .unwrap_or_else(|| panic!("metric {metric} in results"))["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["condition"] == condition
                && family.is_none_or(|f| s["family"] == f)
                && (family.is_some() || s["family"].is_null())
        })
        .unwrap_or_else(|| panic!("{metric} {condition} {family:?} in the summary"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The verdicts spec v2 must keep, at the default check settings (seeds
/// 0, 1, 2; N = 4000): the oracle passes everything, mean max decoder cosine
/// still fails C6 and C7, concept purity passes C7, feature absorption is
/// judged (and passes) on the absorption ladder, and the three entropy
/// metrics get a real C8 verdict (not n/a) with δ from their ladder steps.
#[test]
fn spec_v2_keeps_the_known_verdicts_of_the_built_in_metrics() {
    let (s, cfg) = setup(
        "v2",
        &[
            "rdpbench_metric_oracle_pgt",
            "rdpbench_metric_decoder_cosine",
            "rdpbench_metric_concept_purity",
            "rdpbench_metric_feature_absorption",
            "rdpbench_metric_template",
            "rdpbench_metric_concept_entropy",
            "rdpbench_metric_coactivation_entropy",
        ],
    );
    let out = s.path().join("out");
    let (code, _, stderr) = check(&cfg, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let json = results(&out);
    let oracle = &json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["spec"]["id"] == "oracle-p-gt")
        .unwrap()["summary"];
    for s in oracle.as_array().unwrap() {
        assert_eq!(s["status"], "pass", "oracle-p-gt: {s}");
    }
    for c in ["C6", "C7"] {
        assert_eq!(
            summary_status(&json, "mean-max-decoder-cosine", c, None),
            "fail"
        );
    }
    assert_eq!(summary_status(&json, "concept-purity", "C7", None), "pass");
    for c in ["C1", "C2"] {
        assert_eq!(
            summary_status(&json, "feature-absorption", c, Some("absorption")),
            "pass"
        );
    }
    for m in ["label-entropy", "concept-entropy", "coactivation-entropy"] {
        let st = summary_status(&json, m, "C8", None);
        assert!(
            ["pass", "fail", "inconclusive"].contains(&st.as_str()),
            "{m} C8 is {st}"
        );
        let v = verdicts(&json, m, "C8");
        let reason = v[0]["reason"].as_str().unwrap();
        assert!(reason.contains("δ = ½"), "{m}: C8 says why: {reason}");
    }
    // The toy actually used is recorded: 16 concepts + 2 families of 1 + 2.
    assert_eq!(json["toy"]["n_concepts"], 22);
    assert_eq!(json["toy"]["hierarchy"].as_array().unwrap().len(), 4);
}

/// Without a hierarchy in the check toy, a hierarchy metric is undefined
/// on `M`: every verdict that compares with `M` is "not applicable", never
/// FAIL, and the absorption ladder itself is n/a.
#[test]
fn a_metric_undefined_on_a_toy_without_hierarchy_is_not_applicable_there() {
    let (s, cfg) = setup("noabsorb", &["rdpbench_metric_feature_absorption"]);
    std::fs::write(
        &cfg,
        "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\n[check]\nabsorption_families = 0\n",
    )
    .unwrap();
    let out = s.path().join("out");
    let (code, _, stderr) = check(&cfg, &out, &["--seeds", "0", "--samples", "1500"]);
    assert_eq!(code, 0, "{stderr}");
    let json = results(&out);
    assert_eq!(json["toy"]["n_concepts"], 16);
    let m = &json["metrics"][0];
    for v in m["verdicts"].as_array().unwrap() {
        if v["condition"] == "C10" {
            continue; // edge cases: a finite value or an explicit undefined
        }
        assert!(
            v["status"] == "not_applicable" || v["status"] == "vacuous",
            "{v}"
        );
    }
}

/// Shrinking (CONDITIONS.md §7): mean max decoder cosine's C6 and C7
/// failures shrink to at most 4 concepts and 200 samples, the case files
/// name themselves, and `--replay` reproduces each failure exactly (exit 4
/// while it still fails).
#[test]
fn failed_conditions_shrink_to_small_cases_that_replay_exactly() {
    let (s, cfg) = setup("shrink", &["rdpbench_metric_decoder_cosine"]);
    let out = s.path().join("out");
    let (code, stdout, stderr) = check(&cfg, &out, &["--conditions", "C6,C7"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("smallest case: C6 fails already with"),
        "{stdout}"
    );
    let json = results(&out);
    let cases = json["metrics"][0]["minimal_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{cases:?}");
    for c in cases {
        let case = &c["case"];
        let n = case["toy"]["n_concepts"].as_u64().unwrap();
        let samples = case["check"]["n_samples"].as_u64().unwrap();
        assert!(
            n <= 4 && samples <= 200,
            "{} shrank only to {n} concepts, N = {samples}",
            case["condition"]
        );
        assert!(c["trials"].as_u64().unwrap() <= 40);
        let file = out.join(c["file"].as_str().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# rdpbench smallest failing case: "),
            "{text}"
        );
        let (code, replay, stderr) = run(rdpbench()
            .arg("--config")
            .arg(&cfg)
            .arg("check")
            .arg("--replay")
            .arg(&file));
        assert_eq!(code, 4, "{replay}{stderr}");
        assert!(replay.contains("reproduced exactly"), "{replay}");
        assert!(
            replay.contains(case["reason"].as_str().unwrap()),
            "{replay}"
        );
    }
    // --no-shrink: no cases, no folder.
    let out2 = s.path().join("out2");
    let (code, _, stderr) = check(&cfg, &out2, &["--conditions", "C6", "--no-shrink"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(results(&out2)["metrics"][0].get("minimal_cases").is_none());
    assert!(!out2.join("cases").exists());
    // A broken case file is refused with exit 2, naming the file.
    let bad = s.path().join("bad.toml");
    std::fs::write(&bad, "case_version = 1\nmetric = 3\n").unwrap();
    let (code, _, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .arg("check")
        .arg("--replay")
        .arg(&bad));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
}
