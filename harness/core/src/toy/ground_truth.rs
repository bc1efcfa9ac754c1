//! Ground-truth polysemanticity `P_gt` of an SAE on toy data (CONDITIONS.md §2).
//!
//! For each live latent `j` (decoder row `w_j`, fires on at least one sample):
//! 1. **Support** `S_j`: concepts present in at least a fraction `τ` of the
//!    samples where `j` fires, plus the concept of highest `cos(w_j, v_i)`
//!    (signed; ties → lowest index).
//! 2. **Decomposition**: non-negative orthogonal matching pursuit over
//!    `{v_i : i ∈ S_j}`: repeatedly add the unselected support atom with the
//!    largest positive correlation `⟨r, v_i⟩ / ‖v_i‖` (ties → lowest index),
//!    refit `β ≥ 0` by NNLS (Lawson-Hanson) of `w_j` on all selected atoms and
//!    set `r = w_j − Σ β_i v_i`; stop when `‖r‖ ≤ ρ‖w_j‖` (`ρ = 0.25`), when no
//!    unselected atom correlates positively with `r`, or when the support is
//!    exhausted. The residual is reported either way.
//! 3. `π_ji = β_ji² / Σ_i β_ji²`, `N_eff(j) = 1 / Σ_i π_ji²`. If `Σ β = 0` the
//!    latent is *unexplained*: excluded from `P_gt`, counted separately.
//!
//! `P_gt = Σ_j f_j (N_eff(j) − 1) / Σ_j f_j` over live explained latents, `f_j`
//! the firing frequency. `None` ("undefined", never NaN) when there is no live
//! explained latent. A latent *fires* on a sample when its stored code is
//! non-zero; a concept is present when its stored label is non-zero.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::{CsrMatrix, CsrView, DenseMatrix};
use serde::{Deserialize, Serialize};

use crate::linalg::{dot, nnls, norm, to_f64};

/// Tunables of the ground truth (defaults from the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroundTruthOptions {
    /// Support threshold `τ`: fraction of a latent's firings a concept must be
    /// present in (default 0.05).
    pub tau: f64,
    /// OMP stops when `‖r‖ ≤ residual_tol · ‖w_j‖` (default 0.25).
    pub residual_tol: f64,
    /// A live latent counts as polysemantic when `N_eff > threshold` (default 1.5).
    pub polysemantic_threshold: f64,
}

impl Default for GroundTruthOptions {
    fn default() -> Self {
        Self {
            tau: 0.05,
            residual_tol: 0.25,
            polysemantic_threshold: 1.5,
        }
    }
}

/// What happened to a latent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatentStatus {
    /// Never fires on the evaluation data: not live, excluded.
    Dead,
    /// Live but `Σ β = 0` (no support atom correlates positively, or a zero or
    /// non-finite decoder row): excluded from `P_gt`, counted separately.
    Unexplained,
    /// Live with `N_eff` defined.
    Explained,
}

/// Per-latent ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentGroundTruth {
    /// Latent index `j`.
    pub latent: usize,
    /// Firing frequency `f_j` (fraction of samples with a non-zero code).
    pub frequency: f64,
    /// Dead, unexplained or explained.
    pub status: LatentStatus,
    /// Support `S_j`, ascending concept indices (empty for dead latents).
    pub support: Vec<usize>,
    /// Atoms kept by the decomposition (`β > 0`), in selection order.
    pub atoms: Vec<usize>,
    /// NNLS coefficients `β > 0` of `atoms`, same order.
    pub beta: Vec<f64>,
    /// `N_eff(j)` for explained latents.
    pub n_eff: Option<f64>,
    /// Residual `‖w_j − Σ β_i v_i‖`.
    pub residual_norm: f64,
    /// Residual relative to `‖w_j‖` (0 for a zero row).
    pub relative_residual: f64,
}

/// SAE-level ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruthReport {
    /// `P_gt`; `None` = undefined (no live explained latent).
    pub p_gt: Option<f64>,
    /// Frequency-weighted fraction of live explained latents with
    /// `N_eff > polysemantic_threshold`; `None` when undefined.
    pub polysemantic_fraction: Option<f64>,
    /// Number of evaluation samples `N`.
    pub n_samples: usize,
    /// `d_sae`.
    pub n_latents: usize,
    /// Latents that fire at least once.
    pub n_live: usize,
    /// Latents that never fire.
    pub n_dead: usize,
    /// Live latents with `Σ β = 0`.
    pub n_unexplained: usize,
    /// `Σ f_j` over unexplained latents.
    pub unexplained_frequency: f64,
    /// The options used.
    pub options: GroundTruthOptions,
    /// One entry per latent, in latent order.
    pub latents: Vec<LatentGroundTruth>,
}

/// Co-firing counts shared by the ground truth and the recovery scores.
#[derive(Debug, Clone)]
pub(crate) struct FiringStats {
    pub n_samples: usize,
    pub n_concepts: usize,
    /// Samples where latent `j` fires, `[d_sae]`.
    pub fires: Vec<u64>,
    /// Samples where concept `i` is present, `[n_concepts]`.
    pub present: Vec<u64>,
    /// Samples where `j` fires and `i` is present, `[d_sae, n_concepts]`.
    pub co: Vec<u64>,
}

/// Counts firings, presences and co-occurrences in one pass, `O(Σ_rows
/// nnz(codes row) · nnz(labels row))`.
pub(crate) fn firing_stats(codes: &CsrView<'_>, concepts: &CsrView<'_>) -> Result<FiringStats> {
    ensure!(
        codes.n_rows == concepts.n_rows,
        "codes have {} rows but concept labels have {}",
        codes.n_rows,
        concepts.n_rows
    );
    let (d_sae, n_c) = (codes.n_cols, concepts.n_cols);
    let mut fires = vec![0u64; d_sae];
    let mut present = vec![0u64; n_c];
    let mut co = vec![0u64; d_sae * n_c];
    let mut here: Vec<usize> = Vec::with_capacity(n_c);
    for r in 0..codes.n_rows {
        here.clear();
        here.extend(
            concepts
                .row_iter(r)
                .filter(|&(_, v)| v != 0.0)
                .map(|(i, _)| i),
        );
        for &i in &here {
            present[i] += 1;
        }
        for (j, v) in codes.row_iter(r) {
            if v != 0.0 {
                fires[j] += 1;
                let cj = &mut co[j * n_c..(j + 1) * n_c];
                for &i in &here {
                    cj[i] += 1;
                }
            }
        }
    }
    Ok(FiringStats {
        n_samples: codes.n_rows,
        n_concepts: n_c,
        fires,
        present,
        co,
    })
}

/// Result of the support-restricted non-negative OMP of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// Atoms with `β > 0`, in selection order.
    pub atoms: Vec<usize>,
    /// Their coefficients.
    pub beta: Vec<f64>,
    /// `‖w − Σ β_i v_i‖`.
    pub residual_norm: f64,
}

/// Support-restricted non-negative OMP of `w: [d]` over rows `support` of
/// `v: [n, d]` (row-major `f64`), stopping at `‖r‖ ≤ residual_tol · ‖w‖`; see the
/// module docs for the exact rule.
pub fn nn_omp(w: &[f64], v: &[f64], support: &[usize], residual_tol: f64) -> Decomposition {
    let d = w.len();
    let atom = |i: usize| &v[i * d..(i + 1) * d];
    let wn = norm(w);
    let mut r = w.to_vec();
    let mut selected: Vec<usize> = Vec::new();
    let mut beta: Vec<f64> = Vec::new();
    loop {
        if norm(&r) <= residual_tol * wn {
            break;
        }
        let mut best: Option<(usize, f64)> = None;
        for &i in support {
            if selected.contains(&i) {
                continue;
            }
            let vn = norm(atom(i));
            if vn == 0.0 {
                continue;
            }
            let corr = dot(&r, atom(i)) / vn;
            if corr > 0.0 && best.is_none_or(|(_, b)| corr > b) {
                best = Some((i, corr));
            }
        }
        let Some((i, _)) = best else { break };
        selected.push(i);
        let atoms: Vec<&[f64]> = selected.iter().map(|&k| atom(k)).collect();
        beta = nnls(&atoms, w);
        r.copy_from_slice(w);
        for (&k, &b) in selected.iter().zip(&beta) {
            for (rr, &a) in r.iter_mut().zip(atom(k)) {
                *rr -= b * a;
            }
        }
    }
    let (atoms, beta): (Vec<usize>, Vec<f64>) = selected
        .into_iter()
        .zip(beta)
        .filter(|&(_, b)| b > 0.0)
        .unzip();
    Decomposition {
        atoms,
        beta,
        residual_norm: norm(&r),
    }
}

/// `N_eff = 1 / Σ π_i²` with `π_i = β_i² / Σ β²`; `None` when `Σ β² = 0`.
pub fn n_eff(beta: &[f64]) -> Option<f64> {
    let s: f64 = beta.iter().map(|b| b * b).sum();
    if s.is_nan() || s <= 0.0 || !s.is_finite() {
        return None;
    }
    let conc: f64 = beta.iter().map(|b| (b * b / s).powi(2)).sum();
    Some(1.0 / conc)
}

/// Ground-truth polysemanticity of an SAE.
///
/// - `directions`: `V: [n_concepts, d_in]` (unit rows);
/// - `decoder`: `W_dec: [d_sae, d_in]`;
/// - `codes`: `[n_tokens, d_sae]` (non-zero = fires);
/// - `concepts`: presence `z: [n_tokens, n_concepts]` (non-zero = present).
///
/// Errors only on inconsistent shapes; every SAE (all dead, one latent,
/// `N = 0`) gets a report with `p_gt = None` where undefined.
pub fn p_gt(
    directions: &DenseMatrix,
    decoder: &DenseMatrix,
    codes: &CsrMatrix,
    concepts: &CsrMatrix,
    opts: &GroundTruthOptions,
) -> Result<GroundTruthReport> {
    ensure!(
        directions.cols == decoder.cols,
        "directions are [{}, {}] but the decoder is [{}, {}]: d_in differs",
        directions.rows,
        directions.cols,
        decoder.rows,
        decoder.cols
    );
    ensure!(
        codes.n_cols == decoder.rows,
        "codes have {} columns but the decoder has {} latents",
        codes.n_cols,
        decoder.rows
    );
    ensure!(
        concepts.n_cols == directions.rows,
        "concept labels have {} columns but there are {} concept directions",
        concepts.n_cols,
        directions.rows
    );
    let stats = firing_stats(&codes.view(), &concepts.view())?;
    let n = stats.n_samples;
    let n_c = stats.n_concepts;
    let v = to_f64(&directions.data);
    let d = directions.cols;
    let mut latents = Vec::with_capacity(decoder.rows);
    let (mut wsum, mut wpoly, mut wtot) = (0.0f64, 0.0f64, 0.0f64);
    let (mut n_live, mut n_dead, mut n_unexpl) = (0usize, 0usize, 0usize);
    let mut unexpl_f = 0.0f64;
    for j in 0..decoder.rows {
        let fires = stats.fires[j];
        let frequency = if n > 0 { fires as f64 / n as f64 } else { 0.0 };
        let mut lt = LatentGroundTruth {
            latent: j,
            frequency,
            status: LatentStatus::Dead,
            support: Vec::new(),
            atoms: Vec::new(),
            beta: Vec::new(),
            n_eff: None,
            residual_norm: 0.0,
            relative_residual: 0.0,
        };
        if fires == 0 {
            n_dead += 1;
            latents.push(lt);
            continue;
        }
        n_live += 1;
        let w = to_f64(decoder.row(j));
        let wn = norm(&w);
        lt.residual_norm = if wn.is_finite() { wn } else { 0.0 };
        lt.relative_residual = if wn > 0.0 && wn.is_finite() { 1.0 } else { 0.0 };
        if wn > 0.0 && wn.is_finite() {
            let co = &stats.co[j * n_c..(j + 1) * n_c];
            let threshold = opts.tau * fires as f64;
            let mut support: Vec<usize> = (0..n_c)
                .filter(|&i| co[i] > 0 && co[i] as f64 >= threshold)
                .collect();
            let mut best: Option<(usize, f64)> = None;
            for i in 0..n_c {
                let vi = &v[i * d..(i + 1) * d];
                let vn = norm(vi);
                let c = if vn > 0.0 {
                    dot(&w, vi) / (wn * vn)
                } else {
                    f64::NEG_INFINITY
                };
                if best.is_none_or(|(_, b)| c > b) {
                    best = Some((i, c));
                }
            }
            if let Some((i, _)) = best
                && !support.contains(&i)
            {
                support.push(i);
                support.sort_unstable();
            }
            let dec = nn_omp(&w, &v, &support, opts.residual_tol);
            lt.support = support;
            lt.residual_norm = dec.residual_norm;
            lt.relative_residual = dec.residual_norm / wn;
            lt.n_eff = n_eff(&dec.beta);
            lt.atoms = dec.atoms;
            lt.beta = dec.beta;
        }
        match lt.n_eff {
            Some(ne) => {
                lt.status = LatentStatus::Explained;
                wsum += frequency * (ne - 1.0);
                wtot += frequency;
                if ne > opts.polysemantic_threshold {
                    wpoly += frequency;
                }
            }
            None => {
                lt.status = LatentStatus::Unexplained;
                n_unexpl += 1;
                unexpl_f += frequency;
            }
        }
        latents.push(lt);
    }
    let defined = wtot > 0.0;
    Ok(GroundTruthReport {
        p_gt: defined.then(|| wsum / wtot),
        polysemantic_fraction: defined.then(|| wpoly / wtot),
        n_samples: n,
        n_latents: decoder.rows,
        n_live,
        n_dead,
        n_unexplained: n_unexpl,
        unexplained_frequency: unexpl_f,
        options: opts.clone(),
        latents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::normalize;
    use crate::toy::config::{GroupsConfig, ToyConfig};
    use crate::toy::dgp::ToyModel;

    fn eye(n: usize) -> DenseMatrix {
        let mut m = DenseMatrix::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }

    /// CSR from rows of `(column, value)` pairs.
    fn csr(n_cols: usize, rows: &[&[(u32, f32)]]) -> CsrMatrix {
        let mut m = CsrMatrix::with_cols(n_cols);
        for r in rows {
            m.push_row(r.iter().copied());
        }
        m
    }

    fn row_of(coefs: &[(usize, f64)], d: usize) -> Vec<f32> {
        let mut w = vec![0.0f64; d];
        for &(i, c) in coefs {
            w[i] += c;
        }
        normalize(&mut w);
        w.iter().map(|&x| x as f32).collect()
    }

    #[test]
    fn monosemantic_rows_give_n_eff_exactly_one() {
        let v = eye(3);
        let codes = csr(3, &[&[(0, 1.0)], &[(1, 2.0), (2, 0.5)], &[]]);
        let z = csr(3, &[&[(0, 1.0)], &[(1, 1.0), (2, 1.0)], &[]]);
        let rep = p_gt(&v, &v, &codes, &z, &GroundTruthOptions::default()).unwrap();
        assert_eq!(rep.p_gt, Some(0.0));
        assert_eq!(rep.polysemantic_fraction, Some(0.0));
        for l in &rep.latents {
            assert_eq!(l.n_eff, Some(1.0));
            assert_eq!(l.atoms, vec![l.latent]);
            assert_eq!(l.residual_norm, 0.0);
        }
        // Latent 1 fires with concepts 1 and 2: both in the support, only v1 used.
        assert_eq!(rep.latents[1].support, vec![1, 2]);
    }

    #[test]
    fn merged_pair_gives_n_eff_two_and_support_restricts_it() {
        let v = eye(4);
        let dec = DenseMatrix::from_vec(1, 4, row_of(&[(1, 1.0), (2, 1.0)], 4)).unwrap();
        let codes = csr(1, &[&[(0, 1.0)]]);
        let both = csr(4, &[&[(1, 1.0), (2, 1.0)]]);
        let rep = p_gt(&v, &dec, &codes, &both, &GroundTruthOptions::default()).unwrap();
        let l = &rep.latents[0];
        assert!((l.n_eff.unwrap() - 2.0).abs() < 1e-12, "{l:?}");
        assert_eq!(l.atoms, vec![1, 2]); // tie broken to the lower index first
        assert!(l.residual_norm < 1e-7);
        assert!((rep.p_gt.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(rep.polysemantic_fraction, Some(1.0));
        // Only concept 1 ever present: the support is {1} (best cosine is also 1),
        // so the decomposition stops at v1 with relative residual 1/√2.
        let one = csr(4, &[&[(1, 1.0)]]);
        let rep = p_gt(&v, &dec, &codes, &one, &GroundTruthOptions::default()).unwrap();
        let l = &rep.latents[0];
        assert_eq!(l.support, vec![1]);
        assert_eq!(l.n_eff, Some(1.0));
        assert!((l.relative_residual - 0.5f64.sqrt()).abs() < 1e-7);
    }

    #[test]
    fn weighted_p_gt_matches_a_hand_computation() {
        // Latents: 0 = v0 (N_eff 1), 1 = n(v1+v2) (N_eff 2), 2 = n(2 v0 + v3)
        // (β ∝ (2, 1), π = (4/5, 1/5), N_eff = 1/(16/25 + 1/25) = 25/17),
        // 3 = dead, 4 = −v0 (no positive atom: unexplained).
        let v = eye(4);
        let mut rows = Vec::new();
        rows.extend(row_of(&[(0, 1.0)], 4));
        rows.extend(row_of(&[(1, 1.0), (2, 1.0)], 4));
        rows.extend(row_of(&[(0, 2.0), (3, 1.0)], 4));
        rows.extend(row_of(&[(3, 1.0)], 4));
        rows.extend(row_of(&[(0, -1.0)], 4));
        let dec = DenseMatrix::from_vec(5, 4, rows).unwrap();
        // 10 samples: latent 0 fires on 0..5, latent 1 on 5..7, latent 2 on 6..10,
        // latent 4 on sample 9.
        let mut codes = CsrMatrix::with_cols(5);
        let mut z = CsrMatrix::with_cols(4);
        for s in 0..10u32 {
            let mut c = Vec::new();
            let mut present = Vec::new();
            if s < 5 {
                c.push((0, 1.0));
                present.push(0);
            }
            if (5..7).contains(&s) {
                c.push((1, 1.0));
                present.extend([1, 2]);
            }
            if s >= 6 {
                c.push((2, 1.0));
                present.extend([0, 3]);
            }
            if s == 9 {
                c.push((4, 0.3));
            }
            present.sort_unstable();
            present.dedup();
            codes.push_row(c);
            z.push_row(present.into_iter().map(|i| (i, 1.0)));
        }
        let rep = p_gt(&v, &dec, &codes, &z, &GroundTruthOptions::default()).unwrap();
        assert!((rep.latents[2].n_eff.unwrap() - 25.0 / 17.0).abs() < 1e-12);
        assert_eq!(rep.latents[3].status, LatentStatus::Dead);
        assert_eq!(rep.latents[4].status, LatentStatus::Unexplained);
        assert_eq!((rep.n_live, rep.n_dead, rep.n_unexplained), (4, 1, 1));
        assert!((rep.unexplained_frequency - 0.1).abs() < 1e-15);
        // f = (0.5, 0.2, 0.4): P_gt = (0.2·1 + 0.4·8/17) / 1.1.
        let expect = (0.2 + 0.4 * 8.0 / 17.0) / 1.1;
        assert!((rep.p_gt.unwrap() - expect).abs() < 1e-12, "{:?}", rep.p_gt);
        // N_eff = 25/17 ≈ 1.47 is below the 1.5 threshold: only latent 1 counts.
        assert!((rep.polysemantic_fraction.unwrap() - 0.2 / 1.1).abs() < 1e-12);
    }

    #[test]
    fn superposed_row_equal_to_a_concept_is_monosemantic() {
        let cfg = ToyConfig {
            n_concepts: 40,
            d: 10,
            groups: GroupsConfig::None,
            ..ToyConfig::default()
        };
        let model = ToyModel::new(&cfg, 17).unwrap();
        let v = model.directions();
        // Every concept present whenever the latents fire: the support is everything.
        let all: Vec<(u32, f32)> = (0..40).map(|i| (i, 1.0)).collect();
        let z = csr(40, &[&all, &all]);
        let codes = csr(40, &[&(0..40).map(|i| (i, 1.0)).collect::<Vec<_>>(), &[]]);
        let rep = p_gt(v, v, &codes, &z, &GroundTruthOptions::default()).unwrap();
        for l in &rep.latents {
            assert_eq!(l.support.len(), 40);
            assert!(
                (l.n_eff.unwrap() - 1.0).abs() < 1e-12,
                "latent {}: {l:?}",
                l.latent
            );
            assert_eq!(l.atoms, vec![l.latent]);
        }
        assert!(rep.p_gt.unwrap().abs() < 1e-12);
    }

    #[test]
    fn no_live_latent_is_undefined_not_nan() {
        let v = eye(3);
        let codes = csr(3, &[&[], &[]]);
        let z = csr(3, &[&[(0, 1.0)], &[]]);
        let rep = p_gt(&v, &v, &codes, &z, &GroundTruthOptions::default()).unwrap();
        assert_eq!(rep.p_gt, None);
        assert_eq!(rep.polysemantic_fraction, None);
        assert_eq!(rep.n_dead, 3);
        // N = 0 and a zero decoder row that fires.
        let empty = CsrMatrix::with_cols(3);
        let rep = p_gt(&v, &v, &empty, &empty, &GroundTruthOptions::default()).unwrap();
        assert_eq!((rep.p_gt, rep.n_samples), (None, 0));
        let zero = DenseMatrix::zeros(1, 3);
        let codes = csr(1, &[&[(0, 1.0)]]);
        let z = csr(3, &[&[(0, 1.0)]]);
        let rep = p_gt(&v, &zero, &codes, &z, &GroundTruthOptions::default()).unwrap();
        assert_eq!(rep.latents[0].status, LatentStatus::Unexplained);
        assert_eq!(rep.p_gt, None);
        // Shape mismatches are errors naming both sides.
        let e = p_gt(
            &v,
            &DenseMatrix::zeros(2, 4),
            &codes,
            &z,
            &GroundTruthOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("d_in differs"), "{e}");
    }

    #[test]
    fn tau_threshold_is_inclusive() {
        // Latent fires on 20 samples; concept 1 present on exactly one (5%).
        let v = eye(3);
        let dec = DenseMatrix::from_vec(1, 3, row_of(&[(0, 1.0), (1, 1.0)], 3)).unwrap();
        let mut codes = CsrMatrix::with_cols(1);
        let mut z = CsrMatrix::with_cols(3);
        for s in 0..20 {
            codes.push_row([(0, 1.0)]);
            if s == 0 {
                z.push_row([(0, 1.0), (1, 1.0)]);
            } else {
                z.push_row([(0, 1.0)]);
            }
        }
        let opts = GroundTruthOptions::default();
        let rep = p_gt(&v, &dec, &codes, &z, &opts).unwrap();
        assert_eq!(rep.latents[0].support, vec![0, 1]);
        assert!((rep.latents[0].n_eff.unwrap() - 2.0).abs() < 1e-12);
        let strict = GroundTruthOptions { tau: 0.06, ..opts };
        let rep = p_gt(&v, &dec, &codes, &z, &strict).unwrap();
        assert_eq!(rep.latents[0].support, vec![0]);
        assert_eq!(rep.latents[0].n_eff, Some(1.0));
    }
}
