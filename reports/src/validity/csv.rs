//! `validity.csv`: one row per (metric, SAE), long format, with the SAE's
//! population columns and the metric's oriented score; the metric's ρ and
//! discriminability repeat on each of its rows. Empty cells are undefined.

use crate::Exporter;
use rdpbench_schema::results::validity::{SaeScore, ValidityRun};
use rdpbench_store::ResultFile;

#[derive(Debug)]
pub struct ValidityCsv;

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter<ValidityRun> for ValidityCsv {
    fn format(&self) -> &'static str {
        "csv"
    }
    fn file(&self) -> Option<ResultFile> {
        Some(ResultFile::ValidityCsv)
    }

    fn render(&self, run: &ValidityRun) -> anyhow::Result<String> {
        let mut out = String::from(
            "metric,oracle,sae_id,architecture,sparsity_knob,sparsity,q_factor,seed,config,l0,\
             explained_variance,mse,p_gt,mcc,score_kind,score,undefined_reason,rho,rho_low,\
             rho_high,f_ratio\n",
        );
        for m in &run.metrics {
            let ci = m.rho.ci;
            for (s, r) in m.scores.iter().zip(&run.population) {
                let (knob, level) = (r.sparsity.knob.as_str(), r.sparsity.value);
                let (kind, value, reason) = match s {
                    SaeScore::Value { value } => ("value", Some(*value), ""),
                    SaeScore::Undefined { reason } => ("undefined", None, reason.as_str()),
                    SaeScore::Error { message } => ("error", None, message.as_str()),
                };
                let row = [
                    field(&m.id),
                    m.oracle.to_string(),
                    field(&r.sae_id),
                    field(&r.architecture),
                    knob.to_string(),
                    level.to_string(),
                    r.q_factor.to_string(),
                    r.seed.to_string(),
                    r.config_index.to_string(),
                    opt(r.l0),
                    opt(r.explained_variance),
                    opt(r.mse),
                    opt(r.p_gt),
                    opt(r.mcc),
                    kind.to_string(),
                    opt(value),
                    field(reason),
                    opt(m.rho.rho),
                    opt(ci.map(|c| c[0])),
                    opt(ci.map(|c| c[1])),
                    opt(m.discriminability.f_ratio),
                ];
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
        Ok(out)
    }
}
