//! The core numbers of `rdpbench eval`, accumulated chunk by chunk in
//! `O(d_in + d_sae + batch_tokens · d_in)` memory, with SAELens 6.x evals'
//! definitions (`get_sparsity_and_variance_metrics`; docs/eval.md).
//!
//! Per token `x`, reconstruction `x̂`, codes `f` (`N` tokens in all):
//! - `l0 = mean #{j : f_j ≠ 0}`, `l1 = mean Σ_j |f_j|`;
//! - `mse = mean ‖x − x̂‖²` (summed over dimensions), `mse_elementwise = mse / d_in`;
//! - `explained_variance = 1 − mse / (mean ‖x‖² − ‖mean x‖²)` (1 if both
//!   are below 1e-10, 0 if only the variance is);
//! - `explained_variance_legacy = mean 1 − ‖x − x̂‖² / ‖x − x̄_B‖²`, `x̄_B`
//!   the mean of the token's batch of `batch_tokens` rows;
//! - `cossim = mean ⟨x, x̂⟩ / (‖x‖ ‖x̂‖)`;
//! - `l2_norm_in = mean ‖x‖`, `l2_norm_out = mean ‖x̂‖`,
//!   `l2_ratio = mean ‖x̂‖ / ‖x‖` (a norm below 1e-4 divides as 1);
//! - `relative_reconstruction_bias = mean over batches of
//!   (mean_B ‖x̂‖²) / (mean_B ⟨x, x̂⟩)`;
//! - `dead_fraction`: latents with no non-zero code; `dense_fraction`:
//!   latents non-zero on more than `dense_threshold · N` tokens.
//!
//! A last batch shorter than `batch_tokens` counts as a batch of its own.
//! Sums are kept in `f64`.

use rdpbench_sdk::CsrMatrix;

/// The running sums.
#[derive(Debug, Clone)]
pub struct CoreNumbers {
    d_in: usize,
    batch_tokens: usize,
    n: u64,
    l0: f64,
    l1: f64,
    rss: f64,
    sum_x: Vec<f64>,
    sum_sq_norm: f64,
    ev_legacy: f64,
    cossim: f64,
    norm_in: f64,
    norm_out: f64,
    l2_ratio: f64,
    rrb: f64,
    n_batches: u64,
    fires: Vec<u64>,
    batch_x: Vec<f32>,
    batch_x_hat: Vec<f32>,
}

/// The finished numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreSummary {
    pub n_tokens: usize,
    pub l0: f64,
    pub l1: f64,
    pub mse: f64,
    pub mse_elementwise: f64,
    pub explained_variance: Option<f64>,
    pub explained_variance_legacy: Option<f64>,
    pub cossim: Option<f64>,
    pub l2_norm_in: f64,
    pub l2_norm_out: f64,
    pub l2_ratio: f64,
    pub relative_reconstruction_bias: Option<f64>,
    /// Per latent: the fraction of tokens it is non-zero on.
    pub feature_density: Vec<f64>,
    pub dead_fraction: f64,
    pub dense_fraction: f64,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl CoreNumbers {
    pub fn new(d_in: usize, d_sae: usize, batch_tokens: usize) -> Self {
        Self {
            d_in,
            batch_tokens: batch_tokens.max(1),
            n: 0,
            l0: 0.0,
            l1: 0.0,
            rss: 0.0,
            sum_x: vec![0.0; d_in],
            sum_sq_norm: 0.0,
            ev_legacy: 0.0,
            cossim: 0.0,
            norm_in: 0.0,
            norm_out: 0.0,
            l2_ratio: 0.0,
            rrb: 0.0,
            n_batches: 0,
            fires: vec![0; d_sae],
            batch_x: Vec::new(),
            batch_x_hat: Vec::new(),
        }
    }

    /// Adds `rows` tokens: `x`, `x_hat` `[rows, d_in]`, `codes` `[rows, d_sae]`.
    pub fn add(&mut self, x: &[f32], x_hat: &[f32], codes: &CsrMatrix) {
        let d = self.d_in;
        for (k, &j) in codes.indices.iter().enumerate() {
            let v = if codes.values.is_empty() {
                1.0
            } else {
                codes.values[k]
            };
            if v != 0.0 {
                self.fires[j as usize] += 1;
                self.l0 += 1.0;
                self.l1 += (v as f64).abs();
            }
        }
        for (xr, hr) in x.chunks_exact(d).zip(x_hat.chunks_exact(d)) {
            let (mut rss, mut xx, mut hh, mut xh) = (0f64, 0f64, 0f64, 0f64);
            for ((&a, &b), s) in xr.iter().zip(hr).zip(self.sum_x.iter_mut()) {
                let (a, b) = (a as f64, b as f64);
                rss += (a - b) * (a - b);
                xx += a * a;
                hh += b * b;
                xh += a * b;
                *s += a;
            }
            self.n += 1;
            self.rss += rss;
            self.sum_sq_norm += xx;
            let (nx, nh) = (xx.sqrt(), hh.sqrt());
            self.cossim += xh / (nx * nh);
            self.norm_in += nx;
            self.norm_out += nh;
            self.l2_ratio += nh / if nx.abs() < 1e-4 { 1.0 } else { nx };
            self.batch_x.extend_from_slice(xr);
            self.batch_x_hat.extend_from_slice(hr);
            if self.batch_x.len() == self.batch_tokens * d {
                self.close_batch();
            }
        }
    }

    /// The batch-dependent numbers of the buffered batch.
    fn close_batch(&mut self) {
        let d = self.d_in;
        let rows = self.batch_x.len() / d;
        if rows == 0 {
            return;
        }
        let mut mean = vec![0f64; d];
        for r in self.batch_x.chunks_exact(d) {
            for (m, &v) in mean.iter_mut().zip(r) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows as f64);
        let (mut hh, mut xh) = (0f64, 0f64);
        for (xr, hr) in self
            .batch_x
            .chunks_exact(d)
            .zip(self.batch_x_hat.chunks_exact(d))
        {
            let (mut rss, mut var) = (0f64, 0f64);
            for ((&a, &b), m) in xr.iter().zip(hr).zip(&mean) {
                let (a, b) = (a as f64, b as f64);
                rss += (a - b) * (a - b);
                var += (a - m) * (a - m);
                hh += b * b;
                xh += a * b;
            }
            self.ev_legacy += 1.0 - rss / var;
        }
        self.rrb += (hh / rows as f64) / (xh / rows as f64);
        self.n_batches += 1;
        self.batch_x.clear();
        self.batch_x_hat.clear();
    }

    /// The numbers over everything added.
    pub fn finish(mut self, dense_threshold: f64) -> CoreSummary {
        self.close_batch();
        let n = self.n.max(1) as f64;
        let mse = self.rss / n;
        let mean_sq_norm = self.sum_sq_norm / n;
        let mean_norm_sq: f64 = self.sum_x.iter().map(|s| (s / n) * (s / n)).sum();
        let total_variance = mean_sq_norm - mean_norm_sq;
        let explained_variance = if self.n == 0 {
            None
        } else if total_variance < 1e-10 {
            Some(if mse < 1e-10 { 1.0 } else { 0.0 })
        } else {
            Some(1.0 - mse / total_variance)
        };
        let feature_density: Vec<f64> = self.fires.iter().map(|&c| c as f64 / n).collect();
        let d_sae = self.fires.len().max(1) as f64;
        CoreSummary {
            n_tokens: self.n as usize,
            l0: self.l0 / n,
            l1: self.l1 / n,
            mse,
            mse_elementwise: mse / self.d_in as f64,
            explained_variance,
            explained_variance_legacy: finite(self.ev_legacy / n),
            cossim: finite(self.cossim / n),
            l2_norm_in: self.norm_in / n,
            l2_norm_out: self.norm_out / n,
            l2_ratio: self.l2_ratio / n,
            relative_reconstruction_bias: finite(self.rrb / self.n_batches.max(1) as f64),
            dead_fraction: self.fires.iter().filter(|&&c| c == 0).count() as f64 / d_sae,
            dense_fraction: feature_density
                .iter()
                .filter(|&&p| p > dense_threshold)
                .count() as f64
                / d_sae,
            feature_density,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(rows: &[Vec<(u32, f32)>], d_sae: usize) -> CsrMatrix {
        let mut c = CsrMatrix::with_cols(d_sae);
        for r in rows {
            c.push_row(r.iter().copied());
        }
        c
    }

    /// Two tokens x = (1, 0), (0, 2); x̂ = (1, 0), (0, 1); one batch.
    /// rss = 0, 1 → mse 0.5; mean‖x‖² = 2.5, ‖mean x‖² = 0.25 + 1 = 1.25,
    /// EV = 1 − 0.5 / 1.25 = 0.6. Batch mean (0.5, 1): ‖x − x̄‖² = 0.25 + 1
    /// for both, legacy = mean(1 − 0, 1 − 1 / 1.25) = 0.6. cossim = 1.
    /// ‖x̂‖² mean = 1, ⟨x, x̂⟩ mean = (1 + 2) / 2 = 1.5 → RRB = 2/3.
    /// l2_ratio = mean(1, 0.5) = 0.75. Codes: latent 0 fires twice (−2
    /// counts), latent 2 never: l0 = 1.5, l1 = (1 + 2 + 1) / 2 = 2.
    #[test]
    fn hand_computed_numbers() {
        let mut acc = CoreNumbers::new(2, 3, 8);
        let c = codes(&[vec![(0, 1.0), (1, 2.0)], vec![(0, -1.0)]], 3);
        acc.add(&[1.0, 0.0, 0.0, 2.0], &[1.0, 0.0, 0.0, 1.0], &c);
        let s = acc.finish(0.6);
        assert_eq!(s.n_tokens, 2);
        assert!((s.mse - 0.5).abs() < 1e-12 && (s.mse_elementwise - 0.25).abs() < 1e-12);
        assert!((s.explained_variance.unwrap() - 0.6).abs() < 1e-12);
        assert!((s.explained_variance_legacy.unwrap() - 0.6).abs() < 1e-12);
        assert!((s.cossim.unwrap() - 1.0).abs() < 1e-12);
        assert!((s.relative_reconstruction_bias.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.l2_ratio - 0.75).abs() < 1e-12);
        assert_eq!((s.l0, s.l1), (1.5, 2.0));
        assert_eq!(s.feature_density, vec![1.0, 0.5, 0.0]);
        assert!((s.dead_fraction - 1.0 / 3.0).abs() < 1e-12);
        // Only latent 0 fires on more than 60% of tokens.
        assert!((s.dense_fraction - 1.0 / 3.0).abs() < 1e-12);
    }

    /// The numbers do not depend on how rows are chunked; batches do.
    #[test]
    fn chunking_does_not_change_the_numbers() {
        let x: Vec<f32> = (0..40).map(|i| ((i * 7) % 11) as f32 - 3.0).collect();
        let h: Vec<f32> = x.iter().map(|v| 0.8 * v + 0.1).collect();
        let c = codes(&vec![vec![(1, 1.0)]; 10], 2);
        let mut one = CoreNumbers::new(4, 2, 4);
        one.add(&x, &h, &c);
        let mut two = CoreNumbers::new(4, 2, 4);
        let c5 = codes(&vec![vec![(1, 1.0)]; 5], 2);
        two.add(&x[..20], &h[..20], &c5);
        two.add(&x[20..], &h[20..], &c5);
        assert_eq!(one.finish(0.1), two.finish(0.1));
    }
}
