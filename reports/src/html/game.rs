//! The "Gameability" section and the leaderboard's gameability column,
//! from `game.json` (`rdpbench game`).

use super::data::{ExtraSection, Leaderboard, SectionContent, Table};
use rdpbench_core::conditions::verdict::num;
use rdpbench_schema::results::game::GameRun;

/// The leaderboard cell: improvement in unit steps, or why none.
fn cell(m: &rdpbench_core::game::MetricGame) -> String {
    match (&m.unit, m.best_in_steps) {
        (None, _) => "no unit".into(),
        (Some((family, _)), Some(b)) => format!(
            "{}{} {family} steps",
            if m.gameable { "gameable: " } else { "" },
            num(b.max(0.0))
        ),
        (Some(_), None) => "–".into(),
    }
}

/// Fills the leaderboard's gameability column.
pub fn fill_leaderboard(board: &mut Leaderboard, game: &GameRun) {
    for row in &mut board.rows {
        if let Some(m) = game.metric(&row.metric) {
            row.gameability = Some(cell(m));
        }
    }
    board.show_gameability = board.rows.iter().any(|r| r.gameability.is_some());
}

/// The section; without game results, the note naming the command.
pub fn section(game: Option<&GameRun>) -> ExtraSection {
    ExtraSection {
        id: "gameability",
        title: "Gameability: edits that improve a metric while P_gt does not fall",
        content: game.map(content),
        needs: "game.json beside check.json (`rdpbench game`)",
    }
}

fn content(run: &GameRun) -> SectionContent {
    let s = &run.settings;
    let intro = format!(
        "From the first rung of each ladder (oracle SAEs with P_gt > 0), a beam search (depth {}, \
         beam {}, {} metric evaluations per start, seed {}) looks for the edit sequence (merge, absorb, \
         split, add dead latents, rescale, drop) that most lowers the metric's score while P_gt does \
         not fall. Improvement is in units of the metric's own OR step (or, where that is flat, its \
         largest positive ladder step); \"gameable\" above {} steps; not gameable means not within \
         this budget. Each sequence below passes through the SAEs its edits name, from the start's \
         P_gt to the final one.",
        s.depth, s.beam, s.evaluations, s.seed, s.gameable_steps
    );
    let mut rows = Vec::new();
    for m in &run.metrics {
        for r in &m.starts {
            let Some(b) = &r.best else { continue };
            rows.push(vec![
                m.id.clone(),
                r.start.clone(),
                b.described.join(" → "),
                format!("{} → {}", num(r.p_gt_before), num(b.p_gt_after)),
                format!(
                    "{} → {}",
                    r.score_before.map_or("–".into(), num),
                    num(b.score_after)
                ),
                b.improvement_in_steps.map_or("–".into(), num),
            ]);
        }
    }
    let summary = Table {
        caption: "Per metric".into(),
        columns: ["metric", "OR step", "unit", "best (unit steps)", "verdict"]
            .map(String::from)
            .to_vec(),
        rows: run
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.id.clone(),
                    m.or_step.map_or("–".into(), num),
                    m.unit
                        .as_ref()
                        .map_or("–".into(), |(f, s)| format!("{f}: {}", num(*s))),
                    m.best_in_steps.map_or("–".into(), |b| num(b.max(0.0))),
                    m.verdict.clone(),
                ]
            })
            .collect(),
    };
    let sequences = Table {
        caption: "Best sequence from each start".into(),
        columns: [
            "metric",
            "start",
            "edits",
            "P_gt before → after",
            "score before → after",
            "improvement (unit steps)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    };
    SectionContent {
        intro,
        tables: vec![summary, sequences],
        charts: Vec::new(),
    }
}
