//! The eval section of `rdpbench compare`: two `eval.json` runs, SAE by SAE
//! (matched by folder path), every core number and metric value with its
//! delta. A metric change is significant when both runs give an interval
//! and the intervals are disjoint; a core number is exact (no interval), so
//! any change beyond 1e-9 relative is listed.

use rdpbench_schema::results::eval::{EvalRun, EvalSae};
use serde::Serialize;

/// One number of one SAE in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalDelta {
    pub sae: String,
    /// A core number's name or `metrics.<id>`.
    pub quantity: String,
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// Disjoint intervals (metrics) or any change (core numbers).
    pub significant: bool,
}

/// The comparison of two eval runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalComparison {
    /// Every number that differs (or exists in one run only).
    pub deltas: Vec<EvalDelta>,
    /// SAEs in one run only, and other notes.
    pub notes: Vec<String>,
}

impl EvalComparison {
    pub fn significant(&self) -> usize {
        self.deltas.iter().filter(|d| d.significant).count()
    }
}

fn core(s: &EvalSae) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("l0", Some(s.l0)),
        ("l1", Some(s.l1)),
        ("mse", Some(s.mse)),
        ("explained_variance", s.explained_variance),
        ("explained_variance_legacy", s.explained_variance_legacy),
        ("cossim", s.cossim),
        ("l2_ratio", Some(s.l2_ratio)),
        (
            "relative_reconstruction_bias",
            s.relative_reconstruction_bias,
        ),
        ("dead_fraction", Some(s.dead_fraction)),
        ("dense_fraction", Some(s.dense_fraction)),
    ]
}

fn differs(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1e-300),
        (None, None) => false,
        _ => true,
    }
}

/// Compares run `a` (before) with `b` (after).
pub fn compare_eval(a: &EvalRun, b: &EvalRun) -> EvalComparison {
    let mut deltas = Vec::new();
    let mut notes = Vec::new();
    if a.activations.path != b.activations.path || a.activations.n_tokens != b.activations.n_tokens
    {
        notes.push(format!(
            "different activations: A {} ({} tokens), B {} ({} tokens)",
            a.activations.path, a.activations.n_tokens, b.activations.path, b.activations.n_tokens
        ));
    }
    if a.settings != b.settings {
        notes
            .push("different eval settings (batch_tokens, metric_tokens, resamples, seed…)".into());
    }
    for sa in &a.saes {
        let Some(sb) = b.saes.iter().find(|s| s.path == sa.path) else {
            notes.push(format!("{} only in A", sa.path));
            continue;
        };
        for ((name, va), (_, vb)) in core(sa).into_iter().zip(core(sb)) {
            if differs(va, vb) {
                deltas.push(EvalDelta {
                    sae: sa.path.clone(),
                    quantity: name.into(),
                    a: va,
                    b: vb,
                    significant: true,
                });
            }
        }
        let mut ids: Vec<&String> = sa.metrics.keys().chain(sb.metrics.keys()).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let (ma, mb) = (sa.metrics.get(id), sb.metrics.get(id));
            let (va, vb) = (ma.and_then(|m| m.value), mb.and_then(|m| m.value));
            if !differs(va, vb) {
                continue;
            }
            let disjoint = match (ma, mb) {
                (Some(x), Some(y)) => match (x.ci_low, x.ci_high, y.ci_low, y.ci_high) {
                    (Some(al), Some(ah), Some(bl), Some(bh)) => ah < bl || bh < al,
                    _ => false,
                },
                _ => true,
            };
            deltas.push(EvalDelta {
                sae: sa.path.clone(),
                quantity: format!("metrics.{id}"),
                a: va,
                b: vb,
                significant: disjoint,
            });
        }
    }
    for sb in &b.saes {
        if !a.saes.iter().any(|s| s.path == sb.path) {
            notes.push(format!("{} only in B", sb.path));
        }
    }
    EvalComparison { deltas, notes }
}

/// The terminal (and Markdown-compatible) lines of the section.
pub fn render(c: &EvalComparison) -> String {
    let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.6}"));
    let mut out = format!(
        "\neval: {} number(s) changed, {} significant (core numbers: any change; metrics: disjoint intervals)\n",
        c.deltas.len(),
        c.significant()
    );
    for d in &c.deltas {
        out.push_str(&format!(
            "  {}{} {}: {} -> {}\n",
            if d.significant { "* " } else { "  " },
            d.sae,
            d.quantity,
            f(d.a),
            f(d.b)
        ));
    }
    for n in &c.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_schema::results::eval::{ActivationsSource, EvalMetric, EvalSettings};
    use std::collections::BTreeMap;

    fn run(mse: f64, value: f64, ci: [f64; 2]) -> EvalRun {
        let metric = EvalMetric {
            value: Some(value),
            ci_low: Some(ci[0]),
            ci_high: Some(ci[1]),
            orientation: "higher_is_more_polysemantic".into(),
            n_resamples: 10,
            n_resamples_defined: 10,
            note: None,
            check: None,
        };
        EvalRun {
            schema_version: 1,
            activations: ActivationsSource {
                path: "a.npy".into(),
                format: "npy".into(),
                key: String::new(),
                dtype: "f32".into(),
                n_tokens: 10,
                d_in: 2,
            },
            labels: None,
            settings: EvalSettings {
                batch_tokens: 4,
                dense_threshold: 0.1,
                metric_tokens: 10,
                resamples: 10,
                confidence: 0.95,
                seed: 0,
            },
            saes: vec![EvalSae {
                path: "s".into(),
                architecture: "topk".into(),
                plugin: "topk".into(),
                d_in: 2,
                d_sae: 4,
                n_tokens: 10,
                cfg: BTreeMap::new(),
                l0: 2.0,
                l1: 1.0,
                mse,
                mse_elementwise: mse / 2.0,
                explained_variance: Some(0.5),
                explained_variance_legacy: Some(0.4),
                cossim: Some(0.9),
                l2_norm_in: 1.0,
                l2_norm_out: 1.0,
                l2_ratio: 1.0,
                relative_reconstruction_bias: Some(1.0),
                dead_fraction: 0.0,
                dense_fraction: 0.0,
                metrics: BTreeMap::from([("m".to_string(), metric)]),
            }],
        }
    }

    #[test]
    fn changed_numbers_and_disjoint_intervals_are_listed() {
        let c = compare_eval(&run(1.0, 0.5, [0.4, 0.6]), &run(1.0, 0.55, [0.5, 0.7]));
        // Only the metric moved, inside overlapping intervals: not significant.
        assert_eq!(c.deltas.len(), 1);
        assert!(!c.deltas[0].significant && c.deltas[0].quantity == "metrics.m");
        let c = compare_eval(&run(1.0, 0.5, [0.4, 0.6]), &run(2.0, 0.9, [0.8, 1.0]));
        assert_eq!(c.significant(), 2);
        assert!(render(&c).contains("s mse: 1.000000 -> 2.000000"));
        assert!(
            compare_eval(&run(1.0, 0.5, [0.4, 0.6]), &run(1.0, 0.5, [0.4, 0.6]))
                .deltas
                .is_empty()
        );
    }
}
