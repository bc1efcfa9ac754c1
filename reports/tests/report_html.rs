//! The HTML report without a browser: structure, self-containment, and the
//! escaping of every plugin-provided string (ids, descriptions, reasons,
//! evidence labels, plugin errors), in HTML and in the generated SVG.

use rdpbench_core::conditions::{
    Comparison, ConditionId, MetricReport, Status, Verdict, summarize,
};
use rdpbench_core::toy::{LadderFamily, LadderReport, Merge, MergeKind, RungSummary};
use rdpbench_plugin_host::{PluginError, PluginErrorKind};
use rdpbench_reports::Exporter;
use rdpbench_reports::html::render::{ROOT, TEMPLATES};
use rdpbench_reports::html::{HtmlReport, ReportInputs, build};
use rdpbench_schema::config::Config;
use rdpbench_schema::results::check::{
    CheckRun, MetricResult, PluginRecord, SCHEMA_VERSION, SeedLadders,
};
use rdpbench_sdk::{Input, MetricSpec, Orientation};
use std::path::PathBuf;

const XSS: &str = "<script>alert(1)</script>";
const XSS_IMG: &str = "<img src=x onerror=alert(2)>";

fn verdict(c: ConditionId, family: Option<LadderFamily>, status: Status, reason: &str) -> Verdict {
    let mut v = Verdict::new(c, family, Some(0)).with(status, reason);
    v.evidence.push(Comparison::exact(
        format!("m(L1) − m(M) {XSS}"),
        0.5,
        0.25,
        1e-6,
    ));
    v
}

fn metric(id: &str, description: &str, oracle: bool, fail_c1_or: bool) -> MetricResult {
    let mut verdicts = Vec::new();
    for c in ConditionId::ALL {
        if matches!(c, ConditionId::C1 | ConditionId::C2) {
            for f in LadderFamily::ALL {
                let (status, reason) = if fail_c1_or && f == LadderFamily::Or {
                    (Status::Fail, format!("failed on the OR ladder {XSS_IMG}"))
                } else if f == LadderFamily::And && !oracle {
                    (Status::Fail, "blind to AND merges".to_string())
                } else {
                    (Status::Pass, "rises".to_string())
                };
                let mut v = verdict(c, Some(f), status, &reason);
                v.structurally_blind = f == LadderFamily::And && !oracle;
                verdicts.push(v);
            }
        } else if c == ConditionId::C5 {
            verdicts.push(verdict(c, None, Status::Vacuous, "code-only"));
        } else if c == ConditionId::C8 {
            verdicts.push(verdict(c, None, Status::NotApplicable, "no positive step"));
        } else if c == ConditionId::C10 {
            verdicts.push(verdict(c, None, Status::Error, &format!("panicked: {XSS}")));
        } else {
            verdicts.push(verdict(c, None, Status::Pass, "holds"));
        }
    }
    let summary = summarize(&verdicts);
    let mut inputs = vec![Input::Codes];
    if oracle {
        inputs.push(Input::ConceptDirections);
    }
    MetricResult {
        library: PathBuf::from(format!("/plugins/lib{XSS}.so")),
        sha256: "ab".repeat(32),
        oracle,
        report: MetricReport {
            spec: MetricSpec {
                id: id.into(),
                version: "1".into(),
                description: description.into(),
                citation: XSS.into(),
                orientation: Orientation::HigherIsMorePolysemantic,
                inputs,
                examples: Vec::new(),
            },
            verdicts,
            summary,
        },
        minimal_cases: Vec::new(),
    }
}

fn ladders(seed: u64) -> SeedLadders {
    let rung = |k: usize, kind: MergeKind| RungSummary {
        rung: k,
        merges: (0..k)
            .map(|g| Merge {
                members: (4 * g..4 * g + 4).collect(),
                kind,
            })
            .collect(),
        p_gt: Some(0.1 * k as f64 + 0.01 * seed as f64),
        total_l0: 1000 - 100 * k,
        l0_saving: 100 * k as i64,
        analytic_l0_saving: if kind == MergeKind::And {
            100 * k as u64
        } else {
            0
        },
    };
    SeedLadders {
        seed,
        ladders: vec![
            LadderReport {
                family: LadderFamily::And,
                rungs: (0..4).map(|k| rung(k, MergeKind::And)).collect(),
            },
            LadderReport {
                family: LadderFamily::Or,
                rungs: (0..4).map(|k| rung(k, MergeKind::Or)).collect(),
            },
        ],
    }
}

/// A run with a hostile plugin, a normal one and an oracle.
fn run() -> CheckRun {
    let config = Config::defaults();
    let mut settings = config.check.clone();
    settings.seeds = vec![0, 1];
    CheckRun {
        schema_version: SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: rdpbench_schema::VERSION.into(),
        settings,
        toy: config.toy.clone(),
        plugins: vec![PluginRecord {
            path: PathBuf::from(format!("/plugins/{XSS}.so")),
            sha256: "cd".repeat(32),
            sdk_version: XSS.into(),
        }],
        plugin_errors: vec![PluginError::new(
            &PathBuf::from("/plugins/broken.so"),
            PluginErrorKind::NotAPlugin,
            format!("no entry symbol {XSS}"),
        )],
        ground_truth: vec![ladders(0), ladders(1)],
        metrics: vec![
            metric(XSS, XSS, false, true),
            metric("plain-metric", "A plain & honest metric.", false, false),
            metric("oracle-thing", "ORACLE: reads V.", true, false),
        ],
    }
}

fn html() -> String {
    HtmlReport
        .render(&ReportInputs::from_check(run()))
        .expect("report renders")
}

#[test]
fn plugin_strings_render_as_text_in_html_and_svg() {
    let h = html();
    let lower = h.to_lowercase();
    assert!(
        !lower.contains("<script"),
        "a plugin string became a script element"
    );
    assert!(!lower.contains("<img"), "a plugin string became an element");
    assert!(
        h.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
        "escaped id shown as text"
    );
    assert!(h.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(h.contains("A plain &amp; honest metric."));
    // The SVG chart carries only harness-made labels, escaped the same way.
    let svg = &h[h.find("<svg").unwrap()..h.find("</svg>").unwrap()];
    assert!(!svg.to_lowercase().contains("<script"));
}

#[test]
fn templates_never_mark_strings_safe_or_concatenate_around_escaping() {
    for (name, text) in TEMPLATES {
        assert!(
            !text.contains("| safe") && !text.contains("|safe"),
            "{name} uses | safe"
        );
        // tera does not escape the result of `~` concatenation.
        let exprs: Vec<&str> = text.split("{{").skip(1).collect();
        for e in exprs {
            let e = e.split("}}").next().unwrap_or_default();
            assert!(!e.contains('~'), "{name}: `~` in an expression: {e}");
        }
    }
    assert!(
        ROOT.ends_with(".html"),
        "autoescaping needs the .html suffix"
    );
}

#[test]
fn report_is_self_contained_without_script_or_external_resources() {
    // Without the `<img src=…>` reason, so any ` src=` would be the template's.
    let mut r = run();
    r.metrics.retain(|m| m.report.spec.id != XSS);
    let h = HtmlReport
        .render(&ReportInputs::from_check(r.clone()))
        .unwrap();
    let lower = h.to_lowercase();
    for banned in ["<link", "<script", "<iframe", "@import", "url(", "<img"] {
        assert!(!lower.contains(banned), "report contains {banned}");
    }
    // No element loads anything (the hostile strings are text, not tags).
    for tag in lower
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or_default())
    {
        assert!(
            !tag.contains(" src=") && !tag.contains(" href=\"http"),
            "element loads a resource: <{tag}>"
        );
    }
    let external = lower.matches("http").count();
    let xmlns = lower.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(external, xmlns, "only the SVG namespace may name a URL");
    assert!(lower.starts_with("<!doctype html>"));
    assert!(lower.contains("<style>"));
}

#[test]
fn report_has_every_section_and_balanced_elements() {
    let h = html();
    for id in [
        "id=\"leaderboard\"",
        "id=\"matrix\"",
        "id=\"failures\"",
        "id=\"ground-truth\"",
        "id=\"not-included\"",
        "id=\"run\"",
        "id=\"legend\"",
        "id=\"pgt-ladder\"",
    ] {
        assert!(h.contains(id), "missing {id}");
    }
    for tag in [
        "section", "table", "details", "svg", "figure", "ul", "tr", "td",
    ] {
        let open = h.matches(&format!("<{tag}>")).count() + h.matches(&format!("<{tag} ")).count();
        let close = h.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "<{tag}> opened {open} times, closed {close}");
    }
    // One expandable chip per (metric, condition, family) summary.
    let chips: usize = run().metrics.iter().map(|m| m.report.summary.len()).sum();
    assert_eq!(h.matches("<details>").count(), chips);
    // Legend covers every status class.
    for class in ["pass", "fail", "blind", "vacuous", "na", "error"] {
        assert!(
            h.contains(&format!("key-chip {class}\"")),
            "legend lacks {class}"
        );
    }
    // Sections without inputs are omitted with a note.
    assert!(h.contains("SAE architecture leaderboard</strong>: omitted"));
    assert!(h.contains("Runtime scaling</strong>: omitted"));
    // The evidence of a verdict is in the report.
    assert!(h.contains("m(L1) − m(M) &lt;script&gt;"));
    assert!(
        h.contains("no entry symbol &lt;script&gt;"),
        "plugin errors shown"
    );
}

#[test]
fn oracles_are_labelled_and_not_ranked() {
    let data = build(&ReportInputs::from_check(run()));
    let rows = &data.leaderboard.rows;
    let oracle = rows.iter().find(|r| r.metric == "oracle-thing").unwrap();
    assert!(oracle.oracle && oracle.rank.is_none());
    assert_eq!(
        rows.last().unwrap().metric,
        "oracle-thing",
        "oracles listed last"
    );
    // plain-metric fails nothing it can see; the hostile one fails C1, C2 on OR.
    assert_eq!(rows[0].metric, "plain-metric");
    assert_eq!(rows[0].rank, Some(1));
    assert_eq!((rows[0].failed, rows[0].blind, rows[0].errors), (0, 2, 1));
    assert_eq!((rows[0].vacuous, rows[0].not_applicable), (1, 1));
    assert_eq!(rows[0].passed + 2 + 1 + 1 + 1, rows[0].checked);
    assert_eq!(rows[1].failed, 2);
    assert!(!data.leaderboard.show_validity && !data.leaderboard.show_runtime);
    // Every place a metric id appears for the oracle, the badge follows.
    let h = html();
    let badges = h.matches("class=\"badge oracle\"").count();
    // legend + leaderboard + matrix row + one per chip panel (15 summaries).
    assert!(badges >= 1 + 1 + 1 + 15, "{badges} oracle badges");
}

#[test]
fn ground_truth_section_checks_l0_savings_against_analytic() {
    let data = build(&ReportInputs::from_check(run()));
    let gt = data.ground_truth.expect("ladders present");
    assert_eq!(gt.seeds, vec![0, 1]);
    assert!(gt.all_savings_match);
    let and = &gt.families[0];
    assert!(and.and_built);
    assert_eq!(and.rungs.len(), 4);
    assert_eq!(and.rungs[2].merges, "AND{0,1,2,3} + AND{4,5,6,7}");
    assert_eq!(and.rungs[0].merges, "M (no merge)");
    let or = &gt.families[1];
    assert!(!or.and_built, "OR merges have no analytic saving");
    assert_eq!(or.rungs[3].seeds[1].analytic_l0_saving, None);
    // The chart has one line per family, one point per rung.
    assert_eq!(gt.chart.series.len(), 2);
    assert_eq!(gt.chart.series[0].points.len(), 4);
    assert!(gt.chart.series[0].path.starts_with('M'));
    // A mismatch is reported.
    let mut r = run();
    r.ground_truth[1].ladders[0].rungs[2].l0_saving += 1;
    let gt = build(&ReportInputs::from_check(r)).ground_truth.unwrap();
    assert!(!gt.all_savings_match);
    assert!(!gt.families[0].rungs[2].seeds[1].matches);
}

#[test]
fn a_run_without_ladders_or_metrics_still_renders() {
    let mut r = run();
    r.ground_truth.clear();
    r.metrics.clear();
    r.plugin_errors.clear();
    let h = HtmlReport
        .render(&ReportInputs::from_check(r.clone()))
        .unwrap();
    assert!(!h.contains("id=\"ground-truth\""));
    assert!(h.contains("No metric failed any condition."));
}

#[test]
fn report_renders_from_a_results_folder() {
    let dir = std::env::temp_dir().join(format!("rdpbench-report-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = rdpbench_reports::Json(rdpbench_store::ResultFile::CheckJson)
        .render(&run())
        .unwrap();
    // Files alone are not results: only what run.json vouches for is read.
    std::fs::write(dir.join("check.json"), &json).unwrap();
    let err = ReportInputs::load(&dir).unwrap_err().to_string();
    assert!(err.contains("run.json"), "{err}");
    let mut store = rdpbench_store::Store::open(&dir, "test").unwrap();
    let mut w = store.begin(rdpbench_store::Stage::Check).unwrap();
    w.write(rdpbench_store::ResultFile::CheckJson, json.as_bytes())
        .unwrap();
    w.commit().unwrap();
    drop(store);
    let inputs = ReportInputs::load(&dir).unwrap();
    let h = HtmlReport.render(&inputs).unwrap();
    assert!(h.contains("plain-metric"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Training, reproduction and benchmark results with a hostile architecture
/// name and metric id, for the sections fed by other commands.
fn toy_inputs() -> ReportInputs {
    use rdpbench_schema::results::bench::{BenchRun, MetricBench, ScalingFit, SizeResult};
    use rdpbench_schema::results::rdp::{Claim, CurvePoint, PgtPoint, RateGap, RdpReport};
    use rdpbench_schema::results::train::{JobOutcome, Sparsity, SweepSummary, ToyEval, TrainJob};
    use rdpbench_schema::settings::BenchSettings;
    use rdpbench_schema::settings::RdpSettings;
    let eval = |l0: f64, p_gt: Option<f64>| ToyEval {
        n_samples: 100,
        explained_variance: Some(0.9),
        mse: Some(1e-3 * l0),
        l0: Some(l0),
        mcc: Some(0.8),
        mmcs: Some(0.8),
        p_gt,
        polysemantic_fraction: Some(0.1),
        n_live: 30,
        d_sae: 32,
    };
    let job = |arch: &str, id: &str| TrainJob {
        id: id.into(),
        architecture: arch.into(),
        d_sae: 32,
        sparsity: Sparsity::new("k", 4.0),
        seed: 0,
        hyperparameters: serde_json::json!({}),
        toy: Config::defaults().toy,
        toy_seed: 0,
    };
    let train = SweepSummary {
        schema_version: 1,
        rdpbench_version: rdpbench_schema::VERSION.into(),
        jobs: vec![
            JobOutcome {
                job: job(XSS, "hostile-arch"),
                folder: PathBuf::from("saes/x"),
                trained: true,
                eval: eval(4.0, Some(0.3)),
            },
            JobOutcome {
                job: job("topk", "topk-w32-k4-s0"),
                folder: PathBuf::from("saes/y"),
                trained: true,
                eval: eval(3.0, Some(0.1)),
            },
        ],
    };
    let point = |family: &str, data: &str, k: f64, mse: f64| CurvePoint {
        family: family.into(),
        data: data.into(),
        k,
        l0: k,
        mse,
        explained_variance: 1.0 - mse,
        p_gt: Some(0.0),
    };
    let rdp = RdpReport {
        schema_version: 1,
        rdpbench_version: rdpbench_schema::VERSION.into(),
        settings: RdpSettings::default(),
        curves: vec![
            point("restricted", "cooccurring", 1.0, 0.2),
            point("restricted", "cooccurring", 2.0, 0.1),
            point("unrestricted", "cooccurring", 1.0, 0.1),
            point("unrestricted", "cooccurring", 2.0, 0.05),
        ],
        gaps: vec![RateGap {
            data: "cooccurring".into(),
            restricted_l0_at_target: Some(1.6),
            unrestricted_l0_at_target: Some(1.45),
            measured_gap: Some(0.15),
            analytic_tax: 0.15,
            empirical_tax: 0.149,
            empirical_tax_se: 0.004,
            restricted_above_fraction: Some(1.0),
        }],
        pgt_vs_q: [0.1, 1.0]
            .iter()
            .map(|&f| PgtPoint {
                q_factor: f,
                q: 0.1 * f,
                seed: 0,
                eval: eval(2.0, Some(f)),
            })
            .collect(),
        claims: vec![Claim {
            id: "R1".into(),
            holds: true,
            evidence: format!("gap matches {XSS}"),
        }],
    };
    let size = |n: usize, d: usize| SizeResult {
        d_sae: d,
        n_tokens: n,
        bench_id: format!("{XSS}/d_sae={d} N={n}"),
        median_ns: Some(10.0 * n as f64),
        median_ci_low_ns: Some(9.0 * n as f64),
        median_ci_high_ns: Some(11.0 * n as f64),
        mean_ns: Some(10.0 * n as f64),
        outcome: "value".into(),
        message: None,
        value: None,
    };
    let bench = BenchRun {
        schema_version: rdpbench_schema::results::bench::BENCH_SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: rdpbench_schema::VERSION.into(),
        settings: BenchSettings::default(),
        activation_cache: None,
        saes: Vec::new(),
        metrics: vec![MetricBench {
            metric: XSS.into(),
            oracle: false,
            library: PathBuf::from("/p/lib.so"),
            sha256: "ef".repeat(32),
            sizes: vec![
                size(1000, 32),
                size(4000, 32),
                size(1000, 64),
                size(4000, 64),
            ],
            fit: ScalingFit {
                n_exponent: Some(1.0),
                d_sae_exponent: Some(0.0),
                r_squared: Some(1.0),
                n_points: 4,
            },
        }],
    };
    let mut inputs = ReportInputs::from_check(run());
    inputs.train = Some(train);
    inputs.rdp = Some(rdp);
    inputs.bench = Some(bench);
    inputs
}

#[test]
fn sections_from_training_reproduction_and_benchmarks_render_when_present() {
    let h = HtmlReport.render(&toy_inputs()).expect("report renders");
    for id in [
        "<section id=\"sae-leaderboard\">",
        "<section id=\"rate-distortion\">",
        "<section id=\"pgt-cooccurrence\">",
        "<section id=\"runtime-scaling\">",
        "id=\"sae-rate-distortion\"",
        "id=\"rd-curves\"",
        "id=\"pgt-vs-q\"",
        "id=\"runtime-vs-n\"",
        "id=\"runtime-vs-dsae\"",
    ] {
        assert!(h.contains(id), "missing {id}");
    }
    assert!(!h.contains("SAE architecture leaderboard</strong>: omitted"));
    assert!(!h.contains("Runtime scaling</strong>: omitted"));
    // The leaderboard gains runtime and scaling for the benchmarked metric:
    // median at the largest size (N = 4000, d_sae = 64) is 40 µs; t ∝ N.
    assert!(h.contains(">scaling</th>"));
    assert!(h.contains("40.0 µs (N = 4000, d_sae = 64)"), "runtime cell");
    assert!(h.contains("N^1.00 · d_sae^0.00"), "scaling cell");
    // The SAE with the lower P_gt ranks first.
    let topk = h.find("topk-w32-k4-s0").unwrap();
    let hostile = h.find("hostile-arch").unwrap();
    assert!(topk < hostile);
    // Plugin- and user-provided strings stay text everywhere, SVG included.
    assert!(!h.to_lowercase().contains("<script"));
    assert!(h.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    for tag in ["section", "table", "svg", "figure", "tr", "td"] {
        let open = h.matches(&format!("<{tag}>")).count() + h.matches(&format!("<{tag} ")).count();
        let close = h.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "<{tag}> opened {open} times, closed {close}");
    }
}

#[test]
fn absent_inputs_are_listed_with_the_command_that_produces_them() {
    // tera escapes `/` as `&#x2F;`.
    let h = html().replace("&#x2F;", "/");
    assert!(h.contains("SAE architecture leaderboard</strong>: omitted, it needs saes/train.json"));
    assert!(h.contains("run `rdpbench train`"));
    assert!(h.contains("Rate-distortion curves</strong>: omitted, it needs rdp.json"));
    assert!(h.contains("run `rdpbench reproduce rdp`"));
    assert!(h.contains("Runtime scaling</strong>: omitted, it needs bench.json"));
    assert!(h.contains("run `rdpbench bench`"));
}
