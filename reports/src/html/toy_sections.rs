//! Report sections from SAE training on the toy model: the SAE architecture
//! leaderboard (`saes/train.json`, from `rdpbench train`), the
//! rate-distortion curves restricted vs unrestricted and P_gt vs
//! co-occurrence (`rdp.json`, from `rdpbench reproduce rdp`).

use super::chart::{self, ChartSpec, Point, Series};
use super::data::{ExtraSection, SectionContent, Table};
use rdpbench_core::conditions::verdict::num;
use rdpbench_schema::results::rdp::RdpReport;
use rdpbench_schema::results::train::{JobOutcome, SweepSummary};

/// What produces `train.json`.
pub const NEEDS_TRAIN: &str =
    "saes/train.json in the results folder: run `rdpbench train` (or `rdpbench run`)";
/// What produces `rdp.json`.
pub const NEEDS_RDP: &str =
    "rdp.json in the results folder: run `rdpbench reproduce rdp` (or `rdpbench run`)";

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), num)
}

/// The architectures in first-seen order, each with a stable color class.
fn arch_classes(archs: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for a in archs {
        if !seen.contains(&a) {
            seen.push(a);
        }
    }
    seen
}

/// The SAE architecture leaderboard: one row per trained SAE, ordered by
/// `P_gt` (least polysemantic first; undefined last), then explained
/// variance; and a rate (L0) vs distortion (MSE) scatter per architecture.
pub fn sae_leaderboard(train: Option<&SweepSummary>) -> ExtraSection {
    let mut s = ExtraSection {
        id: "sae-leaderboard",
        title: "SAE architecture leaderboard",
        content: None,
        needs: NEEDS_TRAIN,
    };
    let Some(train) = train else {
        return s;
    };
    let mut jobs: Vec<_> = train.jobs.iter().collect();
    jobs.sort_by(|a, b| {
        let p_gt = |o: &JobOutcome| o.eval.p_gt.unwrap_or(f64::INFINITY);
        let ev = |o: &JobOutcome| o.eval.explained_variance.unwrap_or(f64::NEG_INFINITY);
        p_gt(a)
            .total_cmp(&p_gt(b))
            .then(ev(b).total_cmp(&ev(a)))
            .then(a.job.id.cmp(&b.job.id))
    });
    let rows = jobs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let sparsity = serde_json::to_value(&o.job.sparsity)
                .ok()
                .and_then(|v| {
                    v.as_object().and_then(|m| {
                        m.iter()
                            .next()
                            .map(|(k, v)| format!("{} = {v}", k.replace('_', " ")))
                    })
                })
                .unwrap_or_default();
            vec![
                (i + 1).to_string(),
                o.job.id.clone(),
                o.job.architecture.clone(),
                o.job.d_sae.to_string(),
                sparsity,
                opt(o.eval.l0),
                opt(o.eval.mse),
                opt(o.eval.explained_variance),
                opt(o.eval.p_gt),
                opt(o.eval.polysemantic_fraction),
                opt(o.eval.mcc),
                format!("{}/{}", o.eval.n_live, o.eval.d_sae),
            ]
        })
        .collect();
    let archs = arch_classes(train.jobs.iter().map(|o| o.job.architecture.clone()));
    let series = archs
        .iter()
        .enumerate()
        .map(|(i, a)| Series {
            name: a.clone(),
            class: format!("s{}", i % 6),
            line: false,
            points: train
                .jobs
                .iter()
                .filter(|o| &o.job.architecture == a)
                .filter_map(|o| {
                    Some(Point {
                        x: o.eval.l0?,
                        y: o.eval.mse?,
                        tip: format!(
                            "{}: L0 {}, MSE {}, EV {}, P_gt {}",
                            o.job.id,
                            opt(o.eval.l0),
                            opt(o.eval.mse),
                            opt(o.eval.explained_variance),
                            opt(o.eval.p_gt)
                        ),
                    })
                })
                .collect(),
        })
        .collect();
    let n_eval = train.jobs.first().map_or(0, |o| o.eval.n_samples);
    s.content = Some(SectionContent {
        intro: format!(
            "Every SAE trained on the toy model, scored on {n_eval} held-out rows: rate (L0, mean active latents per row), distortion (MSE per element; EV = 1 − E‖x−x̂‖² / (E‖x‖² − ‖E x‖²)), ground-truth polysemanticity P_gt (0 = monosemantic) and the fraction of firing mass on latents with N_eff > 1.5, and the oracle MCC. Ordered by P_gt, then EV; the three trade off, so read the row, not the rank."
        ),
        tables: vec![Table {
            caption: "Trained SAEs on the toy model".into(),
            columns: [
                "#",
                "SAE",
                "architecture",
                "d_sae",
                "sparsity",
                "L0",
                "MSE",
                "EV",
                "P_gt",
                "polysemantic fraction",
                "MCC (oracle)",
                "live latents",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        }],
        charts: vec![chart::layout(&ChartSpec {
            id: "sae-rate-distortion".into(),
            title: "Rate vs distortion of the trained SAEs, by architecture".into(),
            x_label: "L0 (mean active latents per row)".into(),
            y_label: "MSE".into(),
            x_integer: false,
            y_from_zero: true,
            series,
        })],
        heatmaps: Vec::new(),
    });
    s
}

/// Restricted (decoder = concept directions) vs unrestricted (trained
/// BatchTopK) rate-distortion curves on co-occurring and independent data,
/// with the measured rate gap against the analytic tax and the claims.
pub fn rate_distortion(rdp: Option<&RdpReport>) -> ExtraSection {
    let mut s = ExtraSection {
        id: "rate-distortion",
        title: "Rate-distortion curves",
        content: None,
        needs: NEEDS_RDP,
    };
    let Some(rdp) = rdp else {
        return s;
    };
    let mut keys: Vec<(String, String)> = Vec::new();
    for c in &rdp.curves {
        let k = (c.family.clone(), c.data.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let series = keys
        .iter()
        .enumerate()
        .map(|(i, (family, data))| {
            let mut pts: Vec<_> = rdp
                .curves
                .iter()
                .filter(|c| &c.family == family && &c.data == data)
                .collect();
            pts.sort_by(|a, b| a.l0.total_cmp(&b.l0));
            Series {
                name: format!("{family}, {data} data"),
                class: format!("s{}", i % 6),
                line: true,
                points: pts
                    .iter()
                    .map(|c| Point {
                        x: c.l0,
                        y: c.mse,
                        tip: format!(
                            "{family}, {data}: k = {}, L0 {}, MSE {}, EV {}, P_gt {}",
                            num(c.k),
                            num(c.l0),
                            num(c.mse),
                            num(c.explained_variance),
                            opt(c.p_gt)
                        ),
                    })
                    .collect(),
            }
        })
        .collect();
    let gaps = Table {
        caption: format!(
            "L0 needed to reach EV {} and the gap restricted − unrestricted, against the analytic rate tax Σ_G q_G(|G| − 1)",
            num(rdp.settings.ev_target)
        ),
        columns: [
            "data",
            "restricted L0",
            "unrestricted L0",
            "measured gap",
            "analytic tax",
            "empirical tax ± SE",
            "restricted above unrestricted",
        ]
        .map(String::from)
        .to_vec(),
        rows: rdp
            .gaps
            .iter()
            .map(|g| {
                vec![
                    g.data.clone(),
                    opt(g.restricted_l0_at_target),
                    opt(g.unrestricted_l0_at_target),
                    opt(g.measured_gap),
                    num(g.analytic_tax),
                    format!("{} ± {}", num(g.empirical_tax), num(g.empirical_tax_se)),
                    g.restricted_above_fraction
                        .map_or("–".into(), |f| format!("{:.0}% of points", 100.0 * f)),
                ]
            })
            .collect(),
    };
    let claims = Table {
        caption: "The paper's toy claims (CONDITIONS.md §5)".into(),
        columns: ["claim", "verdict", "evidence"].map(String::from).to_vec(),
        rows: rdp
            .claims
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    if c.holds { "holds" } else { "DOES NOT HOLD" }.into(),
                    c.evidence.clone(),
                ]
            })
            .collect(),
    };
    s.content = Some(SectionContent {
        intro: format!(
            "Restricted family: decoder fixed to the concept directions (monosemantic by construction); unrestricted: BatchTopK SAEs with d_sae = {}·n trained for {} steps, at the same k grid. Where concepts co-occur the restricted curve should lie above (more distortion at equal rate), by the rate tax; on independent data the two should coincide.",
            rdp.settings.width_factor, rdp.settings.steps
        ),
        tables: vec![gaps, claims],
        charts: vec![chart::layout(&ChartSpec {
            id: "rd-curves".into(),
            title: "Rate-distortion: restricted vs unrestricted".into(),
            x_label: "L0 (mean active latents per row)".into(),
            y_label: "MSE".into(),
            x_integer: false,
            y_from_zero: true,
            series,
        })],
        heatmaps: Vec::new(),
    });
    s
}

/// Mean `P_gt` of TopK SAEs at fixed `k` against the co-occurrence `q`.
pub fn pgt_vs_cooccurrence(rdp: Option<&RdpReport>) -> ExtraSection {
    let mut s = ExtraSection {
        id: "pgt-cooccurrence",
        title: "P_gt vs co-occurrence",
        content: None,
        needs: NEEDS_RDP,
    };
    let Some(rdp) = rdp else {
        return s;
    };
    let mut qs: Vec<(f64, f64)> = Vec::new();
    for p in &rdp.pgt_vs_q {
        if !qs.iter().any(|(f, _)| *f == p.q_factor) {
            qs.push((p.q_factor, p.q));
        }
    }
    let seeds = &rdp.settings.seeds;
    let mut points = Vec::new();
    let mut rows = Vec::new();
    for &(f, q) in &qs {
        let at: Vec<_> = rdp.pgt_vs_q.iter().filter(|p| p.q_factor == f).collect();
        let values: Vec<f64> = at.iter().filter_map(|p| p.eval.p_gt).collect();
        let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
        let each: Vec<String> = at
            .iter()
            .map(|p| format!("seed {}: {}", p.seed, opt(p.eval.p_gt)))
            .collect();
        if let Some(m) = mean {
            points.push(Point {
                x: q,
                y: m,
                tip: format!(
                    "q = {} (q/p = {}): mean P_gt {} ({})",
                    num(q),
                    num(f),
                    num(m),
                    each.join(", ")
                ),
            });
        }
        let mut row = vec![num(f), num(q)];
        for seed in seeds {
            row.push(
                at.iter()
                    .find(|p| p.seed == *seed)
                    .map_or("–".into(), |p| opt(p.eval.p_gt)),
            );
        }
        row.push(opt(mean));
        rows.push(row);
    }
    let mut columns = vec!["q / p".to_string(), "q".to_string()];
    columns.extend(seeds.iter().map(|s| format!("P_gt seed {s}")));
    columns.push("mean P_gt".into());
    s.content = Some(SectionContent {
        intro: format!(
            "TopK SAEs at fixed k = {} (d_sae = {}·n) trained on toy data whose groups co-occur with probability q. Claim R2: the optimal SAE grows more polysemantic as concepts co-occur more.",
            num(rdp.settings.r2_k),
            rdp.settings.width_factor
        ),
        tables: vec![Table {
            caption: "P_gt per seed and mean, by co-occurrence".into(),
            columns,
            rows,
        }],
        charts: vec![chart::layout(&ChartSpec {
            id: "pgt-vs-q".into(),
            title: format!(
                "Mean P_gt vs co-occurrence q (TopK, k = {})",
                num(rdp.settings.r2_k)
            ),
            x_label: "co-occurrence q".into(),
            y_label: "P_gt".into(),
            x_integer: false,
            y_from_zero: true,
            series: vec![Series {
                name: format!("TopK k = {}", num(rdp.settings.r2_k)),
                class: "s0".into(),
                line: true,
                points,
            }],
        })],
        heatmaps: Vec::new(),
    });
    s
}
