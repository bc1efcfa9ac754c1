//! `rdpbench reproduce rdp`: the paper's toy rate-distortion claims
//! (CONDITIONS.md §5) as curves with numbers.
//!
//! - **Restricted family** (monosemantic by construction): decoder fixed to
//!   the concept directions `V`, encoder `Vᵀ` (optimal for orthonormal `V`),
//!   codes = the `round(k·N)` largest positive projections of the evaluation
//!   set (a batch top-k over `x Vᵀ`); one curve point per `k`.
//! - **Unrestricted family**: BatchTopK SAEs trained by the `batchtopk`
//!   plugin with `d_sae = 2n`, at the same `k` grid.
//! - **Rate gap at near-zero distortion**: for each family, the L0 at which
//!   its curve (linearly interpolated in L0) reaches explained variance
//!   `ev_target` (0.99); gap = restricted − unrestricted. Compared with the
//!   analytic rate tax `Σ_G q_G(|G| − 1)` and with its empirical value on the
//!   evaluation rows (mean of `Σ_G 1[all of G present](|G| − 1)`, with its
//!   standard error).
//! - **R1** holds when the restricted curve lies above (higher MSE at equal
//!   L0) the unrestricted one where the groups co-occur and the gap is within
//!   `max(3 SE, 0.25 · tax)` of the tax; **R3** when, without co-occurrence,
//!   `|gap| ≤ max(3 SE, 0.25 · tax_cooccurring)`; **R2** when the mean `P_gt`
//!   of TopK SAEs at fixed `k` rises with `q` (Spearman ρ > 0 over the `q`
//!   grid and last > first).

use crate::progress::{Progress, TrainSteps, UnitKind};
use crate::train::{EVAL_DRAW, evaluate_on_toy, train_on_toy};
use anyhow::{Context, Result};
use rdpbench_core::toy::ToyModel;
use rdpbench_plugin_host::PluginSet;
pub use rdpbench_schema::results::rdp::{Claim, CurvePoint, PgtPoint, RateGap, RdpReport};
pub use rdpbench_schema::settings::RdpSettings;
use rdpbench_sdk::SaeArchitecture;
use rdpbench_sdk::train::distortion::Distortion;

/// The restricted family's point at rate `k`: BatchTopK over positive projections on `V`.
fn restricted_point(model: &ToyModel, n: usize, k: f64) -> (f64, f64, f64) {
    let s = model.sample(EVAL_DRAW, 0, n);
    let (d, nc) = (model.d(), model.n_concepts());
    let v = model.directions();
    let mut proj = vec![0.0f32; n * nc];
    for r in 0..n {
        let x = s.x.row(r);
        for i in 0..nc {
            proj[r * nc + i] = x.iter().zip(v.row(i)).map(|(a, b)| a * b).sum();
        }
    }
    let mut idx: Vec<usize> = (0..n * nc).filter(|&i| proj[i] > 0.0).collect();
    let take = ((k * n as f64).round() as usize).min(idx.len());
    if take > 0 && take < idx.len() {
        idx.select_nth_unstable_by(take - 1, |&a, &b| {
            proj[b].total_cmp(&proj[a]).then(a.cmp(&b))
        });
    }
    let mut x_hat = vec![0.0f32; n * d];
    for &i in &idx[..take] {
        let (r, c) = (i / nc, i % nc);
        for (o, &vv) in x_hat[r * d..(r + 1) * d].iter_mut().zip(v.row(c)) {
            *o += proj[i] * vv;
        }
    }
    let mut acc = Distortion::new(d);
    acc.add(&s.x.data, &x_hat);
    acc.add_nonzeros(take as u64);
    (
        acc.l0().unwrap_or(0.0),
        acc.mse().unwrap_or(f64::NAN),
        acc.explained_variance().unwrap_or(f64::NAN),
    )
}

/// L0 where a curve (sorted by L0) first reaches `ev_target`, interpolated.
fn l0_at_ev(points: &[&CurvePoint], target: f64) -> Option<f64> {
    let mut pts: Vec<&&CurvePoint> = points.iter().collect();
    pts.sort_by(|a, b| a.l0.total_cmp(&b.l0));
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.explained_variance >= target {
            return Some(a.l0);
        }
        if b.explained_variance >= target {
            let t = (target - a.explained_variance) / (b.explained_variance - a.explained_variance);
            return Some(a.l0 + t * (b.l0 - a.l0));
        }
    }
    pts.first()
        .filter(|p| p.explained_variance >= target)
        .map(|p| p.l0)
}

/// MSE of a curve at `l0`, linearly interpolated (None outside its range).
fn mse_at(points: &[&CurvePoint], l0: f64) -> Option<f64> {
    let mut pts: Vec<&&CurvePoint> = points.iter().collect();
    pts.sort_by(|a, b| a.l0.total_cmp(&b.l0));
    pts.windows(2)
        .find(|w| w[0].l0 <= l0 && l0 <= w[1].l0)
        .map(|w| {
            let t = if w[1].l0 > w[0].l0 {
                (l0 - w[0].l0) / (w[1].l0 - w[0].l0)
            } else {
                0.0
            };
            w[0].mse + t * (w[1].mse - w[0].mse)
        })
}

/// Analytic and empirical rate tax `Σ_G q_G(|G| − 1)` of a model.
fn rate_tax(model: &ToyModel, n: usize) -> (f64, f64, f64) {
    let analytic: f64 = model
        .groups()
        .iter()
        .map(|g| g.q * (g.members.len() as f64 - 1.0))
        .sum();
    let s = model.sample(EVAL_DRAW, 0, n);
    let zv = s.z.view();
    let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
    for r in 0..n {
        let present: Vec<usize> = zv.row_iter(r).map(|(i, _)| i).collect();
        let t: f64 = model
            .groups()
            .iter()
            .filter(|g| g.members.iter().all(|m| present.contains(m)))
            .map(|g| g.members.len() as f64 - 1.0)
            .sum();
        sum += t;
        sum_sq += t * t;
    }
    let mean = sum / n as f64;
    let var = (sum_sq / n as f64 - mean * mean).max(0.0);
    (analytic, mean, (var / n as f64).sqrt())
}

/// The architecture plugin `id` and its sparsity knob.
fn find<'a>(plugins: &'a PluginSet, id: &str) -> Result<(&'a dyn SaeArchitecture, String)> {
    let sae = plugins
        .sae(id)
        .context("[reproduce]: `reproduce rdp` needs this SAE plugin")?;
    Ok((
        sae as &dyn SaeArchitecture,
        sae.sparsity_knob()?.to_string(),
    ))
}

/// One training run's hyperparameters: the settings' optimiser and the
/// architecture's sparsity knob at `rate`.
fn hyperparameters(
    s: &RdpSettings,
    d_sae: usize,
    knob: &str,
    rate: f64,
    seed: u64,
) -> serde_json::Value {
    let mut h = serde_json::json!({ "d_sae": d_sae, "steps": s.steps, "batch_size": s.batch_size, "lr": s.lr, "seed": seed });
    h[knob] = rate.into();
    h
}

fn spearman_positive(xs: &[f64], ys: &[f64]) -> f64 {
    let rank = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        for (k, &i) in idx.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let (rx, ry) = (rank(xs), rank(ys));
    let n = xs.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) = (
        rx.iter().map(|a| (a - mx).powi(2)).sum(),
        ry.iter().map(|b| (b - my).powi(2)).sum(),
    );
    if vx == 0.0 || vy == 0.0 {
        0.0
    } else {
        cov / (vx * vy).sqrt()
    }
}

/// Runs R1–R3.
pub fn run(plugins: &PluginSet, s: &RdpSettings, observer: &mut dyn Progress) -> Result<RdpReport> {
    let (unrestricted, unrestricted_knob) = find(plugins, &s.unrestricted_architecture)?;
    let (fixed, fixed_knob) = find(plugins, &s.r2_architecture)?;
    let datasets = [
        ("cooccurring", s.toy.clone()),
        ("independent", s.toy.independent()),
    ];
    let mut curves = Vec::new();
    let mut gaps = Vec::new();
    let total = datasets.len() * s.k_grid.len() + s.q_factors.len() * s.seeds.len();
    let mut done = 0;
    for (name, toy) in &datasets {
        let model = ToyModel::new(toy, s.toy_seed)?;
        let d_sae = s.width_factor * model.n_concepts();
        for &k in &s.k_grid {
            let (l0, mse, ev) = restricted_point(&model, s.eval_samples, k);
            curves.push(CurvePoint {
                family: "restricted".into(),
                data: name.to_string(),
                k,
                l0,
                mse,
                explained_variance: ev,
                p_gt: Some(0.0),
            });
            observer.unit(
                UnitKind::Train,
                done,
                total,
                &format!(
                    "R1/R3 {name}: {} {unrestricted_knob} = {k}",
                    s.unrestricted_architecture
                ),
            );
            done += 1;
            let h = hyperparameters(s, d_sae, &unrestricted_knob, k, 0);
            let w = train_on_toy(unrestricted, &model, &h, 0, &mut TrainSteps(&mut *observer))?;
            let e = evaluate_on_toy(unrestricted, &w, &model, s.eval_samples)?;
            curves.push(CurvePoint {
                family: "unrestricted".into(),
                data: name.to_string(),
                k,
                l0: e.l0.unwrap_or(0.0),
                mse: e.mse.unwrap_or(f64::NAN),
                explained_variance: e.explained_variance.unwrap_or(f64::NAN),
                p_gt: e.p_gt,
            });
        }
        let pick = |fam: &str| -> Vec<&CurvePoint> {
            curves
                .iter()
                .filter(|c| c.family == fam && c.data == *name)
                .collect()
        };
        let (r, u) = (pick("restricted"), pick("unrestricted"));
        let (lr, lu) = (l0_at_ev(&r, s.ev_target), l0_at_ev(&u, s.ev_target));
        let above: Vec<bool> = u
            .iter()
            .filter_map(|p| mse_at(&r, p.l0).map(|m| m > p.mse))
            .collect();
        let (analytic, empirical, se) = rate_tax(&model, s.eval_samples);
        gaps.push(RateGap {
            data: name.to_string(),
            restricted_l0_at_target: lr,
            unrestricted_l0_at_target: lu,
            measured_gap: lr.zip(lu).map(|(a, b)| a - b),
            analytic_tax: analytic,
            empirical_tax: empirical,
            empirical_tax_se: se,
            restricted_above_fraction: (!above.is_empty())
                .then(|| above.iter().filter(|&&a| a).count() as f64 / above.len() as f64),
        });
    }
    let mut pgt = Vec::new();
    for &f in &s.q_factors {
        let toy = s.toy.with_q_factor(f);
        let model = ToyModel::new(&toy, s.toy_seed)?;
        let q = model.groups().first().map_or(0.0, |g| g.q);
        for &seed in &s.seeds {
            observer.unit(
                UnitKind::Train,
                done,
                total,
                &format!(
                    "R2: {} {fixed_knob} = {} at q = {q:.3}, seed {seed}",
                    s.r2_architecture, s.r2_k
                ),
            );
            done += 1;
            let d_sae = s.width_factor * model.n_concepts();
            let h = hyperparameters(s, d_sae, &fixed_knob, s.r2_k, seed);
            let w = train_on_toy(fixed, &model, &h, seed, &mut TrainSteps(&mut *observer))?;
            let eval = evaluate_on_toy(fixed, &w, &model, s.eval_samples)?;
            pgt.push(PgtPoint {
                q_factor: f,
                q,
                seed,
                eval,
            });
        }
    }
    let claims = claims(&gaps, &pgt, s);
    Ok(RdpReport {
        schema_version: 1,
        rdpbench_version: crate::VERSION.into(),
        settings: s.clone(),
        curves,
        gaps,
        pgt_vs_q: pgt,
        claims,
    })
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("undefined".into(), |v| format!("{v:.4}"))
}
fn claims(gaps: &[RateGap], pgt: &[PgtPoint], s: &RdpSettings) -> Vec<Claim> {
    let mut out = Vec::new();
    let co = gaps.iter().find(|g| g.data == "cooccurring");
    let ind = gaps.iter().find(|g| g.data == "independent");
    if let Some(g) = co {
        let tol = (3.0 * g.empirical_tax_se).max(0.25 * g.analytic_tax);
        let close = g
            .measured_gap
            .is_some_and(|m| (m - g.analytic_tax).abs() <= tol);
        let above = g.restricted_above_fraction.is_some_and(|f| f >= 0.5);
        out.push(Claim {
            id: "R1".into(),
            holds: close && above,
            evidence: format!(
                "co-occurring data: L0 at EV {} restricted {} vs unrestricted {}: gap {} vs analytic tax {:.4} (empirical {:.4} ± {:.4}; tolerance {tol:.4}); restricted MSE above unrestricted at {} of the unrestricted points",
                s.ev_target,
                fmt(g.restricted_l0_at_target),
                fmt(g.unrestricted_l0_at_target),
                fmt(g.measured_gap),
                g.analytic_tax,
                g.empirical_tax,
                g.empirical_tax_se,
                fmt(g.restricted_above_fraction)
            ),
        });
    }
    if let (Some(g), Some(c)) = (ind, co) {
        let tol = (3.0 * c.empirical_tax_se).max(0.25 * c.analytic_tax);
        out.push(Claim {
            id: "R3".into(),
            holds: g.measured_gap.is_some_and(|m| m.abs() <= tol),
            evidence: format!(
                "independent data: gap {} (tolerance {tol:.4}; analytic tax here {:.4})",
                fmt(g.measured_gap),
                g.analytic_tax
            ),
        });
    }
    let mut means: Vec<(f64, f64)> = Vec::new();
    for &f in &s.q_factors {
        let v: Vec<f64> = pgt
            .iter()
            .filter(|p| p.q_factor == f)
            .filter_map(|p| p.eval.p_gt)
            .collect();
        if !v.is_empty() {
            means.push((f, v.iter().sum::<f64>() / v.len() as f64));
        }
    }
    let rho = spearman_positive(
        &means.iter().map(|m| m.0).collect::<Vec<_>>(),
        &means.iter().map(|m| m.1).collect::<Vec<_>>(),
    );
    let rises = means.len() >= 2 && means.last().map(|m| m.1) > means.first().map(|m| m.1);
    out.push(Claim {
        id: "R2".into(),
        holds: rho > 0.0 && rises,
        evidence: format!(
            "TopK k = {}: mean P_gt by q/p {}; Spearman rho {rho:.3}",
            s.r2_k,
            means
                .iter()
                .map(|(f, m)| format!("{f}: {m:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    out
}
