//! Edits to an SAE (an [`EvalCase`]'s decoder and codes) for the
//! gameability search (CONDITIONS.md §7). Every edit keeps the data, the
//! labels and the concept directions; none keeps an encoder (the edited
//! codes no longer come from one).
//!
//! With latents `a`, `b` (decoder rows `w_a`, `w_b`) and the merged
//! direction `u = normalize(w_a + w_b)`, a merged code is the least-squares
//! code of what the two latents reconstructed on that row:
//! `c = c_a ⟨w_a, u⟩ + c_b ⟨w_b, u⟩` (`c_b = 0` where `b` is silent).

use crate::linalg::{dot, normalize};
use crate::rng::Rng;
use crate::toy::EvalCase;
use crate::toy::gauge::{DeadPlacement, pad_dead_latents, rescale_latents_by};
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};
use serde::{Deserialize, Serialize};

/// One edit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// `a` takes `u` and fires wherever `a` or `b` fired; `b` is removed.
    MergeOr { a: usize, b: usize },
    /// A new latent (appended) with `u` fires where both fired; `a` and `b`
    /// are silent there.
    MergeAnd { a: usize, b: usize },
    /// `a` absorbs `b`: `a` takes `u`, and wherever `a` fires `b` is silent
    /// and `a` carries both codes.
    Absorb { a: usize, b: usize },
    /// `a` becomes two latents with `a`'s decoder; on each row where it
    /// fires, its code goes to one copy by a fair coin (`seed`).
    Split { a: usize, seed: u64 },
    /// +50% dead latents, appended (random unit decoder rows, `seed`).
    AddDead { seed: u64 },
    /// Code × `s`, decoder ÷ `s` for latent `a`.
    Rescale { a: usize, s: f64 },
    /// Latent `a` removed (its decoder row and codes).
    Drop { a: usize },
}

impl std::fmt::Display for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Edit::MergeOr { a, b } => write!(f, "OR-merge {a}+{b}"),
            Edit::MergeAnd { a, b } => write!(f, "AND-merge {a}+{b}"),
            Edit::Absorb { a, b } => write!(f, "{a} absorbs {b}"),
            Edit::Split { a, .. } => write!(f, "split {a}"),
            Edit::AddDead { .. } => write!(f, "+50% dead latents"),
            Edit::Rescale { a, s } => write!(f, "rescale {a} by {s}"),
            Edit::Drop { a } => write!(f, "drop {a}"),
        }
    }
}

impl Edit {
    /// The edited SAE; `None` where the edit does not apply (an index out
    /// of range, `a = b`, a zero merged direction, the last latent dropped).
    pub fn apply(&self, case: &EvalCase) -> Option<EvalCase> {
        let f = case.d_sae();
        let ok = |j: usize| j < f;
        let out = match *self {
            Edit::MergeOr { a, b } | Edit::MergeAnd { a, b } | Edit::Absorb { a, b }
                if !ok(a) || !ok(b) || a == b =>
            {
                return None;
            }
            Edit::MergeOr { a, b } => merge(case, a, b, Kind::Or)?,
            Edit::MergeAnd { a, b } => merge(case, a, b, Kind::And)?,
            Edit::Absorb { a, b } => merge(case, a, b, Kind::Absorb)?,
            Edit::Split { a, seed } if ok(a) => split(case, a, seed),
            Edit::AddDead { seed } => pad_dead_latents(case, seed, DeadPlacement::Appended),
            Edit::Rescale { a, s } if ok(a) && s > 0.0 && s.is_finite() => {
                let mut scales = vec![1.0; f];
                scales[a] = s;
                rescale_latents_by(case, &scales).ok()?
            }
            Edit::Drop { a } if ok(a) && f > 1 => drop_latent(case, a),
            _ => return None,
        };
        Some(EvalCase {
            encoder: None,
            ..out
        })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Or,
    And,
    Absorb,
}

fn merge(case: &EvalCase, a: usize, b: usize, kind: Kind) -> Option<EvalCase> {
    let (f, d) = (case.d_sae(), case.d_in());
    let (wa, wb) = (case.decoder.row(a), case.decoder.row(b));
    let mut u: Vec<f64> = wa
        .iter()
        .zip(wb)
        .map(|(&x, &y)| x as f64 + y as f64)
        .collect();
    if normalize(&mut u) <= 1e-12 {
        return None;
    }
    let wa64: Vec<f64> = wa.iter().map(|&x| x as f64).collect();
    let wb64: Vec<f64> = wb.iter().map(|&x| x as f64).collect();
    let (pa, pb) = (dot(&wa64, &u), dot(&wb64, &u));
    let uf: Vec<f32> = u.iter().map(|&x| x as f32).collect();
    // New latent order and decoder.
    let (n_out, col): (usize, Box<dyn Fn(usize) -> Option<usize>>) = match kind {
        Kind::Or => (
            f - 1,
            Box::new(move |j| (j != b).then(|| if j > b { j - 1 } else { j })),
        ),
        Kind::And => (f + 1, Box::new(Some)),
        Kind::Absorb => (f, Box::new(Some)),
    };
    let mut dec = vec![0f32; n_out * d];
    for j in 0..f {
        if let Some(k) = col(j) {
            dec[k * d..(k + 1) * d].copy_from_slice(case.decoder.row(j));
        }
    }
    let merged_col = match kind {
        Kind::And => f,
        Kind::Or | Kind::Absorb => col(a)?,
    };
    dec[merged_col * d..(merged_col + 1) * d].copy_from_slice(&uf);
    let v = case.codes.view();
    let mut codes = CsrMatrix::with_cols(n_out);
    let mut row: Vec<(u32, f32)> = Vec::new();
    for r in 0..case.n_tokens() {
        row.clear();
        let (mut ca, mut cb) = (0f64, 0f64);
        for (j, c) in v.row_iter(r) {
            if j == a {
                ca = c as f64;
            } else if j == b {
                cb = c as f64;
            }
        }
        let fires = match kind {
            Kind::Or => ca != 0.0 || cb != 0.0,
            Kind::And => ca != 0.0 && cb != 0.0,
            Kind::Absorb => ca != 0.0,
        };
        let merged = (ca * pa + cb * pb) as f32;
        for (j, c) in v.row_iter(r) {
            let covered = fires && (j == a || j == b);
            if covered {
                continue;
            }
            if let Some(k) = col(j) {
                row.push((k as u32, c));
            }
        }
        if fires && merged != 0.0 {
            row.push((merged_col as u32, merged));
        }
        row.sort_unstable_by_key(|e| e.0);
        codes.push_row(row.iter().copied());
    }
    Some(EvalCase {
        decoder: DenseMatrix::from_vec(n_out, d, dec).ok()?,
        codes,
        ..case.clone()
    })
}

fn split(case: &EvalCase, a: usize, seed: u64) -> EvalCase {
    let (f, d) = (case.d_sae(), case.d_in());
    let mut dec = case.decoder.data.clone();
    dec.extend_from_slice(case.decoder.row(a));
    let v = case.codes.view();
    let mut codes = CsrMatrix::with_cols(f + 1);
    for r in 0..case.n_tokens() {
        let mut rng = Rng::derive(seed, &[0x5917, r as u64]);
        let to_copy = rng.next_u64() >> 63 == 1;
        let row: Vec<(u32, f32)> = v
            .row_iter(r)
            .map(|(j, c)| {
                if j == a && to_copy {
                    (f as u32, c)
                } else {
                    (j as u32, c)
                }
            })
            .collect();
        codes.push_row(row);
    }
    EvalCase {
        decoder: DenseMatrix::from_vec(f + 1, d, dec).expect("one more row"),
        codes,
        ..case.clone()
    }
}

fn drop_latent(case: &EvalCase, a: usize) -> EvalCase {
    let (f, d) = (case.d_sae(), case.d_in());
    let mut dec = Vec::with_capacity((f - 1) * d);
    for j in (0..f).filter(|&j| j != a) {
        dec.extend_from_slice(case.decoder.row(j));
    }
    let v = case.codes.view();
    let mut codes = CsrMatrix::with_cols(f - 1);
    for r in 0..case.n_tokens() {
        codes.push_row(
            v.row_iter(r)
                .filter(|&(j, _)| j != a)
                .map(|(j, c)| ((if j > a { j - 1 } else { j }) as u32, c)),
        );
    }
    EvalCase {
        decoder: DenseMatrix::from_vec(f - 1, d, dec).expect("one row fewer"),
        codes,
        ..case.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::{
        GroundTruthOptions, Merge, MergeKind, ToyConfig, ToyModel, merged_case, monosemantic,
    };

    fn setup() -> (ToyModel, crate::toy::ToySamples) {
        let model = ToyModel::new(&ToyConfig::default(), 5).unwrap();
        let s = model.sample(0, 0, 2000);
        (model, s)
    }

    /// OR-merging two latents of `M` gives exactly the oracle's OR merge of
    /// their concepts (same decoder, codes and P_gt).
    #[test]
    fn pairwise_merges_match_the_oracle_merges() {
        let (model, s) = setup();
        let m = monosemantic(&model, &s);
        let c = Edit::MergeOr { a: 0, b: 1 }.apply(&m).unwrap();
        let or1 = merged_case(
            &model,
            &s,
            &[Merge {
                members: vec![0, 1],
                kind: MergeKind::Or,
            }],
        )
        .unwrap();
        assert_eq!(c.d_sae(), or1.d_sae());
        assert!(crate::toy::max_rel_diff(&c.reconstruction(), &or1.reconstruction()) < 1e-5);
        assert_eq!(c.codes.nnz(), or1.codes.nnz());
        let gt = GroundTruthOptions::default();
        let (p, q) = (
            c.ground_truth(&gt).unwrap().p_gt,
            or1.ground_truth(&gt).unwrap().p_gt,
        );
        assert!((p.unwrap() - q.unwrap()).abs() < 1e-9, "{p:?} {q:?}");
        // AND-merging two latents: lossless with c = 1 (codes √2 on both-present rows).
        let and = Edit::MergeAnd { a: 0, b: 1 }.apply(&m).unwrap();
        assert_eq!(and.d_sae(), m.d_sae() + 1);
        assert!(crate::toy::max_rel_diff(&and.reconstruction(), &m.reconstruction()) < 1e-5);
        assert!(and.ground_truth(&gt).unwrap().p_gt.unwrap() > 0.0);
    }

    #[test]
    fn split_drop_and_bad_indices() {
        let (model, s) = setup();
        let m = monosemantic(&model, &s);
        let sp = Edit::Split { a: 3, seed: 1 }.apply(&m).unwrap();
        assert_eq!(sp.d_sae(), m.d_sae() + 1);
        assert_eq!(sp.codes.nnz(), m.codes.nnz());
        assert!(crate::toy::max_rel_diff(&sp.reconstruction(), &m.reconstruction()) < 1e-6);
        let dr = Edit::Drop { a: 0 }.apply(&m).unwrap();
        assert_eq!(dr.d_sae(), m.d_sae() - 1);
        assert!(Edit::MergeOr { a: 2, b: 2 }.apply(&m).is_none());
        assert!(Edit::Drop { a: 99 }.apply(&m).is_none());
        assert!(Edit::Rescale { a: 0, s: 0.0 }.apply(&m).is_none());
    }
}
