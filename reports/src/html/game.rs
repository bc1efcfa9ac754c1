//! The "Gameability" section and the leaderboard's gameability column,
//! from `game.json` (`rdpbench game`).

use super::data::{ExtraSection, Heatmap, HeatmapPair, Leaderboard, SectionContent, Table};
use rdpbench_core::conditions::verdict::num;
use rdpbench_core::game::Starts;
use rdpbench_core::toy::EvalCase;
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
        heatmaps: heatmaps(run),
    }
}

/// `|cos(w_j, v_i)|`: latents × concepts.
fn concept_cosines(case: &EvalCase) -> Vec<Vec<f64>> {
    let v = &case.directions;
    (0..case.d_sae())
        .map(|j| {
            let w = case.decoder.row(j);
            let nw = w.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            (0..v.rows)
                .map(|i| {
                    let vi = v.row(i);
                    let nv = vi.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
                    let d: f64 = w.iter().zip(vi).map(|(&a, &b)| a as f64 * b as f64).sum();
                    if nw > 0.0 && nv > 0.0 {
                        (d / (nw * nv)).abs()
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// For each gameable metric, its best sequence drawn as the SAE it starts
/// from and the SAE it ends at: decoder rows × concepts, `|cos|`. The SAEs
/// are rebuilt from `game.json`'s toy and settings and the recorded edits
/// (the search is deterministic), so nothing large is stored.
fn heatmaps(run: &GameRun) -> Vec<HeatmapPair> {
    let Ok(starts) = Starts::build(&run.toy, &run.settings) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in run.metrics.iter().filter(|m| m.gameable) {
        let Some((r, best)) = m
            .starts
            .iter()
            .filter_map(|r| Some((r, r.best.as_ref()?)))
            .max_by(|a, b| a.1.improvement.total_cmp(&b.1.improvement))
        else {
            continue;
        };
        let Some((_, start, _)) = starts.cases.iter().find(|(n, _, _)| *n == r.start) else {
            continue;
        };
        let mut after = start.clone();
        let mut ok = true;
        for e in &best.edits {
            match e.apply(&after) {
                Some(c) => after = c,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let size = 7.0;
        out.push(HeatmapPair {
            caption: format!(
                "{}: {} from {}, P_gt {} → {}, score {} → {} (|cos| of each decoder row, one per line, \
                 with each concept direction, one per column)",
                m.id,
                best.described.join(" → "),
                r.start,
                num(r.p_gt_before),
                num(best.p_gt_after),
                r.score_before.map_or("–".into(), num),
                num(best.score_after)
            ),
            left: Heatmap::new(
                format!("before: {} ({} latents)", r.start, start.d_sae()),
                &concept_cosines(start),
                "latent",
                "concept",
                size,
            ),
            right: Heatmap::new(
                format!("after {} edit(s) ({} latents)", best.edits.len(), after.d_sae()),
                &concept_cosines(&after),
                "latent",
                "concept",
                size,
            ),
        });
    }
    out
}
