//! Gauge transforms (CONDITIONS.md §3): changes to an [`EvalCase`] that alter
//! no concept content. Each is a pure function of the case and a seed.
//!
//! | transform | codes | decoder `[d_sae, d_in]` | encoder `[d_in, d_sae]` | x, V |
//! |---|---|---|---|---|
//! | permutation `π` | column `π(k)` → `k` | rows permuted | columns permuted | — |
//! | rescaling `s_j` | `× s_j` | row `÷ s_j` | column `× s_j` | — |
//! | rotation `Q` | — | `W Qᵀ` | `Q W_enc` | `x → Qx`, `V → V Qᵀ` |
//! | dead padding | zero columns | random unit rows | zero columns | — |
//! | coin-flip split | each entry to one copy | row duplicated | `None` | — |
//! | contextual split | by partner presence | row duplicated | `None` | — |
//!
//! Splits drop the encoder: no function of `x` reproduces a coin flip, and
//! the harness only hands out faithful encoders.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};
use serde::{Deserialize, Serialize};

use super::case::EvalCase;
use crate::linalg::{
    dot_f32, haar_orthogonal, left_mul, mul_transpose, norm_f32, random_unit_vector,
};
use crate::rng::Rng;

const TAG_PERMUTE: u64 = 0x5045_524d; // "PERM"
const TAG_RESCALE: u64 = 0x5343_4c45; // "SCLE"
const TAG_ROTATE: u64 = 0x524f_5441; // "ROTA"
const TAG_PAD: u64 = 0x5041_4444; // "PADD"
const TAG_SPLIT: u64 = 0x5350_4c54; // "SPLT"

/// Where dead latents go when padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadPlacement {
    /// After all original latents.
    Appended,
    /// One dead latent after every second original latent (and one at the end
    /// when `d_sae` is odd).
    Interleaved,
}

/// A gauge transform as data, for configs and result records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Gauge {
    /// Uniformly random latent permutation.
    Permute {
        /// Seed of the permutation.
        seed: u64,
    },
    /// Latent order reversed.
    Reverse,
    /// Per-latent positive rescaling, `s_j` log-uniform in `[0.1, 10]`.
    Rescale {
        /// Seed of the factors.
        seed: u64,
    },
    /// Haar-random rotation of the observation space.
    Rotate {
        /// Seed of the rotation.
        seed: u64,
    },
    /// `ceil(d_sae / 2)` dead latents (+50%).
    PadDead {
        /// Seed of the dead decoder rows.
        seed: u64,
        /// Appended or interleaved.
        placement: DeadPlacement,
    },
    /// Every latent split into two copies by a fair coin per sample.
    SplitCoin {
        /// Seed of the coin flips.
        seed: u64,
    },
    /// Every latent split by the presence of a partner concept (diagnostic).
    SplitContextual,
}

impl Gauge {
    /// Applies the transform.
    pub fn apply(&self, case: &EvalCase) -> EvalCase {
        match *self {
            Gauge::Permute { seed } => random_permutation(case, seed),
            Gauge::Reverse => reverse_latents(case),
            Gauge::Rescale { seed } => rescale_latents(case, seed),
            Gauge::Rotate { seed } => rotate_observations(case, seed),
            Gauge::PadDead { seed, placement } => pad_dead_latents(case, seed, placement),
            Gauge::SplitCoin { seed } => split_coin_flip(case, seed),
            Gauge::SplitContextual => split_contextual(case),
        }
    }

    /// Short stable label, e.g. `permute(seed=3)`.
    pub fn label(&self) -> String {
        match *self {
            Gauge::Permute { seed } => format!("permute(seed={seed})"),
            Gauge::Reverse => "reverse".into(),
            Gauge::Rescale { seed } => format!("rescale(seed={seed})"),
            Gauge::Rotate { seed } => format!("rotate(seed={seed})"),
            Gauge::PadDead { seed, placement } => format!(
                "pad_dead({}, seed={seed})",
                match placement {
                    DeadPlacement::Appended => "appended",
                    DeadPlacement::Interleaved => "interleaved",
                }
            ),
            Gauge::SplitCoin { seed } => format!("split_coin(seed={seed})"),
            Gauge::SplitContextual => "split_contextual".into(),
        }
    }
}

/// Rebuilds codes with `n_cols` columns: `f(row, col, value, out)` pushes the
/// entries that replace `(col, value)`; rows are then sorted by column.
fn remap_codes(
    codes: &CsrMatrix,
    n_cols: usize,
    mut f: impl FnMut(usize, usize, f32, &mut Vec<(u32, f32)>),
) -> CsrMatrix {
    let v = codes.view();
    let mut out = CsrMatrix::with_cols(n_cols);
    let mut entries: Vec<(u32, f32)> = Vec::new();
    for r in 0..codes.n_rows {
        entries.clear();
        for (j, a) in v.row_iter(r) {
            f(r, j, a, &mut entries);
        }
        entries.sort_unstable_by_key(|e| e.0);
        out.push_row(entries.iter().copied());
    }
    out
}

/// Selects and reorders decoder rows / encoder columns: output latent `k` is
/// input latent `src[k]` (`None` = a new latent with the given decoder row
/// taken from `fresh` in order and a zero encoder column).
fn gather_latents(
    case: &EvalCase,
    src: &[Option<usize>],
    fresh: &[Vec<f32>],
) -> (DenseMatrix, Option<DenseMatrix>) {
    let d = case.d_in();
    let mut dec = Vec::with_capacity(src.len() * d);
    let mut next_fresh = fresh.iter();
    for s in src {
        match s {
            Some(j) => dec.extend_from_slice(case.decoder.row(*j)),
            None => dec.extend_from_slice(next_fresh.next().expect("enough fresh rows")),
        }
    }
    let decoder = DenseMatrix {
        rows: src.len(),
        cols: d,
        data: dec,
    };
    let encoder = case.encoder.as_ref().map(|e| {
        let mut out = DenseMatrix::zeros(d, src.len());
        for r in 0..d {
            let er = e.row(r);
            for (o, s) in out.row_mut(r).iter_mut().zip(src) {
                *o = s.map_or(0.0, |j| er[j]);
            }
        }
        out
    });
    (decoder, encoder)
}

/// Permutes latents: output latent `k` is input latent `perm[k]` (decoder rows,
/// encoder columns and code columns move together). Errors unless `perm` is a
/// permutation of `0..d_sae`.
pub fn permute_latents(case: &EvalCase, perm: &[usize]) -> Result<EvalCase> {
    let f = case.d_sae();
    ensure!(
        perm.len() == f,
        "permutation has {} entries for {f} latents",
        perm.len()
    );
    let mut inv = vec![usize::MAX; f];
    for (k, &j) in perm.iter().enumerate() {
        ensure!(
            j < f && inv[j] == usize::MAX,
            "not a permutation of 0..{f}: {j} at {k}"
        );
        inv[j] = k;
    }
    let src: Vec<Option<usize>> = perm.iter().map(|&j| Some(j)).collect();
    let (decoder, encoder) = gather_latents(case, &src, &[]);
    let codes = remap_codes(&case.codes, f, |_, j, a, out| out.push((inv[j] as u32, a)));
    Ok(EvalCase {
        decoder,
        encoder,
        codes,
        ..case.clone()
    })
}

/// A uniformly random latent permutation drawn from `seed`.
pub fn random_permutation(case: &EvalCase, seed: u64) -> EvalCase {
    let perm = Rng::derive(seed, &[TAG_PERMUTE]).permutation(case.d_sae());
    permute_latents(case, &perm).expect("a permutation")
}

/// Reverses the latent order.
pub fn reverse_latents(case: &EvalCase) -> EvalCase {
    let perm: Vec<usize> = (0..case.d_sae()).rev().collect();
    permute_latents(case, &perm).expect("a permutation")
}

/// Rescales latent `j` by `s_j > 0`: code `× s_j`, decoder row `÷ s_j`,
/// encoder column `× s_j` (reconstruction unchanged up to `f32` rounding).
pub fn rescale_latents_by(case: &EvalCase, scales: &[f64]) -> Result<EvalCase> {
    let f = case.d_sae();
    ensure!(scales.len() == f, "{} scales for {f} latents", scales.len());
    ensure!(
        scales.iter().all(|s| s.is_finite() && *s > 0.0),
        "scales must be finite and > 0"
    );
    let mut decoder = case.decoder.clone();
    for (j, &s) in scales.iter().enumerate() {
        for w in decoder.row_mut(j) {
            *w = (*w as f64 / s) as f32;
        }
    }
    let encoder = case.encoder.as_ref().map(|e| {
        let mut e = e.clone();
        for r in 0..e.rows {
            for (x, &s) in e.row_mut(r).iter_mut().zip(scales) {
                *x = (*x as f64 * s) as f32;
            }
        }
        e
    });
    let codes = remap_codes(&case.codes, f, |_, j, a, out| {
        out.push((j as u32, (a as f64 * scales[j]) as f32))
    });
    Ok(EvalCase {
        decoder,
        encoder,
        codes,
        ..case.clone()
    })
}

/// Rescaling with `s_j` log-uniform in `[0.1, 10]` drawn from `seed`.
pub fn rescale_latents(case: &EvalCase, seed: u64) -> EvalCase {
    let mut rng = Rng::derive(seed, &[TAG_RESCALE]);
    let scales: Vec<f64> = (0..case.d_sae())
        .map(|_| rng.log_uniform(0.1, 10.0))
        .collect();
    rescale_latents_by(case, &scales).expect("valid scales")
}

/// Rotates the observation space by an orthogonal `q: [d_in, d_in]`
/// (row-major): `x → Qx`, `W_dec → W_dec Qᵀ`, `W_enc → Q W_enc`, `V → V Qᵀ`.
/// Codes and labels are unchanged.
pub fn rotate_observations_by(case: &EvalCase, q: &[f64]) -> Result<EvalCase> {
    let d = case.d_in();
    ensure!(
        q.len() == d * d,
        "rotation has {} entries, expected d_in² = {}",
        q.len(),
        d * d
    );
    Ok(EvalCase {
        decoder: mul_transpose(&case.decoder, q, d),
        encoder: case.encoder.as_ref().map(|e| left_mul(q, d, e)),
        activations: mul_transpose(&case.activations, q, d),
        codes: case.codes.clone(),
        labels: case.labels.clone(),
        directions: mul_transpose(&case.directions, q, d),
    })
}

/// Rotation by a Haar-random orthogonal matrix drawn from `seed`.
pub fn rotate_observations(case: &EvalCase, seed: u64) -> EvalCase {
    let q = haar_orthogonal(case.d_in(), &mut Rng::derive(seed, &[TAG_ROTATE]));
    rotate_observations_by(case, &q).expect("square rotation")
}

/// Adds `ceil(d_sae / 2)` dead latents (+50%): uniformly random unit decoder
/// rows, zero codes, zero encoder columns; placed per `placement`.
pub fn pad_dead_latents(case: &EvalCase, seed: u64, placement: DeadPlacement) -> EvalCase {
    let f = case.d_sae();
    let n_dead = f.div_ceil(2);
    let mut rng = Rng::derive(seed, &[TAG_PAD]);
    let fresh: Vec<Vec<f32>> = (0..n_dead)
        .map(|_| {
            random_unit_vector(case.d_in(), &mut rng)
                .into_iter()
                .map(|x| x as f32)
                .collect()
        })
        .collect();
    let src: Vec<Option<usize>> = match placement {
        DeadPlacement::Appended => (0..f).map(Some).chain((0..n_dead).map(|_| None)).collect(),
        DeadPlacement::Interleaved => {
            let mut s = Vec::with_capacity(f + n_dead);
            for j in 0..f {
                s.push(Some(j));
                if j % 2 == 1 || j + 1 == f {
                    s.push(None);
                }
            }
            s
        }
    };
    let mut new_col = vec![0u32; f];
    for (k, s) in src.iter().enumerate() {
        if let Some(j) = s {
            new_col[*j] = k as u32;
        }
    }
    let (decoder, encoder) = gather_latents(case, &src, &fresh);
    let codes = remap_codes(&case.codes, src.len(), |_, j, a, out| {
        out.push((new_col[j], a))
    });
    EvalCase {
        decoder,
        encoder,
        codes,
        ..case.clone()
    }
}

/// Splits every latent `j` into copies `2j` and `2j+1` with identical decoder
/// rows; on each sample where `j` fires, its code goes to one copy chosen by a
/// fair coin (`Rng::derive(seed, [TAG, row])`, one draw per stored entry in
/// column order). Encoder: `None`.
pub fn split_coin_flip(case: &EvalCase, seed: u64) -> EvalCase {
    let f = case.d_sae();
    let src: Vec<Option<usize>> = (0..2 * f).map(|k| Some(k / 2)).collect();
    let (decoder, _) = gather_latents(case, &src, &[]);
    let mut rng = Rng::new(0);
    let mut last_row = usize::MAX;
    let codes = remap_codes(&case.codes, 2 * f, |r, j, a, out| {
        if r != last_row {
            rng = Rng::derive(seed, &[TAG_SPLIT, r as u64]);
            last_row = r;
        }
        let copy = (rng.next_u64() >> 63) as usize;
        out.push(((2 * j + copy) as u32, a));
    });
    EvalCase {
        decoder,
        encoder: None,
        codes,
        ..case.clone()
    }
}

/// Partner concept of each latent for [`split_contextual`]: with `own_j =
/// argmax_i cos(w_j, v_i)`, the concept `≠ own_j` most often present on samples
/// where `j` fires (ties → lowest index); `None` if no other concept is ever
/// present there (or `j` never fires).
pub fn contextual_partners(case: &EvalCase) -> Vec<Option<usize>> {
    let f = case.d_sae();
    let n_c = case.directions.rows;
    let mut co = vec![0u64; f * n_c];
    let (cv, zv) = (case.codes.view(), case.labels.view());
    for r in 0..case.codes.n_rows {
        for (j, a) in cv.row_iter(r) {
            if a != 0.0 {
                for (i, z) in zv.row_iter(r) {
                    if z != 0.0 {
                        co[j * n_c + i] += 1;
                    }
                }
            }
        }
    }
    (0..f)
        .map(|j| {
            let w = case.decoder.row(j);
            let wn = norm_f32(w);
            let mut own = None;
            let mut best_cos = f64::NEG_INFINITY;
            for i in 0..n_c {
                let v = case.directions.row(i);
                let den = wn * norm_f32(v);
                let c = if den > 0.0 { dot_f32(w, v) / den } else { 0.0 };
                if c > best_cos {
                    best_cos = c;
                    own = Some(i);
                }
            }
            let row = &co[j * n_c..(j + 1) * n_c];
            let mut partner: Option<usize> = None;
            for i in 0..n_c {
                if Some(i) != own && row[i] > 0 && partner.is_none_or(|p| row[i] > row[p]) {
                    partner = Some(i);
                }
            }
            partner
        })
        .collect()
}

/// Contextual split (diagnostic; the realistic kind of feature splitting):
/// latent `j` becomes copies `2j` (fires when `j` fires *and* its partner
/// concept from [`contextual_partners`] is present) and `2j+1` (fires when `j`
/// fires otherwise), with identical decoder rows. Encoder: `None`.
pub fn split_contextual(case: &EvalCase) -> EvalCase {
    let partners = contextual_partners(case);
    let f = case.d_sae();
    let src: Vec<Option<usize>> = (0..2 * f).map(|k| Some(k / 2)).collect();
    let (decoder, _) = gather_latents(case, &src, &[]);
    let zv = case.labels.view();
    let codes = remap_codes(&case.codes, 2 * f, |r, j, a, out| {
        let with_partner =
            partners[j].is_some_and(|p| zv.row_indices(r).binary_search(&(p as u32)).is_ok());
        out.push(((2 * j + usize::from(!with_partner)) as u32, a));
    });
    EvalCase {
        decoder,
        encoder: None,
        codes,
        ..case.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::case::max_rel_diff;
    use crate::toy::config::{Magnitudes, ToyConfig};
    use crate::toy::dgp::ToyModel;
    use crate::toy::ground_truth::GroundTruthOptions;
    use crate::toy::oracle::{LadderFamily, ladder, monosemantic};

    fn cases() -> Vec<EvalCase> {
        let cfg = ToyConfig {
            magnitudes: Magnitudes::Uniform {
                low: 0.5,
                high: 1.5,
            },
            ..ToyConfig::default()
        };
        let model = ToyModel::new(&cfg, 5).unwrap();
        let s = model.sample(0, 0, 3000);
        vec![
            monosemantic(&model, &s),
            ladder(LadderFamily::And, &model, &s, 2).unwrap(),
            ladder(LadderFamily::Or, &model, &s, 1).unwrap(),
        ]
    }

    fn pgt(case: &EvalCase) -> f64 {
        case.validate().unwrap();
        case.ground_truth(&GroundTruthOptions::default())
            .unwrap()
            .p_gt
            .unwrap()
    }

    fn close(a: f64, b: f64, rtol: f64) -> bool {
        (a - b).abs() <= 1e-9 + rtol * a.abs().max(b.abs())
    }

    #[test]
    fn permutation_moves_everything_together() {
        for case in cases() {
            let p = Rng::new(1).permutation(case.d_sae());
            let t = permute_latents(&case, &p).unwrap();
            assert!(max_rel_diff(&t.reconstruction(), &case.reconstruction()) < 1e-6);
            assert!(close(pgt(&t), pgt(&case), 1e-12));
            for (k, &j) in p.iter().enumerate() {
                assert_eq!(t.decoder.row(k), case.decoder.row(j));
            }
            // Undo with the inverse permutation: the original case, bit for bit.
            let mut inv = vec![0; p.len()];
            for (k, &j) in p.iter().enumerate() {
                inv[j] = k;
            }
            assert_eq!(permute_latents(&t, &inv).unwrap(), case);
            let r = reverse_latents(&case);
            assert_eq!(r.decoder.row(0), case.decoder.row(case.d_sae() - 1));
            assert_eq!(reverse_latents(&r), case);
            assert_ne!(random_permutation(&case, 1), random_permutation(&case, 2));
        }
        assert!(permute_latents(&cases()[0], &[0, 0]).is_err());
    }

    #[test]
    fn rescaling_keeps_reconstruction_and_p_gt() {
        for case in cases() {
            let t = rescale_latents(&case, 4);
            assert!(max_rel_diff(&t.reconstruction(), &case.reconstruction()) < 1e-5);
            assert!(
                close(pgt(&t), pgt(&case), 1e-5),
                "{} vs {}",
                pgt(&t),
                pgt(&case)
            );
            assert_eq!(t.codes.indices, case.codes.indices);
            // The drawn factors: s_j log-uniform in [0.1, 10] from the documented stream.
            let mut rng = Rng::derive(4, &[TAG_RESCALE]);
            let s: Vec<f64> = (0..case.d_sae())
                .map(|_| rng.log_uniform(0.1, 10.0))
                .collect();
            assert!(
                s.iter().any(|&x| x < 0.5) && s.iter().any(|&x| x > 2.0),
                "{s:?}"
            );
            for (j, &sj) in s.iter().enumerate() {
                let (a, b) = (norm_f32(case.decoder.row(j)), norm_f32(t.decoder.row(j)));
                assert!(close(b * sj, a, 1e-6), "decoder row {j}");
            }
            for (k, (&c0, &c1)) in case.codes.values.iter().zip(&t.codes.values).enumerate() {
                let j = case.codes.indices[k] as usize;
                assert!(close(c1 as f64, c0 as f64 * s[j], 1e-6), "code {k}");
            }
            if let (Some(e0), Some(e1)) = (&case.encoder, &t.encoder) {
                for r in 0..e0.rows {
                    for (j, &sj) in s.iter().enumerate() {
                        assert!(close(e1.row(r)[j] as f64, e0.row(r)[j] as f64 * sj, 1e-6));
                    }
                }
            }
        }
    }

    #[test]
    fn rotation_preserves_geometry_and_p_gt() {
        for case in cases() {
            let t = rotate_observations(&case, 9);
            for r in 0..50 {
                assert!(close(
                    norm_f32(t.activations.row(r)),
                    norm_f32(case.activations.row(r)),
                    1e-5
                ));
            }
            for i in 0..case.directions.rows {
                for k in 0..case.directions.rows {
                    let a = dot_f32(case.directions.row(i), case.directions.row(k));
                    let b = dot_f32(t.directions.row(i), t.directions.row(k));
                    assert!((a - b).abs() < 1e-5);
                }
            }
            assert!(
                close(pgt(&t), pgt(&case), 1e-5),
                "{} vs {}",
                pgt(&t),
                pgt(&case)
            );
            // Reconstruction rotates with x: residuals keep their norms.
            let (xr, xt) = (case.reconstruction(), t.reconstruction());
            for r in 0..50 {
                assert!(close(norm_f32(xt.row(r)), norm_f32(xr.row(r)), 1e-5));
            }
            if let (Some(e0), Some(e1)) = (&case.encoder, &t.encoder) {
                // x W_enc is invariant: (Qx)ᵀ(Q W) = xᵀ W.
                for j in 0..3 {
                    let a: f64 = (0..case.d_in())
                        .map(|k| case.activations.row(0)[k] as f64 * e0.row(k)[j] as f64)
                        .sum();
                    let b: f64 = (0..case.d_in())
                        .map(|k| t.activations.row(0)[k] as f64 * e1.row(k)[j] as f64)
                        .sum();
                    assert!((a - b).abs() < 1e-5, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn dead_padding_changes_nothing_live() {
        for case in cases() {
            let f = case.d_sae();
            for placement in [DeadPlacement::Appended, DeadPlacement::Interleaved] {
                let t = pad_dead_latents(&case, 3, placement);
                assert_eq!(t.d_sae(), f + f.div_ceil(2));
                assert_eq!(t.reconstruction(), case.reconstruction());
                assert_eq!(pgt(&t), pgt(&case));
                assert_eq!(t.recovery().unwrap().mcc, case.recovery().unwrap().mcc);
                let rep = t.ground_truth(&GroundTruthOptions::default()).unwrap();
                assert_eq!(rep.n_dead, f.div_ceil(2));
                for l in rep
                    .latents
                    .iter()
                    .filter(|l| l.status == super::super::ground_truth::LatentStatus::Dead)
                {
                    assert!((norm_f32(t.decoder.row(l.latent)) - 1.0).abs() < 1e-6);
                }
            }
            let t = pad_dead_latents(&case, 3, DeadPlacement::Interleaved);
            // Layout o o d o o d …: latent 2 is dead, latent 3 is original 2.
            assert_eq!(t.decoder.row(3), case.decoder.row(2));
            assert_eq!(t.decoder.row(0), case.decoder.row(0));
        }
    }

    #[test]
    fn coin_flip_split_keeps_reconstruction_l0_and_p_gt() {
        for case in cases() {
            let t = split_coin_flip(&case, 6);
            assert_eq!(t.d_sae(), 2 * case.d_sae());
            assert!(max_rel_diff(&t.reconstruction(), &case.reconstruction()) < 1e-6);
            assert_eq!(t.total_l0(), case.total_l0());
            assert!(
                close(pgt(&t), pgt(&case), 1e-9),
                "{} vs {}",
                pgt(&t),
                pgt(&case)
            );
            assert!(t.encoder.is_none());
            // Each copy gets about half: over all entries, the even copy's share is ~1/2.
            let even = t.codes.indices.iter().filter(|&&c| c % 2 == 0).count() as f64;
            let n = t.codes.nnz() as f64;
            assert!(
                (even / n - 0.5).abs() < 4.0 * (0.25 / n).sqrt(),
                "{}",
                even / n
            );
        }
    }

    #[test]
    fn contextual_split_routes_by_partner_presence() {
        let case = cases().remove(0);
        let partners = contextual_partners(&case);
        // Concept 0 co-occurs with its group (0..4) half the time, with others at ~p.
        assert_eq!(partners[0], Some(1));
        assert_eq!(partners[5], Some(4));
        let t = split_contextual(&case);
        assert_eq!(t.total_l0(), case.total_l0());
        assert!(max_rel_diff(&t.reconstruction(), &case.reconstruction()) < 1e-6);
        let (tv, zv) = (t.codes.view(), t.labels.view());
        for r in 0..t.n_tokens() {
            for &c in tv.row_indices(r) {
                let j = c as usize / 2;
                let with = zv.row_indices(r).contains(&(partners[j].unwrap() as u32));
                assert_eq!(c % 2 == 0, with, "row {r} copy {c}");
            }
        }
    }

    #[test]
    fn gauge_enum_round_trips_and_dispatches() {
        let g = Gauge::PadDead {
            seed: 2,
            placement: DeadPlacement::Interleaved,
        };
        let s = serde_json::to_string(&g).unwrap();
        assert_eq!(
            s,
            r#"{"kind":"pad_dead","seed":2,"placement":"interleaved"}"#
        );
        assert_eq!(serde_json::from_str::<Gauge>(&s).unwrap(), g);
        let case = cases().remove(0);
        assert_eq!(
            g.apply(&case),
            pad_dead_latents(&case, 2, DeadPlacement::Interleaved)
        );
        assert_eq!(Gauge::Reverse.label(), "reverse");
    }
}
