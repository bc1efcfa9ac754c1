//! `validity.md`: each metric's ρ with `P_gt` and discriminability, and the
//! population it was measured on; plus [`verdicts_with_validity`], the
//! metric × condition matrix of a check run with the validity columns.

use crate::Exporter;
use crate::check::matrix_cell;
use rdpbench_core::conditions::ConditionId;
use rdpbench_schema::results::CheckRun;
use rdpbench_schema::results::validity::{MetricValidity, ValidityRun};
use rdpbench_store::ResultFile;
use std::fmt::Write;

#[derive(Debug)]
pub struct ValidityMarkdown;

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

fn fixed(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |v| format!("{v:.3}"))
}

/// `ρ` as `0.812`, or `undefined`.
pub(crate) fn rho_text(m: &MetricValidity) -> String {
    m.rho
        .rho
        .map_or_else(|| "undefined".into(), |r| format!("{r:.3}"))
}

/// `[0.701, 0.903]`, or `–`.
pub(crate) fn ci_text(m: &MetricValidity) -> String {
    m.rho
        .ci
        .map_or_else(|| "–".into(), |[lo, hi]| format!("[{lo:.3}, {hi:.3}]"))
}

/// The F ratio with up to 3 significant decimals, or `undefined`.
pub(crate) fn f_text(m: &MetricValidity) -> String {
    m.discriminability.f_ratio.map_or_else(
        || "undefined".into(),
        rdpbench_core::conditions::verdict::num,
    )
}

fn oracle_tag(oracle: bool) -> &'static str {
    if oracle { " (oracle)" } else { "" }
}

impl Exporter<ValidityRun> for ValidityMarkdown {
    fn format(&self) -> &'static str {
        "markdown"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(ResultFile::ValidityMarkdown)
    }

    fn render(&self, run: &ValidityRun) -> anyhow::Result<String> {
        let s = &run.settings;
        let mut md = String::from("# rdpbench validity\n\n");
        let n_configs = run
            .population
            .iter()
            .map(|r| r.config_index + 1)
            .max()
            .unwrap_or(0);
        let range = run.p_gt_range().map_or_else(
            || "undefined".into(),
            |[lo, hi]| format!("{lo:.3} – {hi:.3}"),
        );
        writeln!(
            md,
            "{} trained SAEs (architectures {:?}, co-occurrence levels q/p {:?}, seeds {:?}, \
             d_sae {}, {} steps) in {n_configs} configurations; P_gt range {range}, \
             P_gt discriminability F = {}. ρ: Spearman rank correlation of the oriented score \
             (higher = more polysemantic) with P_gt over SAEs where both are defined, \
             {:.0}% percentile-bootstrap interval over SAEs ({} resamples, seed {}). \
             F: between-configuration over within-configuration (reseed) mean square.\n",
            run.population.len(),
            s.architectures,
            s.q_factors,
            s.seeds,
            s.d_sae,
            s.steps,
            run.p_gt_discriminability.f_ratio.map_or_else(
                || "undefined".into(),
                rdpbench_core::conditions::verdict::num
            ),
            100.0 * s.confidence,
            s.bootstrap_resamples,
            run.seed,
        )?;
        md.push_str(
            "| metric | ρ with P_gt | CI | discriminability F | defined | undefined | errors |\n",
        );
        md.push_str("|---|---|---|---|---|---|---|\n");
        for m in &run.metrics {
            writeln!(
                md,
                "| `{}`{} | {} | {} | {} | {} | {} | {} |",
                cell(&m.id),
                oracle_tag(m.oracle),
                rho_text(m),
                ci_text(m),
                f_text(m),
                m.n_defined,
                m.n_undefined,
                m.n_errors
            )?;
        }
        let notes: Vec<String> = run
            .metrics
            .iter()
            .flat_map(|m| {
                let rho = m
                    .rho
                    .reason
                    .as_ref()
                    .map(|r| format!("- `{}` ρ: {}", cell(&m.id), cell(r)));
                let f = m
                    .discriminability
                    .reason
                    .as_ref()
                    .map(|r| format!("- `{}` F: {}", cell(&m.id), cell(r)));
                rho.into_iter().chain(f)
            })
            .collect();
        if !notes.is_empty() {
            md.push_str("\n## Undefined values\n\n");
            md.push_str(&notes.join("\n"));
            md.push('\n');
        }
        md.push_str("\n## Population\n\n| SAE | q/p | L0 | EV | MSE | P_gt | MCC |\n|---|---|---|---|---|---|---|\n");
        for r in &run.population {
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&r.sae_id),
                r.q_factor,
                fixed(r.l0),
                fixed(r.explained_variance),
                r.mse.map_or_else(|| "–".into(), |v| format!("{v:.3e}")),
                fixed(r.p_gt),
                fixed(r.mcc)
            )?;
        }
        Ok(md)
    }
}

/// The metric × condition matrix of `check` with each metric's validity ρ
/// (and interval) and discriminability F from `validity` (`–` for a metric
/// the validity run did not score).
pub fn verdicts_with_validity(check: &CheckRun, validity: &ValidityRun) -> String {
    let mut md = String::from("| metric |");
    for c in ConditionId::ALL {
        md.push_str(&format!(" {c} |"));
    }
    md.push_str(" validity ρ | ρ CI | F |\n|---|");
    md.push_str(&"---|".repeat(ConditionId::ALL.len() + 3));
    md.push('\n');
    for m in &check.metrics {
        let id = &m.report.spec.id;
        md.push_str(&format!("| `{}`{} |", cell(id), oracle_tag(m.oracle)));
        for c in ConditionId::ALL {
            md.push_str(&format!(" {} |", cell(&matrix_cell(&m.report, c))));
        }
        match validity.metric(id) {
            Some(v) => md.push_str(&format!(
                " {} | {} | {} |\n",
                rho_text(v),
                ci_text(v),
                f_text(v)
            )),
            None => md.push_str(" – | – | – |\n"),
        }
    }
    md
}
