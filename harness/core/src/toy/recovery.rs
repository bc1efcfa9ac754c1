//! Oracle recovery scores from the literature (CONDITIONS.md §2). They read
//! the true directions `V`, so they are **oracles**, labelled as such
//! everywhere; no proxy metric ever receives `V`.
//!
//! All scores are over *live* latents (latents that fire at least once on the
//! evaluation data), so padding with dead latents cannot change them. With
//! `A_ji = |cos(w_j, v_i)|` (0 for a zero row):
//! - **MCC**: maximum-weight one-to-one matching of live latents to concepts
//!   (Hungarian), `MCC = Σ_matched A_ji / n_concepts`; concepts left unmatched
//!   (fewer live latents than concepts) count 0, so an SAE that merges
//!   concepts cannot score 1.
//! - **MMCS** (Sharkey, Braun & Millidge 2022, "mean max cosine similarity"):
//!   `(1/n_concepts) Σ_i max_j A_ji`.
//! - **Uniqueness**: fraction of concepts that are the best match
//!   (`argmax_i A_ji`, ties → lowest index) of at least one live latent.
//! - **Precision / recall / F1** (SynthSAEBench style): each live latent is
//!   matched to its best concept `i* = argmax_i A_ji`; precision
//!   `P(z_{i*} | j fires)`, recall `P(j fires | z_{i*})` (undefined if the
//!   concept never occurs), `F1 = 2PR / (P + R)` (0 when `P = R = 0`). Means are
//!   unweighted over live latents where defined.
//!
//! Every score is `None` when there is no live latent.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};
use serde::{Deserialize, Serialize};

use super::ground_truth::firing_stats;
use crate::linalg::{dot_f32, hungarian_max, norm_f32};

/// Per-latent oracle match (live latents only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentRecovery {
    /// Latent index `j`.
    pub latent: usize,
    /// Best-matching concept `argmax_i |cos(w_j, v_i)|`.
    pub concept: usize,
    /// `|cos(w_j, v_concept)|`.
    pub abs_cos: f64,
    /// Concept assigned by the Hungarian matching, if any.
    pub hungarian_concept: Option<usize>,
    /// `P(concept present | j fires)`.
    pub precision: f64,
    /// `P(j fires | concept present)`; `None` if the concept never occurs.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall; `None` if recall is undefined.
    pub f1: Option<f64>,
}

/// Oracle recovery scores of an SAE; see the module docs for definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryScores {
    /// Hungarian-matched mean `|cos|` (unmatched concepts count 0).
    pub mcc: Option<f64>,
    /// Mean over concepts of the best `|cos|` over live latents.
    pub mmcs: Option<f64>,
    /// Fraction of concepts that are some live latent's best match.
    pub uniqueness: Option<f64>,
    /// Mean precision over live latents.
    pub mean_precision: Option<f64>,
    /// Mean recall over live latents with a defined recall.
    pub mean_recall: Option<f64>,
    /// Mean F1 over live latents with a defined F1.
    pub mean_f1: Option<f64>,
    /// Number of live latents.
    pub n_live: usize,
    /// One entry per live latent, ascending latent index.
    pub latents: Vec<LatentRecovery>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut s, mut k) = (0.0f64, 0usize);
    for x in xs {
        s += x;
        k += 1;
    }
    (k > 0).then(|| s / k as f64)
}

/// Oracle recovery scores. Shapes: `directions: [n_concepts, d_in]`,
/// `decoder: [d_sae, d_in]`, `codes: [n_tokens, d_sae]`,
/// `concepts: [n_tokens, n_concepts]`.
pub fn recovery_scores(
    directions: &DenseMatrix,
    decoder: &DenseMatrix,
    codes: &CsrMatrix,
    concepts: &CsrMatrix,
) -> Result<RecoveryScores> {
    ensure!(
        directions.cols == decoder.cols,
        "directions have d_in = {} but the decoder has d_in = {}",
        directions.cols,
        decoder.cols
    );
    ensure!(
        codes.n_cols == decoder.rows && concepts.n_cols == directions.rows,
        "codes [{}, {}] / labels [{}, {}] do not match decoder [{}, {}] / directions [{}, {}]",
        codes.n_rows,
        codes.n_cols,
        concepts.n_rows,
        concepts.n_cols,
        decoder.rows,
        decoder.cols,
        directions.rows,
        directions.cols
    );
    let stats = firing_stats(&codes.view(), &concepts.view())?;
    let n_c = directions.rows;
    let live: Vec<usize> = (0..decoder.rows).filter(|&j| stats.fires[j] > 0).collect();
    if live.is_empty() || n_c == 0 {
        return Ok(RecoveryScores {
            mcc: None,
            mmcs: None,
            uniqueness: None,
            mean_precision: None,
            mean_recall: None,
            mean_f1: None,
            n_live: live.len(),
            latents: Vec::new(),
        });
    }
    let vnorm: Vec<f64> = (0..n_c).map(|i| norm_f32(directions.row(i))).collect();
    // A: [n_live, n_concepts]
    let mut a = vec![0.0f64; live.len() * n_c];
    for (r, &j) in live.iter().enumerate() {
        let w = decoder.row(j);
        let wn = norm_f32(w);
        for i in 0..n_c {
            let den = wn * vnorm[i];
            a[r * n_c + i] = if den > 0.0 && den.is_finite() {
                (dot_f32(w, directions.row(i)) / den).abs()
            } else {
                0.0
            };
        }
    }
    let assignment = hungarian_max(&a, live.len(), n_c);
    let matched: f64 = assignment
        .iter()
        .enumerate()
        .filter_map(|(r, c)| c.map(|i| a[r * n_c + i]))
        .sum();
    let mcc = matched / n_c as f64;
    let mmcs = (0..n_c)
        .map(|i| (0..live.len()).map(|r| a[r * n_c + i]).fold(0.0, f64::max))
        .sum::<f64>()
        / n_c as f64;
    let mut is_best = vec![false; n_c];
    let mut latents = Vec::with_capacity(live.len());
    for (r, &j) in live.iter().enumerate() {
        let row = &a[r * n_c..(r + 1) * n_c];
        let mut best = 0;
        for i in 1..n_c {
            if row[i] > row[best] {
                best = i;
            }
        }
        is_best[best] = true;
        let co = stats.co[j * stats.n_concepts + best] as f64;
        let precision = co / stats.fires[j] as f64;
        let recall = (stats.present[best] > 0).then(|| co / stats.present[best] as f64);
        let f1 = recall.map(|rc| {
            if precision + rc > 0.0 {
                2.0 * precision * rc / (precision + rc)
            } else {
                0.0
            }
        });
        latents.push(LatentRecovery {
            latent: j,
            concept: best,
            abs_cos: row[best],
            hungarian_concept: assignment[r],
            precision,
            recall,
            f1,
        });
    }
    let uniqueness = is_best.iter().filter(|&&b| b).count() as f64 / n_c as f64;
    Ok(RecoveryScores {
        mcc: Some(mcc),
        mmcs: Some(mmcs),
        uniqueness: Some(uniqueness),
        mean_precision: mean(latents.iter().map(|l| l.precision)),
        mean_recall: mean(latents.iter().filter_map(|l| l.recall)),
        mean_f1: mean(latents.iter().filter_map(|l| l.f1)),
        n_live: live.len(),
        latents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(n_cols: usize, rows: &[&[u32]]) -> CsrMatrix {
        let mut m = CsrMatrix::with_cols(n_cols);
        for r in rows {
            m.push_row(r.iter().map(|&i| (i, 1.0)));
        }
        m
    }

    fn eye(n: usize) -> DenseMatrix {
        let mut m = DenseMatrix::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }

    #[test]
    fn perfect_dictionary_scores_one_everywhere() {
        let v = eye(3);
        let z = csr(3, &[&[0], &[1, 2], &[2]]);
        let s = recovery_scores(&v, &v, &z, &z).unwrap();
        for x in [
            s.mcc,
            s.mmcs,
            s.uniqueness,
            s.mean_precision,
            s.mean_recall,
            s.mean_f1,
        ] {
            assert_eq!(x, Some(1.0));
        }
    }

    #[test]
    fn hand_computed_scores_on_a_merged_dictionary() {
        // One live latent w = (0.8, 0.6, 0) against V = I3, plus a dead latent = e3.
        let v = eye(3);
        let dec = DenseMatrix::from_vec(2, 3, vec![0.8, 0.6, 0.0, 0.0, 0.0, 1.0]).unwrap();
        // Latent 0 fires on samples 0, 1, 2; concept 0 present on 0 and 3.
        let codes = csr(2, &[&[0], &[0], &[0], &[]]);
        let z = csr(3, &[&[0], &[1], &[], &[0]]);
        let s = recovery_scores(&v, &dec, &codes, &z).unwrap();
        assert_eq!(s.n_live, 1);
        // MCC: one matched pair (0.8) over 3 concepts. MMCS: (0.8 + 0.6 + 0)/3.
        assert!((s.mcc.unwrap() - 0.8 / 3.0).abs() < 1e-7);
        assert!((s.mmcs.unwrap() - 1.4 / 3.0).abs() < 1e-7);
        assert!((s.uniqueness.unwrap() - 1.0 / 3.0).abs() < 1e-15);
        // P = 1/3, R = 1/2, F1 = 2·(1/6)/(5/6) = 0.4.
        let l = &s.latents[0];
        assert_eq!((l.concept, l.hungarian_concept), (0, Some(0)));
        assert!((l.precision - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(l.recall, Some(0.5));
        assert!((l.f1.unwrap() - 0.4).abs() < 1e-15);
    }

    #[test]
    fn hungarian_matching_differs_from_greedy_best_match() {
        // Two latents both closest to concept 0; matching sends latent 1 to concept 1.
        let v = eye(2);
        let dec = DenseMatrix::from_vec(2, 2, vec![1.0, 0.0, 0.8, 0.6]).unwrap();
        let z = csr(2, &[&[0], &[1]]);
        let codes = csr(2, &[&[0, 1], &[1]]);
        let s = recovery_scores(&v, &dec, &codes, &z).unwrap();
        assert!((s.mcc.unwrap() - 0.8).abs() < 1e-7); // (1 + 0.6)/2
        assert!((s.mmcs.unwrap() - 0.8).abs() < 1e-7); // (1 + 0.6)/2
        assert_eq!(s.uniqueness, Some(0.5)); // both latents' best is concept 0
        assert_eq!(s.latents[1].hungarian_concept, Some(1));
        assert_eq!(s.latents[1].concept, 0);
        // Latent 1 fires on both samples; concept 0 on one: P = 1/2, R = 1.
        assert_eq!(s.latents[1].precision, 0.5);
        assert_eq!(s.latents[1].recall, Some(1.0));
    }

    #[test]
    fn all_dead_is_undefined() {
        let v = eye(2);
        let s = recovery_scores(&v, &v, &csr(2, &[&[], &[]]), &csr(2, &[&[0], &[1]])).unwrap();
        assert_eq!((s.mcc, s.mmcs, s.mean_f1, s.n_live), (None, None, None, 0));
    }
}
