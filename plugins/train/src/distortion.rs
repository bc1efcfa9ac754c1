//! The one pinned definition of reconstruction quality used everywhere in
//! rdpbench (training reports, `rdpbench train`, `rdpbench reproduce`).
//!
//! For rows `x_t ∈ R^d`, `t = 1..N`, and reconstructions `x̂_t`:
//!
//! - **MSE** (per element): `MSE = (1 / (N·d)) Σ_t ‖x_t − x̂_t‖²`. It is a mean
//!   over every element, so it does not depend on how the rows are batched:
//!   accumulating any split of the rows gives the same value.
//! - **Explained variance**:
//!   `EV = 1 − E‖x − x̂‖² / (E‖x‖² − ‖E x‖²)`, expectations over rows. The
//!   denominator is the total variance `tr Cov(x)` (the squared error of the
//!   best constant predictor `x̂ = E x`), so predicting the mean gives `EV = 0`,
//!   perfect reconstruction `EV = 1`, and worse-than-the-mean can go negative.
//!   It is *not* the per-dimension average of `1 − SSE_k / Var_k`, nor
//!   `1 − Var(x − x̂) / Var(x)` (which ignores a constant bias in `x̂`): both have
//!   been shipped by SAE libraries and disagree with this one.
//!
//! Sums are accumulated in `f64`; `EV` is `None` when the data has zero
//! variance (it is undefined there, not NaN).

/// Streaming accumulator of the sums the definitions above need.
#[derive(Debug, Clone, PartialEq)]
pub struct Distortion {
    d: usize,
    rows: u64,
    sse: f64,
    sum_sq: f64,
    sum: Vec<f64>,
    l0: f64,
}

impl Distortion {
    /// An empty accumulator for rows of dimension `d`.
    pub fn new(d: usize) -> Self {
        Self {
            d,
            rows: 0,
            sse: 0.0,
            sum_sq: 0.0,
            sum: vec![0.0; d],
            l0: 0.0,
        }
    }

    /// Adds rows `x`, `x_hat` (both row-major `[rows, d]`).
    ///
    /// # Panics
    /// If the lengths differ or are not a multiple of `d`.
    pub fn add(&mut self, x: &[f32], x_hat: &[f32]) {
        assert_eq!(x.len(), x_hat.len(), "x and x_hat differ in length");
        assert!(
            self.d > 0 && x.len().is_multiple_of(self.d),
            "rows are not of dimension d"
        );
        for (row, row_hat) in x.chunks_exact(self.d).zip(x_hat.chunks_exact(self.d)) {
            for ((s, &a), &b) in self.sum.iter_mut().zip(row).zip(row_hat) {
                let (a, b) = (a as f64, b as f64);
                self.sse += (a - b) * (a - b);
                self.sum_sq += a * a;
                *s += a;
            }
            self.rows += 1;
        }
    }

    /// Adds the number of non-zero codes of the rows just added (for [`Self::l0`]).
    pub fn add_nonzeros(&mut self, nnz: u64) {
        self.l0 += nnz as f64;
    }

    /// Rows accumulated.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Per-element mean squared error; `None` with no rows.
    pub fn mse(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.sse / (self.rows as f64 * self.d as f64))
    }

    /// Mean squared error per row, `E‖x − x̂‖²` (= `d · MSE`).
    pub fn sse_per_row(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.sse / self.rows as f64)
    }

    /// Total variance `E‖x‖² − ‖E x‖²`; `None` with no rows.
    pub fn total_variance(&self) -> Option<f64> {
        if self.rows == 0 {
            return None;
        }
        let n = self.rows as f64;
        let mean_sq: f64 = self.sum.iter().map(|s| (s / n) * (s / n)).sum();
        Some(self.sum_sq / n - mean_sq)
    }

    /// Explained variance (module docs); `None` with no rows or zero variance.
    pub fn explained_variance(&self) -> Option<f64> {
        let var = self.total_variance()?;
        if var <= f64::EPSILON * (self.sum_sq / self.rows as f64).max(f64::MIN_POSITIVE) {
            return None;
        }
        Some(1.0 - self.sse_per_row()? / var)
    }

    /// Mean number of non-zero codes per row (rate), from [`Self::add_nonzeros`].
    pub fn l0(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.l0 / self.rows as f64)
    }
}

/// Per-element MSE of `x_hat` against `x` (row-major `[rows, d]`).
pub fn mse(x: &[f32], x_hat: &[f32], d: usize) -> Option<f64> {
    let mut acc = Distortion::new(d);
    acc.add(x, x_hat);
    acc.mse()
}

/// Explained variance of `x_hat` against `x` (row-major `[rows, d]`).
pub fn explained_variance(x: &[f32], x_hat: &[f32], d: usize) -> Option<f64> {
    let mut acc = Distortion::new(d);
    acc.add(x, x_hat);
    acc.explained_variance()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random rows with a non-zero mean.
    fn rows(n: usize, d: usize) -> Vec<f32> {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        (0..n * d)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 + (i % d) as f32
            })
            .collect()
    }

    #[test]
    fn mean_predictor_has_ev_zero_and_perfect_has_ev_one() {
        let (n, d) = (500, 7);
        let x = rows(n, d);
        let mut mean = vec![0.0f64; d];
        for r in x.chunks(d) {
            for (m, &v) in mean.iter_mut().zip(r) {
                *m += v as f64 / n as f64;
            }
        }
        let x_mean: Vec<f32> = (0..n)
            .flat_map(|_| mean.iter().map(|&m| m as f32))
            .collect();
        let ev = explained_variance(&x, &x_mean, d).unwrap();
        assert!(ev.abs() < 1e-6, "mean predictor: EV {ev}");
        assert_eq!(explained_variance(&x, &x, d), Some(1.0));
        assert_eq!(mse(&x, &x, d), Some(0.0));
        // A constant bias on a perfect reconstruction costs EV (unlike 1 - Var(x - x̂)/Var(x)).
        let biased: Vec<f32> = x.iter().map(|v| v + 1.0).collect();
        assert!(explained_variance(&x, &biased, d).unwrap() < 1.0);
    }

    #[test]
    fn known_mse_and_batch_size_independence() {
        let d = 4;
        let x = [1.0f32, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0];
        let x_hat = [1.0f32, 2.0, 3.0, 2.0, 0.0, 0.0, 0.0, 1.0];
        // Squared errors: 4 and 1 over 8 elements.
        assert_eq!(mse(&x, &x_hat, d), Some(5.0 / 8.0));
        let (n, d) = (1000, 5);
        let x = rows(n, d);
        let x_hat: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v * 0.9 + (i % 3) as f32 * 0.1)
            .collect();
        let whole = mse(&x, &x_hat, d).unwrap();
        for batch in [1, 7, 64, 333, 1000] {
            let mut acc = Distortion::new(d);
            for (a, b) in x.chunks(batch * d).zip(x_hat.chunks(batch * d)) {
                acc.add(a, b);
            }
            assert!(
                (acc.mse().unwrap() - whole).abs() <= 1e-12 * whole,
                "batch {batch}"
            );
            let ev = acc.explained_variance().unwrap();
            assert!((ev - explained_variance(&x, &x_hat, d).unwrap()).abs() < 1e-12);
        }
    }

    #[test]
    fn constant_data_has_undefined_ev() {
        let x = vec![2.0f32; 30];
        assert_eq!(explained_variance(&x, &x, 3), None);
        assert_eq!(Distortion::new(3).mse(), None);
    }
}
