//! `game.json`, `game.md`: a [`GameRun`] in each format. Plugin strings are
//! escaped for Markdown table cells.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::game::GameRun;
use rdpbench_store::ResultFile;

/// The exporters of the game stage's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<GameRun>>> {
    vec![
        Box::new(Json(ResultFile::GameJson)),
        Box::new(FnExporter::new(
            "markdown",
            ResultFile::GameMarkdown,
            markdown,
        )),
    ]
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn num(x: Option<f64>) -> String {
    x.map_or("–".into(), rdpbench_core::conditions::verdict::num)
}

/// `game.md`: one row per metric (its best sequence over the starts), then
/// every start.
pub fn markdown(run: &GameRun) -> String {
    let s = &run.settings;
    let mut md = format!(
        "# rdpbench game\n\nBeam search (depth {}, beam {}, {} metric evaluations per start) over edits \
         to oracle SAEs with P_gt > 0, for the sequence that most lowers each metric's score \
         (oriented: higher = more polysemantic) while P_gt does not fall. Improvement is in units \
         of the metric's own OR step (m(OR L1) − m(M)), or, where that step is flat, its largest \
         positive step on the other ladders; \"gameable\" above {} steps. Not gameable means: not within \
         this budget.\n\n",
        s.depth, s.beam, s.evaluations, s.gameable_steps
    );
    md.push_str("| metric | OR step | unit step | best improvement (unit steps) | verdict | best sequence | P_gt before → after |\n");
    md.push_str("|---|---|---|---|---|---|---|\n");
    for m in &run.metrics {
        let best = m
            .starts
            .iter()
            .filter_map(|r| Some((r, r.best.as_ref()?)))
            .max_by(|a, b| a.1.improvement.total_cmp(&b.1.improvement));
        let (seq, pgt) = best.map_or(("–".to_string(), "–".to_string()), |(r, b)| {
            (
                format!("{}: {}", r.start, b.described.join(", ")),
                format!("{} → {}", num(Some(r.p_gt_before)), num(Some(b.p_gt_after))),
            )
        });
        let unit = m.unit.as_ref().map_or("–".to_string(), |(f, s)| {
            format!("{f}: {}", num(Some(*s)))
        });
        md.push_str(&format!(
            "| `{}`{} | {} | {unit} | {} | {} | {} | {} |\n",
            cell(&m.id),
            if m.oracle { " (oracle)" } else { "" },
            num(m.or_step),
            num(m.best_in_steps),
            cell(&m.verdict),
            cell(&seq),
            pgt
        ));
    }
    md.push_str("\n## Every start\n\n| metric | start | score before | score after | improvement | evaluations (metric, P_gt) | sequence |\n|---|---|---|---|---|---|---|\n");
    for m in &run.metrics {
        for r in &m.starts {
            let (after, imp, seq) = r.best.as_ref().map_or(
                (
                    "–".to_string(),
                    "–".to_string(),
                    "none admissible".to_string(),
                ),
                |b| {
                    (
                        num(Some(b.score_after)),
                        num(Some(b.improvement)),
                        b.described.join(", "),
                    )
                },
            );
            md.push_str(&format!(
                "| `{}` | {} | {} | {after} | {imp} | {}, {} | {} |\n",
                cell(&m.id),
                r.start,
                num(r.score_before),
                r.evaluations,
                r.p_gt_evaluations,
                cell(&seq)
            ));
        }
    }
    md
}
