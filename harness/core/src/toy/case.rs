//! [`EvalCase`]: one SAE evaluated on one dataset, the unit that oracle
//! builders and gauge transforms produce and that metrics and conditions read.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::{CsrMatrix, CsrView, DenseMatrix};

use super::ground_truth::{GroundTruthOptions, GroundTruthReport, p_gt};
use super::recovery::{RecoveryScores, recovery_scores};

/// An SAE (decoder, optional encoder) with its codes on evaluation data, the
/// toy ground truth, and the true directions.
///
/// Invariants (checked by [`EvalCase::validate`]): `decoder: [d_sae, d_in]`,
/// `encoder: [d_in, d_sae]`, `activations: [n_tokens, d_in]`,
/// `codes: [n_tokens, d_sae]`, `labels: [n_tokens, n_concepts]`,
/// `directions: [n_concepts, d_in]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalCase {
    /// `W_dec: [d_sae, d_in]`; row `j` is latent `j`'s direction.
    pub decoder: DenseMatrix,
    /// `W_enc: [d_in, d_sae]` (SAELens orientation), present only where a
    /// faithful encoder exists (codes = ReLU-free `x · W_enc` on noiseless data).
    pub encoder: Option<DenseMatrix>,
    /// Activations `x: [n_tokens, d_in]`.
    pub activations: DenseMatrix,
    /// Codes `[n_tokens, d_sae]` (CSR; zero codes are not stored).
    pub codes: CsrMatrix,
    /// Concept presence `z: [n_tokens, n_concepts]` (CSR, values 1.0).
    pub labels: CsrMatrix,
    /// True directions `V: [n_concepts, d_in]`: oracle-only ground truth, never
    /// shown to proxy metrics.
    pub directions: DenseMatrix,
}

impl EvalCase {
    /// Number of latents `d_sae`.
    pub fn d_sae(&self) -> usize {
        self.decoder.rows
    }

    /// Observation dimension `d_in`.
    pub fn d_in(&self) -> usize {
        self.decoder.cols
    }

    /// Number of evaluation samples.
    pub fn n_tokens(&self) -> usize {
        self.activations.rows
    }

    /// Checks every shape invariant listed on the type.
    pub fn validate(&self) -> Result<()> {
        let (f, d) = (self.decoder.rows, self.decoder.cols);
        let n = self.activations.rows;
        ensure!(
            self.activations.cols == d,
            "activations are [{n}, {}] but the decoder is [{f}, {d}]",
            self.activations.cols
        );
        if let Some(e) = &self.encoder {
            ensure!(
                e.rows == d && e.cols == f,
                "encoder is [{}, {}], expected [d_in, d_sae] = [{d}, {f}]",
                e.rows,
                e.cols
            );
        }
        ensure!(
            self.codes.n_rows == n && self.codes.n_cols == f,
            "codes are [{}, {}], expected [n_tokens, d_sae] = [{n}, {f}]",
            self.codes.n_rows,
            self.codes.n_cols
        );
        ensure!(
            self.labels.n_rows == n && self.labels.n_cols == self.directions.rows,
            "labels are [{}, {}], expected [n_tokens, n_concepts] = [{n}, {}]",
            self.labels.n_rows,
            self.labels.n_cols,
            self.directions.rows
        );
        ensure!(
            self.directions.cols == d,
            "directions are [{}, {}] but d_in = {d}",
            self.directions.rows,
            self.directions.cols
        );
        for (name, m) in [("codes", &self.codes), ("labels", &self.labels)] {
            CsrView::new(m.n_rows, m.n_cols, &m.indptr, &m.indices, &m.values)
                .map_err(|e| e.context(format!("{name} are not a valid CSR matrix")))?;
        }
        Ok(())
    }

    /// Reconstruction `x̂ = codes · W_dec`, `[n_tokens, d_in]` (no decoder bias).
    pub fn reconstruction(&self) -> DenseMatrix {
        reconstruct(&self.codes, &self.decoder)
    }

    /// Total number of stored (non-zero) codes, `Σ_t L0(t)`.
    pub fn total_l0(&self) -> usize {
        self.codes.nnz()
    }

    /// Ground-truth polysemanticity of this case (oracle).
    pub fn ground_truth(&self, opts: &GroundTruthOptions) -> Result<GroundTruthReport> {
        p_gt(
            &self.directions,
            &self.decoder,
            &self.codes,
            &self.labels,
            opts,
        )
    }

    /// Oracle recovery scores of this case.
    pub fn recovery(&self) -> Result<RecoveryScores> {
        recovery_scores(&self.directions, &self.decoder, &self.codes, &self.labels)
    }
}

/// `codes · decoder`: `[n_tokens, d_sae] × [d_sae, d_in] → [n_tokens, d_in]`,
/// accumulated in `f64` per row.
pub fn reconstruct(codes: &CsrMatrix, decoder: &DenseMatrix) -> DenseMatrix {
    assert_eq!(
        codes.n_cols, decoder.rows,
        "reconstruct: codes/decoder mismatch"
    );
    let d = decoder.cols;
    let mut out = DenseMatrix::zeros(codes.n_rows, d);
    let mut acc = vec![0.0f64; d];
    let v = codes.view();
    for r in 0..codes.n_rows {
        acc.fill(0.0);
        for (j, a) in v.row_iter(r) {
            for (s, &w) in acc.iter_mut().zip(decoder.row(j)) {
                *s += a as f64 * w as f64;
            }
        }
        for (o, s) in out.row_mut(r).iter_mut().zip(&acc) {
            *o = *s as f32;
        }
    }
    out
}

/// Largest absolute elementwise difference between two equally shaped
/// matrices, relative to the largest absolute entry of either (`0` for two
/// zero matrices). Panics on a shape mismatch.
pub fn max_rel_diff(a: &DenseMatrix, b: &DenseMatrix) -> f64 {
    assert_eq!(
        (a.rows, a.cols),
        (b.rows, b.cols),
        "max_rel_diff: shapes differ"
    );
    let mut diff = 0.0f64;
    let mut scale = 0.0f64;
    for (&x, &y) in a.data.iter().zip(&b.data) {
        diff = diff.max((x as f64 - y as f64).abs());
        scale = scale.max((x as f64).abs()).max((y as f64).abs());
    }
    if scale > 0.0 { diff / scale } else { diff }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconstruction_is_codes_times_decoder() {
        let dec = DenseMatrix::from_vec(2, 3, vec![1.0, 0.0, 2.0, 0.0, 1.0, -1.0]).unwrap();
        let mut codes = CsrMatrix::with_cols(2);
        codes.push_row([(0, 2.0), (1, 3.0)]);
        codes.push_row([]);
        let x = reconstruct(&codes, &dec);
        assert_eq!(x.data, vec![2.0, 3.0, 1.0, 0.0, 0.0, 0.0]);
        let y = DenseMatrix::from_vec(2, 3, vec![2.0, 3.0, 1.5, 0.0, 0.0, 0.0]).unwrap();
        assert!((max_rel_diff(&x, &y) - 0.5 / 3.0).abs() < 1e-15);
    }
}
