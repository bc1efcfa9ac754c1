//! `planted.json`, `planted.md`: a [`PlantedRun`] in each format.

use crate::{Exporter, FnExporter, Json};
use rdpbench_schema::results::planted::{PlantedRun, TransferVerdict, Trend};
use rdpbench_schema::results::validity::RhoEstimate;
use rdpbench_store::ResultFile;
use std::fmt::Write;

/// The exporters of the planted stage's result files.
pub fn exporters() -> Vec<Box<dyn Exporter<PlantedRun>>> {
    vec![
        Box::new(Json(ResultFile::PlantedJson)),
        Box::new(FnExporter::new(
            "markdown",
            ResultFile::PlantedMarkdown,
            markdown,
        )),
    ]
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

fn rho(r: Option<&RhoEstimate>) -> String {
    match r {
        None => "n/a".into(),
        Some(r) => match (r.rho, r.ci) {
            (Some(v), Some([a, b])) => format!("{v:.3} [{a:.3}, {b:.3}]"),
            (Some(v), None) => format!("{v:.3} [n/a]"),
            (None, _) => format!("n/a ({})", r.reason.as_deref().unwrap_or("undefined")),
        },
    }
}

/// The verdict's words.
pub fn verdict_text(v: TransferVerdict) -> &'static str {
    match v {
        TransferVerdict::Transfers => "transfers",
        TransferVerdict::DoesNotTransfer => "does not transfer",
        TransferVerdict::Undecided => "undecided",
    }
}

/// The trend's words.
pub fn trend_text(t: Trend) -> &'static str {
    match t {
        Trend::Rises => "rises",
        Trend::Falls => "falls",
        Trend::Undecided => "undecided",
    }
}

/// `planted.md`: background, R2, the transfer table and the ladder verdicts.
pub fn markdown(run: &PlantedRun) -> String {
    let mut s = String::new();
    let b = &run.background;
    let _ = writeln!(s, "# Planted features: does toy validity transfer?\n");
    let _ = writeln!(
        s,
        "Background: {} ({} training rows, {} held-out rows, d = {}; max/median norm {:.1}). \
         Planted subspace `{}`, magnitude {} × the mean background norm; \
         a latent counts as planted when its residual on the planted directions is ≤ {:.3}.\n",
        b.source,
        b.n_train_rows,
        b.n_eval_rows,
        b.stats.d,
        b.stats.max_over_median,
        run.settings.subspace,
        run.settings.magnitude,
        run.settings.background_residual,
    );
    for p in &run.plantings {
        let _ = writeln!(
            s,
            "- planting subspace of dimension {}: background variance {:.3} × a random subspace's",
            p.dim, p.variance_ratio
        );
    }
    let r2 = &run.r2;
    let _ = writeln!(
        s,
        "\n## R2: P_gt on the planted concepts against co-occurrence\n\n{} at {} = {}: \
         slope {} (95% interval {}), **{}**.\n",
        r2.architecture,
        r2.sparsity.knob,
        r2.sparsity.value,
        num(r2.slope.value),
        r2.slope
            .ci
            .map_or("n/a".into(), |[a, b]| format!("[{a:.3}, {b:.3}]")),
        trend_text(r2.trend)
    );
    let _ = writeln!(s, "| q / p | mean P_gt (planted) |\n|---|---|");
    for (q, m) in run.settings.r2_q_factors.iter().zip(&r2.mean_by_q) {
        let _ = writeln!(s, "| {q} | {} |", num(*m));
    }
    let _ = writeln!(
        s,
        "\n## Validity transfer: Spearman ρ with P_gt, toy vs planted\n\n\
         Toy ρ from {}; planted ρ over {} SAEs trained on planted data.\n",
        run.toy_validity_source,
        run.population.len()
    );
    let _ = writeln!(
        s,
        "| metric | toy ρ [95% CI] | planted ρ [95% CI] | verdict |"
    );
    let _ = writeln!(s, "|---|---|---|---|");
    for m in &run.transfer {
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} |",
            m.id,
            if m.oracle { " (oracle)" } else { "" },
            rho(m.toy.as_ref()),
            rho(Some(&m.planted)),
            verdict_text(m.verdict)
        );
    }
    let l = &run.ladders;
    let _ = writeln!(
        s,
        "\n## Ladders on the background: C1, C2, C8, toy vs planted\n\n\
         Background code: {} (d_sae {}, {} = {}), L0 {} and EV {} on the background rows.\n",
        l.background_sae.architecture,
        l.background_sae.d_sae,
        l.background_sae.sparsity.knob,
        l.background_sae.sparsity.value,
        num(l.background_sae.l0),
        num(l.background_sae.explained_variance)
    );
    let _ = writeln!(
        s,
        "| metric | same verdicts | differences (toy → planted) |"
    );
    let _ = writeln!(s, "|---|---|---|");
    for m in &l.metrics {
        let same = m.verdicts.iter().filter(|v| v.same()).count();
        let diffs: Vec<String> = m
            .verdicts
            .iter()
            .filter(|v| !v.same())
            .map(|v| {
                format!(
                    "{}{}: {} → {}",
                    v.condition,
                    v.family.map_or(String::new(), |f| format!(" {f}")),
                    v.toy.as_str(),
                    v.planted.as_str()
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "| {} | {same}/{} | {} |",
            m.id,
            m.verdicts.len(),
            if diffs.is_empty() {
                "none".to_string()
            } else {
                diffs.join("; ")
            }
        );
    }
    s
}
