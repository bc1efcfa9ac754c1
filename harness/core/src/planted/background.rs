//! Backgrounds: the real activations planted features are added to, and a
//! synthetic stand-in for tests and CI (no download).
//!
//! The synthetic background imitates what makes language-model residual
//! streams hard for toy-trained intuitions: anisotropy (a power-law
//! covariance spectrum in a random orientation), heavy tails (a Student-t
//! scale mixture) and a large shared offset (a few "massive" directions):
//!
//! `x_t = μ + √(ν / χ²_ν) · R diag(√λ) g_t`, `g_t ~ N(0, I_d)`,
//! `λ_i = (i + 1)^{-α}` (`α = 1`), `R` Haar-orthogonal, `ν = 3`, and
//! `μ = 2 · √(Σλ) · r` along one random unit `r`.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::DenseMatrix;
use serde::{Deserialize, Serialize};

use crate::linalg::{haar_orthogonal, norm_f32, random_unit_vector};
use crate::rng::Rng;

/// Stream tags of the synthetic background.
const TAG_ORIENTATION: u64 = 0x4247_524f; // "BGRO"
const TAG_ROWS: u64 = 0x4247_5257; // "BGRW"

/// Degrees of freedom of the Student-t scale mixture (finite variance, heavy tails).
const STUDENT_NU: usize = 3;
/// Power-law exponent of the covariance spectrum.
const SPECTRUM_EXPONENT: f64 = 1.0;
/// Offset norm in units of the fluctuation's RMS norm `√(Σλ)`.
const OFFSET_SCALE: f64 = 2.0;

/// `[n, d]` synthetic heavy-tailed, anisotropic rows (module docs); row `t`
/// depends only on `(seed, t)`, so a longer draw extends a shorter one.
pub fn synthetic_background(n: usize, d: usize, seed: u64) -> Result<DenseMatrix> {
    ensure!(d > 0, "a synthetic background needs d > 0");
    let mut rng = Rng::derive(seed, &[TAG_ORIENTATION]);
    let rotation = haar_orthogonal(d, &mut rng);
    let lambda: Vec<f64> = (0..d)
        .map(|i| ((i + 1) as f64).powf(-SPECTRUM_EXPONENT))
        .collect();
    let rms = lambda.iter().sum::<f64>().sqrt();
    let offset: Vec<f64> = random_unit_vector(d, &mut rng)
        .into_iter()
        .map(|r| OFFSET_SCALE * rms * r)
        .collect();
    let sd: Vec<f64> = lambda.iter().map(|l| l.sqrt()).collect();
    let mut data = Vec::with_capacity(n * d);
    let mut g = vec![0.0f64; d];
    for t in 0..n {
        let mut r = Rng::derive(seed, &[TAG_ROWS, t as u64]);
        let chi2: f64 = (0..STUDENT_NU).map(|_| r.normal().powi(2)).sum();
        let mix = (STUDENT_NU as f64 / chi2.max(1e-300)).sqrt();
        for (gi, s) in g.iter_mut().zip(&sd) {
            *gi = r.normal() * s;
        }
        for (row, mu) in rotation.chunks_exact(d).zip(&offset) {
            // Entry i of R diag(√λ) g: row i of R against the scaled normals.
            let v: f64 = row.iter().zip(&g).map(|(a, b)| a * b).sum();
            data.push((mu + mix * v) as f32);
        }
    }
    DenseMatrix::from_vec(n, d, data)
}

/// What the planting magnitude is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackgroundStats {
    /// Rows.
    pub n_rows: usize,
    /// `d`.
    pub d: usize,
    /// `mean_t ‖x_t‖`.
    pub mean_norm: f64,
    /// `median_t ‖x_t‖`.
    pub median_norm: f64,
    /// `max_t ‖x_t‖ / median_t ‖x_t‖` (how heavy the tail is).
    pub max_over_median: f64,
}

impl BackgroundStats {
    /// The statistics of `rows` (refuses an empty or all-zero background).
    pub fn of(rows: &DenseMatrix) -> Result<Self> {
        ensure!(
            rows.rows > 0 && rows.cols > 0,
            "the background is [{}, {}]: it needs rows and columns",
            rows.rows,
            rows.cols
        );
        let mut norms: Vec<f64> = (0..rows.rows).map(|t| norm_f32(rows.row(t))).collect();
        ensure!(
            norms.iter().all(|n| n.is_finite()),
            "the background has a non-finite value"
        );
        let mean_norm = norms.iter().sum::<f64>() / norms.len() as f64;
        ensure!(mean_norm > 0.0, "the background rows are all zero");
        norms.sort_by(f64::total_cmp);
        let median_norm = norms[norms.len() / 2];
        Ok(Self {
            n_rows: rows.rows,
            d: rows.cols,
            mean_norm,
            median_norm,
            max_over_median: norms[norms.len() - 1] / median_norm.max(f64::MIN_POSITIVE),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_a_pure_function_of_seed_and_index() {
        let a = synthetic_background(20, 8, 3).unwrap();
        let b = synthetic_background(30, 8, 3).unwrap();
        assert_eq!(
            a.data[..],
            b.data[..20 * 8],
            "a longer draw extends a shorter one"
        );
        assert_ne!(a, synthetic_background(20, 8, 4).unwrap());
    }

    #[test]
    fn the_background_is_heavy_tailed_and_anisotropic() {
        let (n, d) = (4000, 16);
        let x = synthetic_background(n, d, 1).unwrap();
        let stats = BackgroundStats::of(&x).unwrap();
        // Gaussian rows of this spectrum would keep max/median norm near 1.3;
        // the t(3) mixture stretches the tail well beyond.
        assert!(stats.max_over_median > 2.5, "{stats:?}");
        // Anisotropy: the centred covariance's largest eigenvalue is about
        // λ_0 / Σλ ≈ 0.3 of the trace (power law, d = 16), not 1/16.
        let mean: Vec<f64> = (0..d)
            .map(|j| (0..n).map(|t| x.row(t)[j] as f64).sum::<f64>() / n as f64)
            .collect();
        let mut cov = vec![0.0; d * d];
        for t in 0..n {
            let r = x.row(t);
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] += (r[i] as f64 - mean[i]) * (r[j] as f64 - mean[j]);
                }
            }
        }
        let (values, _) = crate::linalg::symmetric_eigen(&cov, d);
        let trace: f64 = values.iter().sum();
        assert!(values[0] / trace > 0.2, "top share {}", values[0] / trace);
        assert!(values[d - 1] / trace < 0.05);
    }

    #[test]
    fn empty_or_zero_backgrounds_are_refused() {
        let err = BackgroundStats::of(&DenseMatrix::zeros(0, 4)).unwrap_err();
        assert!(err.to_string().contains("[0, 4]"), "{err}");
        let err = BackgroundStats::of(&DenseMatrix::zeros(3, 4)).unwrap_err();
        assert!(err.to_string().contains("all zero"), "{err}");
    }
}
