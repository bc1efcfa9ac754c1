//! The HTML report without a browser: structure, self-containment, and the
//! escaping of every plugin-provided string (ids, descriptions, reasons,
//! evidence labels, plugin errors), in HTML and in the generated SVG.

use rdpbench::config::Config;
use rdpbench::export::Exporter;
use rdpbench::plugin::{PluginError, PluginErrorKind};
use rdpbench::report::html::{ROOT, TEMPLATES};
use rdpbench::report::{HtmlReport, ReportInputs, build};
use rdpbench::results::{CheckRun, MetricResult, PluginRecord, SCHEMA_VERSION, SeedLadders};
use rdpbench_core::conditions::{
    Comparison, ConditionId, MetricReport, Status, Verdict, summarize,
};
use rdpbench_core::toy::{LadderFamily, LadderReport, Merge, MergeKind, RungSummary};
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
        tool_version: rdpbench::VERSION.into(),
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
    HtmlReport.render(&run()).expect("report renders")
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
    let h = HtmlReport.render(&r).unwrap();
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
    let h = HtmlReport.render(&r).unwrap();
    assert!(!h.contains("id=\"ground-truth\""));
    assert!(h.contains("No metric failed any condition."));
}

#[test]
fn report_renders_from_a_results_folder() {
    let dir = std::env::temp_dir().join(format!("rdpbench-report-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = rdpbench::export::Json.render(&run()).unwrap();
    std::fs::write(dir.join("check.json"), json).unwrap();
    let inputs = ReportInputs::load(&dir).unwrap();
    let h = HtmlReport.render_inputs(&inputs).unwrap();
    assert!(h.contains("plain-metric"));
    let _ = std::fs::remove_dir_all(&dir);
}
