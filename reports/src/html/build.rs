//! Builds [`ReportData`] from [`ReportInputs`]: all counting, ranking and
//! number formatting happens here, none in the templates.

use super::chart::{self, ChartSpec, Point, Series};
use super::data::*;
use super::inputs::ReportInputs;
use rdpbench_core::conditions::verdict::num;
use rdpbench_core::conditions::{
    Comparison, ConditionId, ConditionSummary, Status, Tolerance, Verdict,
};
use rdpbench_core::toy::{LadderFamily, Merge, MergeKind, RungSummary};
use rdpbench_schema::results::check::{CheckRun, MetricResult, SeedLadders};

/// The CSS class (and legend key) of a status; a failure on a family the
/// metric is structurally blind to is `blind`, apart from real failures.
pub fn status_class(status: Status, structurally_blind: bool) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail if structurally_blind => "blind",
        Status::Fail => "fail",
        Status::Inconclusive => "inconclusive",
        Status::NotApplicable => "na",
        Status::Vacuous => "vacuous",
        Status::Error => "error",
    }
}

fn class_word(class: &str) -> &'static str {
    match class {
        "pass" => "pass",
        "blind" => "blind",
        "fail" => "FAIL",
        "inconclusive" => "?",
        "na" => "n/a",
        "vacuous" => "vac",
        _ => "ERROR",
    }
}

/// The legend, in the order chips are explained.
pub fn legend() -> Vec<LegendEntry> {
    vec![
        LegendEntry {
            class: "pass",
            word: "pass",
            meaning: "the condition holds",
        },
        LegendEntry {
            class: "fail",
            word: "FAIL",
            meaning: "the condition is violated, with evidence",
        },
        LegendEntry {
            class: "blind",
            word: "blind",
            meaning: "fails on a ladder the metric cannot see by its inputs (reads no decoder, so AND merges are invisible)",
        },
        LegendEntry {
            class: "inconclusive",
            word: "?",
            meaning: "inconclusive: the interval straddles the margin; the evidence says what sample size would resolve it (fails the run only with --strict)",
        },
        LegendEntry {
            class: "vacuous",
            word: "vac",
            meaning: "holds trivially: the metric's inputs make it so (e.g. a code-only metric under rotation)",
        },
        LegendEntry {
            class: "na",
            word: "n/a",
            meaning: "the experiment cannot run for this metric here",
        },
        LegendEntry {
            class: "error",
            word: "ERROR",
            meaning: "the metric failed to evaluate (error, panic, NaN, timeout)",
        },
    ]
}

/// Builds the report's data from its inputs.
///
/// Without vouched check results (the check stage failed, was skipped or
/// never ran), the leaderboard, matrix, failures and ladders are empty and
/// `check_missing` says why: nothing from an older run is shown as current.
pub fn build(inputs: &ReportInputs) -> ReportData {
    let empty = CheckRun::empty();
    let run = inputs.check.as_ref().unwrap_or(&empty);
    ReportData {
        title: "rdpbench report".into(),
        leaderboard_order: LEADERBOARD_ORDER,
        generator: format!("rdpbench {}", rdpbench_schema::VERSION),
        run: inputs.check.as_ref().map(run_info),
        check_missing: inputs.check_missing(),
        stages: inputs.stages.clone(),
        legend: legend(),
        conditions: ConditionId::ALL
            .iter()
            .map(|c| ConditionHeader {
                id: c.to_string(),
                name: c.name().to_string(),
            })
            .collect(),
        leaderboard: {
            let mut board = leaderboard(run);
            if let Some(bench) = &inputs.bench {
                super::runtime::fill_leaderboard(&mut board, bench);
            }
            if let Some(validity) = &inputs.validity {
                super::validity::fill_leaderboard(&mut board, validity);
            }
            if let Some(game) = &inputs.game {
                super::game::fill_leaderboard(&mut board, game);
            }
            rank(&mut board);
            board
        },
        matrix: run.metrics.iter().map(matrix_row).collect(),
        failures: failures(run),
        ground_truth: ground_truth(&run.ground_truth),
        extra_sections: extra_sections(inputs),
    }
}

fn run_info(run: &CheckRun) -> RunInfo {
    let s = &run.settings;
    let mut toy = Vec::new();
    if let Ok(v) = serde_json::to_value(&run.toy) {
        flatten("", &v, &mut toy);
    }
    RunInfo {
        tool: run.tool.clone(),
        tool_version: run.tool_version.clone(),
        schema_version: run.schema_version,
        seeds: s
            .seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        n_samples: s.n_samples,
        bootstrap_resamples: s.bootstrap_resamples,
        confidence: format!(
            "{}%",
            num(100.0 * s.confidence)
                .trim_end_matches('0')
                .trim_end_matches('.')
        ),
        toy,
        plugins: run
            .plugins
            .iter()
            .map(|p| PluginRow {
                file: p
                    .path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: p.path.display().to_string(),
                sha256_short: p.sha256.chars().take(12).collect(),
                sha256: p.sha256.clone(),
                sdk_version: p.sdk_version.clone(),
            })
            .collect(),
        plugin_errors: run
            .plugin_errors
            .iter()
            .map(|e| PluginErrorRow {
                path: e.path.display().to_string(),
                message: e.message.clone(),
            })
            .collect(),
    }
}

/// JSON value → dotted `key = value` lines.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<KeyValue>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push(KeyValue {
            key: prefix.to_string(),
            value: other.to_string(),
        }),
    }
}

/// A serde enum's snake_case name, with spaces.
fn words<T: serde::Serialize>(x: &T) -> String {
    match serde_json::to_value(x) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        _ => String::new(),
    }
}

/// The status of a whole condition for a metric: error if any family
/// errored, else fail if any failed where the metric could see, else blind if
/// it failed only where blind, else pass if any passed, else vacuous or n/a.
fn condition_class(summaries: &[&ConditionSummary]) -> Option<&'static str> {
    if summaries.is_empty() {
        return None;
    }
    let has = |class: &str| {
        summaries
            .iter()
            .any(|s| status_class(s.status, s.structurally_blind) == class)
    };
    Some(
        [
            "error",
            "fail",
            "blind",
            "inconclusive",
            "pass",
            "vacuous",
            "na",
        ]
        .into_iter()
        .find(|c| has(c))
        .unwrap_or("na"),
    )
}

fn leaderboard(run: &CheckRun) -> Leaderboard {
    let rows: Vec<LeaderRow> = run
        .metrics
        .iter()
        .map(|m| {
            let r = &m.report;
            let mut row = LeaderRow {
                rank: None,
                metric: r.spec.id.clone(),
                oracle: m.oracle,
                description: r.spec.description.clone(),
                orientation: words(&r.spec.orientation),
                inputs: r
                    .spec
                    .inputs
                    .iter()
                    .map(words)
                    .collect::<Vec<_>>()
                    .join(", "),
                passed: 0,
                checked: 0,
                blind: 0,
                failed: 0,
                vacuous: 0,
                not_applicable: 0,
                inconclusive: 0,
                errors: 0,
                validity_rho: None,
                validity: None,
                gameability: None,
                runtime: None,
                scaling: None,
            };
            for c in ConditionId::ALL {
                let sums: Vec<&ConditionSummary> =
                    r.summary.iter().filter(|s| s.condition == c).collect();
                let Some(class) = condition_class(&sums) else {
                    continue;
                };
                row.checked += 1;
                match class {
                    "pass" => row.passed += 1,
                    "fail" => row.failed += 1,
                    "blind" => row.blind += 1,
                    "vacuous" => row.vacuous += 1,
                    "na" => row.not_applicable += 1,
                    "inconclusive" => row.inconclusive += 1,
                    _ => row.errors += 1,
                }
            }
            row
        })
        .collect();
    let mut board = Leaderboard {
        show_validity: false,
        show_runtime: false,
        show_gameability: false,
        rows,
    };
    rank(&mut board);
    board
}

/// The leaderboard order, in one sentence (shown above the table).
pub const LEADERBOARD_ORDER: &str = "Ranked by checks passed, where validity counts as one \
    more check (passed when the interval of Spearman's ρ with P_gt on trained SAEs lies above 0, \
    failed when ρ ≤ 0); ties go to fewer failures (errors and real failures first, then failures \
    on ladders the metric is blind to). So a metric whose ρ ≤ 0 never outranks one whose ρ is \
    clearly positive and which passes as many conditions.";

/// Orders the rows (see [`LEADERBOARD_ORDER`]) and numbers the non-oracle
/// ones; oracles come after every real metric. Run again after filling the
/// validity column.
pub fn rank(board: &mut Leaderboard) {
    let key = |r: &LeaderRow| {
        let (v_pass, v_fail) = match r.validity {
            Some(ValidityVerdict::Positive) => (1, 0),
            Some(ValidityVerdict::NotPositive) => (0, 1),
            _ => (0, 0),
        };
        (
            r.oracle,
            std::cmp::Reverse(r.passed + v_pass),
            r.errors + r.failed + v_fail,
            r.blind,
        )
    };
    board
        .rows
        .sort_by(|a, b| key(a).cmp(&key(b)).then(a.metric.cmp(&b.metric)));
    let mut n = 0;
    for r in board.rows.iter_mut() {
        r.rank = if r.oracle {
            None
        } else {
            n += 1;
            Some(n)
        };
    }
    board.show_validity = board.rows.iter().any(|r| r.validity_rho.is_some());
    board.show_runtime = board.rows.iter().any(|r| r.runtime.is_some());
    board.show_gameability = board.rows.iter().any(|r| r.gameability.is_some());
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), num)
}

fn evidence_row(c: &Comparison) -> EvidenceRow {
    let ci = match (c.ci_low, c.ci_high) {
        (Some(lo), Some(hi)) => format!("[{}, {}]", num(lo), num(hi)),
        (Some(lo), None) => format!("≥ {}", num(lo)),
        (None, Some(hi)) => format!("≤ {}", num(hi)),
        (None, None) => "–".into(),
    };
    EvidenceRow {
        label: c.label.clone(),
        lhs: fmt_opt(c.lhs),
        rhs: fmt_opt(c.rhs),
        diff: fmt_opt(c.diff),
        ci,
        bias: fmt_opt(c.bias),
        p_value: fmt_opt(c.p_value),
        allowed: fmt_opt(c.allowed),
        n_resamples: c.n_resamples.map_or_else(|| "–".into(), |n| n.to_string()),
        samples_needed: c
            .samples_needed
            .map_or_else(|| "–".into(), |n| n.to_string()),
    }
}

fn tolerance(t: &Tolerance) -> String {
    format!("atol {} + rtol {}", num(t.atol), num(t.rtol))
}

fn verdict_view(v: &Verdict) -> VerdictView {
    let scope = v.scope();
    VerdictView {
        scope: if scope.is_empty() {
            "once".into()
        } else {
            scope
        },
        class: status_class(v.status, v.structurally_blind),
        status: v.status.as_str().to_string(),
        reason: v.reason.clone(),
        tolerance: v.tolerance.as_ref().map(tolerance),
        evidence: v.evidence.iter().map(evidence_row).collect(),
    }
}

fn family_label(f: LadderFamily) -> String {
    f.to_string()
}

fn matrix_row(m: &MetricResult) -> MatrixRow {
    let r = &m.report;
    let n = ConditionId::ALL.len();
    MatrixRow {
        metric: r.spec.id.clone(),
        oracle: m.oracle,
        cells: ConditionId::ALL
            .iter()
            .enumerate()
            .map(|(i, &c)| MatrixCell {
                condition: c.to_string(),
                condition_name: c.name().to_string(),
                right: i >= n / 2,
                chips: r
                    .summary
                    .iter()
                    .filter(|s| s.condition == c)
                    .map(|s| {
                        let class = status_class(s.status, s.structurally_blind);
                        Chip {
                            class,
                            label: class_word(class).to_string(),
                            family: s.family.map(family_label),
                            status: s.status.as_str().to_string(),
                            reason: s.reason.clone(),
                            verdicts: r
                                .verdicts
                                .iter()
                                .filter(|v| v.condition == c && v.family == s.family)
                                .map(verdict_view)
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn failures(run: &CheckRun) -> Vec<FailureLine> {
    run.metrics
        .iter()
        .flat_map(|m| {
            m.report
                .summary
                .iter()
                .filter(|s| s.status.is_failure())
                .map(move |s| {
                    let case = m
                        .minimal_cases
                        .iter()
                        .find(|c| c.case.condition == s.condition && c.case.family == s.family);
                    FailureLine {
                        minimal_case: case.map(|c| c.describe()),
                        case_file: case.map(|c| c.file.clone()),
                        metric: m.report.spec.id.clone(),
                        oracle: m.oracle,
                        // Reasons usually start with the condition already.
                        condition: if s.reason.starts_with(&format!("{} ", s.condition)) {
                            String::new()
                        } else {
                            s.condition.to_string()
                        },
                        class: status_class(s.status, s.structurally_blind),
                        reason: s.reason.clone(),
                    }
                })
        })
        .collect()
}

/// `AND{0,1,2,3} + OR{4,5}`; `M (no merge)` for the monosemantic rung.
fn merges_text(merges: &[Merge]) -> String {
    if merges.is_empty() {
        return "M (no merge)".into();
    }
    merges
        .iter()
        .map(|m| {
            let kind = match m.kind {
                MergeKind::And => "AND",
                MergeKind::Or => "OR",
                MergeKind::Absorb => "ABSORB",
            };
            let members: Vec<String> = m.members.iter().map(usize::to_string).collect();
            format!("{kind}{{{}}}", members.join(","))
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn seed_cell(r: &RungSummary) -> LadderSeedCell {
    let and_only = r.merges.iter().all(|m| m.kind != MergeKind::Or);
    let analytic = and_only.then_some(r.analytic_l0_saving);
    LadderSeedCell {
        p_gt: fmt_opt(r.p_gt),
        total_l0: r.total_l0,
        l0_saving: r.l0_saving,
        analytic_l0_saving: analytic,
        matches: analytic.is_none_or(|a| i64::try_from(a).is_ok_and(|a| a == r.l0_saving)),
    }
}

/// Series classes by family, so AND/OR/growing keep one color everywhere.
fn family_class(f: LadderFamily) -> &'static str {
    match f {
        LadderFamily::And => "s0",
        LadderFamily::Or => "s1",
        LadderFamily::Growing => "s2",
        LadderFamily::Absorption => "s3",
    }
}

fn rung_of(s: &SeedLadders, f: LadderFamily, k: usize) -> Option<&RungSummary> {
    s.ladders
        .iter()
        .find(|l| l.family == f)
        .and_then(|l| l.rungs.iter().find(|r| r.rung == k))
}

fn ground_truth(seeds: &[SeedLadders]) -> Option<GroundTruth> {
    let first = seeds.first()?;
    let families: Vec<LadderFamily> = first.ladders.iter().map(|l| l.family).collect();
    let mut tables = Vec::new();
    let mut series = Vec::new();
    for &f in &families {
        let n_rungs = seeds
            .iter()
            .filter_map(|s| s.ladders.iter().find(|l| l.family == f))
            .map(|l| l.rungs.len())
            .max()
            .unwrap_or(0);
        let mut rows = Vec::new();
        let mut points = Vec::new();
        for k in 0..n_rungs {
            let per_seed: Vec<Option<&RungSummary>> =
                seeds.iter().map(|s| rung_of(s, f, k)).collect();
            let base = per_seed.iter().flatten().next();
            let merges = base.map(|r| merges_text(&r.merges)).unwrap_or_default();
            let merges_vary = per_seed
                .iter()
                .flatten()
                .any(|r| base.is_some_and(|b| b.merges != r.merges));
            let cells: Vec<LadderSeedCell> = per_seed
                .iter()
                .map(|r| {
                    r.map(seed_cell).unwrap_or(LadderSeedCell {
                        p_gt: "–".into(),
                        total_l0: 0,
                        l0_saving: 0,
                        analytic_l0_saving: None,
                        matches: true,
                    })
                })
                .collect();
            let values: Vec<f64> = per_seed.iter().flatten().filter_map(|r| r.p_gt).collect();
            if !values.is_empty() {
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                let each: Vec<String> = seeds
                    .iter()
                    .zip(&per_seed)
                    .filter_map(|(s, r)| r.and_then(|r| r.p_gt).map(|p| (s.seed, p)))
                    .map(|(s, p)| format!("seed {s}: {}", num(p)))
                    .collect();
                points.push(Point {
                    x: k as f64,
                    y: mean,
                    tip: format!(
                        "{f} ladder, rung {k}: mean P_gt {} ({})",
                        num(mean),
                        each.join(", ")
                    ),
                });
            }
            rows.push(LadderRungRow {
                rung: k,
                merges,
                merges_vary,
                seeds: cells,
            });
        }
        let and_built = rows
            .iter()
            .all(|r| r.seeds.iter().all(|c| c.analytic_l0_saving.is_some()));
        tables.push(LadderTable {
            family: f.to_string(),
            and_built,
            rungs: rows,
        });
        series.push(Series {
            name: format!("{f} ladder"),
            class: family_class(f).into(),
            points,
            line: true,
        });
    }
    let all_savings_match = tables
        .iter()
        .flat_map(|t| &t.rungs)
        .flat_map(|r| &r.seeds)
        .all(|c| c.matches);
    let n = seeds.len();
    Some(GroundTruth {
        seeds: seeds.iter().map(|s| s.seed).collect(),
        families: tables,
        chart: chart::layout(&ChartSpec {
            id: "pgt-ladder".into(),
            title: format!(
                "Ground-truth polysemanticity per ladder rung (mean of {n} seed{})",
                if n == 1 { "" } else { "s" }
            ),
            x_label: "ladder rung k (0 = monosemantic M)".into(),
            y_label: "P_gt".into(),
            x_integer: true,
            y_from_zero: true,
            series,
        }),
        all_savings_match,
    })
}

/// The sections fed by other commands' results: each carries its content
/// when its input exists, else the note naming what produces it.
fn extra_sections(inputs: &ReportInputs) -> Vec<ExtraSection> {
    vec![
        super::toy_sections::sae_leaderboard(inputs.train.as_ref()),
        super::toy_sections::rate_distortion(inputs.rdp.as_ref()),
        super::toy_sections::pgt_vs_cooccurrence(inputs.rdp.as_ref()),
        super::validity::section(inputs.validity.as_ref()),
        super::game::section(inputs.game.as_ref()),
        super::runtime::section(inputs.bench.as_ref()),
        super::real::section(inputs.real.as_ref(), inputs.real_bench.as_ref()),
        super::eval::section(inputs.eval.as_ref()),
        super::planted::section(inputs.planted.as_ref()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        metric: &str,
        passed: usize,
        failed: usize,
        validity: Option<ValidityVerdict>,
    ) -> LeaderRow {
        LeaderRow {
            rank: None,
            metric: metric.into(),
            oracle: false,
            description: String::new(),
            orientation: String::new(),
            inputs: String::new(),
            passed,
            checked: 11,
            blind: 0,
            failed,
            vacuous: 0,
            not_applicable: 0,
            inconclusive: 0,
            errors: 0,
            validity_rho: validity.map(|_| "ρ".into()),
            validity,
            gameability: None,
            runtime: None,
            scaling: None,
        }
    }

    /// js-separability's case in the issue: more conditions passed but
    /// ρ = −0.32 must not outrank a metric with a clearly positive ρ and as
    /// many conditions passed; with one more condition passed it still may.
    #[test]
    fn validity_counts_beside_the_conditions() {
        let mut board = Leaderboard {
            rows: vec![
                row("negative-rho", 9, 2, Some(ValidityVerdict::NotPositive)),
                row("positive-rho", 9, 2, Some(ValidityVerdict::Positive)),
                row("undecided", 9, 2, Some(ValidityVerdict::Undecided)),
                row(
                    "more-passed-negative",
                    11,
                    0,
                    Some(ValidityVerdict::NotPositive),
                ),
                row("no-validity", 8, 3, None),
            ],
            show_validity: false,
            show_runtime: false,
            show_gameability: false,
        };
        rank(&mut board);
        let order: Vec<&str> = board.rows.iter().map(|r| r.metric.as_str()).collect();
        assert_eq!(
            order,
            [
                "more-passed-negative",
                "positive-rho",
                "undecided",
                "negative-rho",
                "no-validity"
            ]
        );
        assert_eq!(board.rows[0].rank, Some(1));
        assert!(board.show_validity);
    }

    #[test]
    fn validity_verdict_reads_rho_and_its_interval() {
        assert_eq!(
            ValidityVerdict::of(Some(0.5), Some([0.1, 0.8])),
            ValidityVerdict::Positive
        );
        assert_eq!(
            ValidityVerdict::of(Some(0.5), Some([-0.1, 0.8])),
            ValidityVerdict::Undecided
        );
        assert_eq!(
            ValidityVerdict::of(Some(0.0), Some([-0.1, 0.1])),
            ValidityVerdict::NotPositive
        );
        assert_eq!(
            ValidityVerdict::of(Some(-0.32), None),
            ValidityVerdict::NotPositive
        );
        assert_eq!(
            ValidityVerdict::of(None, None),
            ValidityVerdict::NotPositive
        );
        assert_eq!(
            ValidityVerdict::of(Some(0.4), None),
            ValidityVerdict::Undecided
        );
    }
}
