//! `rdpbench bench` end to end on a tiny size grid: real binary, real
//! criterion run, real plugins (one metric, the TopK SAE plugin), then
//! `rdpbench report` renders the runtime section from the bench.json.

mod common;

use common::{Scratch, lib, rdpbench, run};
use serde_json::Value;

#[test]
fn bench_writes_finite_medians_and_the_report_shows_runtime_scaling() {
    // The plugins must be built (README's test command builds the workspace).
    lib("rdpbench_metric_firing_density");
    lib("rdpbench_sae_topk");
    let s = Scratch::new("bench-cli");
    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(
        &cfg,
        "[plugins]\nmetrics = [\"mean-firing-density\"]\n\n\
         [bench]\nwidths = [8, 16]\nn_tokens = [200, 800]\ntrain_steps = 5\n\
         sample_size = 10\nwarm_up_secs = 0.01\nmeasurement_secs = 0.02\nnresamples = 2000\n",
    )
    .unwrap();
    let out = s.path().join("out");
    let (code, stdout, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args(["bench", "--json", "--out"])
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    // stdout is only the JSON: criterion's own lines (stderr is not a
    // terminal here, no -v) went to criterion.log.
    let printed: Value = serde_json::from_str(&stdout).expect("stdout is exactly bench.json");
    assert!(!stderr.contains("time:"), "{stderr}");
    let log = out.join("bench").join("criterion").join("criterion.log");
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        log.contains("mean-firing-density/") && log.contains("time:"),
        "{log}"
    );
    let bench: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(printed, bench, "--json prints what bench.json holds");
    assert_eq!(bench["schema_version"], 1);
    assert_eq!(
        bench["saes"].as_array().unwrap().len(),
        2,
        "one SAE per width"
    );
    let metrics = bench["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 1);
    let m = &metrics[0];
    assert_eq!(m["metric"], "mean-firing-density");
    let sizes = m["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 4, "2 widths x 2 token counts");
    for size in sizes {
        let med = size["median_ns"].as_f64().expect("a median");
        let (lo, hi) = (
            size["median_ci_low_ns"].as_f64().unwrap(),
            size["median_ci_high_ns"].as_f64().unwrap(),
        );
        assert!(med.is_finite() && med > 0.0, "{size}");
        assert!(lo <= med && med <= hi, "CI brackets the median: {size}");
        // The value it measured is kept: a firing density is in (0, 1].
        let v = size["value"].as_f64().expect("the measured value");
        assert!(v > 0.0 && v <= 1.0, "{size}");
        // criterion's own file is where the number came from.
        let dir = out.join("bench").join("criterion");
        assert!(dir.is_dir());
    }
    assert!(m["fit"]["n_exponent"].as_f64().unwrap().is_finite());
    assert!(m["fit"]["d_sae_exponent"].as_f64().unwrap().is_finite());
    assert_eq!(m["fit"]["n_points"], 4);
    let csv = std::fs::read_to_string(out.join("bench.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(md.contains("| `mean-firing-density` |"), "{md}");

    // A quick check makes the check.json the report needs; the report then
    // carries the runtime section and the leaderboard's runtime column.
    let (code, _, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args([
            "check",
            "--conditions",
            "C3",
            "--seeds",
            "0",
            "--samples",
            "300",
            "--out",
        ])
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(rdpbench().arg("--config").arg(&cfg).arg("report").arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<section id=\"runtime-scaling\">"),
        "runtime section"
    );
    assert!(html.contains("id=\"runtime-vs-n\"") && html.contains("id=\"runtime-vs-dsae\""));
    assert!(html.contains(">scaling</th>"), "leaderboard scaling column");
    assert!(!html.contains("Runtime scaling</strong>: omitted"));
}
