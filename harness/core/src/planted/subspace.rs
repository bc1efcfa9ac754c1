//! The planting subspace `B: [m, d]` (orthonormal rows): where in the
//! background's space the planted directions live.
//!
//! - [`PlantingSubspace::Random`]: a uniformly random `m`-frame (Gram-Schmidt
//!   of Gaussian rows): the planted directions see the background's average
//!   variance, `m/d` of the trace.
//! - [`PlantingSubspace::HighVariance`]: the top `m` eigenvectors of the
//!   background's centred covariance. Planted features compete with the
//!   background's strongest directions: hardest to recover.
//! - [`PlantingSubspace::LowVariance`]: the bottom `m` eigenvectors: the
//!   planted features sit where the background barely varies: easiest.
//!
//! Eigenvectors come from [`crate::linalg::symmetric_eigen`] (exact cyclic
//! Jacobi, `O(d³)`: about a second at `d = 576`). Within the subspace the
//! toy's own directions are used, so the planted directions are the toy's
//! embedded by `B`.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::DenseMatrix;
use serde::{Deserialize, Serialize};

use crate::linalg::{gram_schmidt_rows, symmetric_eigen};
use crate::rng::Rng;

/// Stream tag of the random frame.
const TAG_FRAME: u64 = 0x504c_4652; // "PLFR"

/// Which subspace the planted directions are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlantingSubspace {
    Random,
    HighVariance,
    LowVariance,
}

impl PlantingSubspace {
    pub const ALL: [PlantingSubspace; 3] = [Self::Random, Self::HighVariance, Self::LowVariance];

    /// The name used in configuration and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::HighVariance => "high-variance",
            Self::LowVariance => "low-variance",
        }
    }
}

impl std::fmt::Display for PlantingSubspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A planting subspace and how much of the background varies inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubspaceBasis {
    pub choice: PlantingSubspace,
    /// `B: [m, d]`, orthonormal rows.
    pub basis: DenseMatrix,
    /// `tr(B C Bᵀ) / (m/d · tr C)`: the background's variance inside the
    /// subspace relative to a random subspace of the same dimension
    /// (≈ 1 for `random`, > 1 for `high-variance`, < 1 for `low-variance`).
    pub variance_ratio: f64,
}

/// Centred covariance `[d, d]` of the rows of `x: [n, d]`, in `f64`.
fn covariance(x: &DenseMatrix) -> Vec<f64> {
    let (n, d) = (x.rows, x.cols);
    let mut mean = vec![0.0f64; d];
    for t in 0..n {
        for (m, &v) in mean.iter_mut().zip(x.row(t)) {
            *m += v as f64;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut cov = vec![0.0f64; d * d];
    let mut c = vec![0.0f64; d];
    for t in 0..n {
        for ((ci, &v), m) in c.iter_mut().zip(x.row(t)).zip(&mean) {
            *ci = v as f64 - m;
        }
        for i in 0..d {
            let ci = c[i];
            // Upper triangle only; symmetric_eigen reads no more.
            for (o, cj) in cov[i * d + i..(i + 1) * d].iter_mut().zip(&c[i..]) {
                *o += ci * cj;
            }
        }
    }
    for v in &mut cov {
        *v /= n.max(1) as f64;
    }
    cov
}

/// `B` for `choice`, `m` rows, from the background `rows: [n, d]`
/// (`seed` drives the random frame only). Errors name the shapes: `m`
/// must lie in `1..=d`, and the background needs at least 2 rows.
pub fn planting_basis(
    rows: &DenseMatrix,
    m: usize,
    choice: PlantingSubspace,
    seed: u64,
) -> Result<SubspaceBasis> {
    let d = rows.cols;
    ensure!(
        m >= 1 && m <= d,
        "a planting subspace of dimension {m} does not fit the background's d = {d}"
    );
    ensure!(
        rows.rows >= 2,
        "the background has {} row(s): a covariance needs at least 2",
        rows.rows
    );
    let cov = covariance(rows);
    let trace: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let basis: Vec<f64> = match choice {
        PlantingSubspace::Random => {
            let mut rng = Rng::derive(seed, &[TAG_FRAME, m as u64, d as u64]);
            loop {
                let mut g: Vec<f64> = (0..m * d).map(|_| rng.normal()).collect();
                if gram_schmidt_rows(&mut g, m, d) == m {
                    break g;
                }
            }
        }
        PlantingSubspace::HighVariance | PlantingSubspace::LowVariance => {
            let (_, vectors) = symmetric_eigen(&cov, d);
            let first = if choice == PlantingSubspace::HighVariance {
                0
            } else {
                d - m
            };
            vectors[first * d..(first + m) * d].to_vec()
        }
    };
    // tr(B C Bᵀ) = Σ_k b_k C b_kᵀ (C symmetric, upper triangle stored).
    let mut inside = 0.0;
    for b in basis.chunks_exact(d) {
        for i in 0..d {
            inside += b[i] * b[i] * cov[i * d + i];
            for j in i + 1..d {
                inside += 2.0 * b[i] * b[j] * cov[i * d + j];
            }
        }
    }
    let variance_ratio = if trace > 0.0 {
        inside / (m as f64 / d as f64 * trace)
    } else {
        1.0
    };
    Ok(SubspaceBasis {
        choice,
        basis: DenseMatrix::from_vec(m, d, basis.iter().map(|&v| v as f32).collect())?,
        variance_ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planted::synthetic_background;

    fn orthonormal(b: &DenseMatrix) -> f64 {
        let mut worst = 0.0f64;
        for i in 0..b.rows {
            for j in 0..b.rows {
                let dot: f64 = b
                    .row(i)
                    .iter()
                    .zip(b.row(j))
                    .map(|(x, y)| *x as f64 * *y as f64)
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((dot - want).abs());
            }
        }
        worst
    }

    #[test]
    fn the_three_subspaces_are_orthonormal_and_ordered_by_variance() {
        let x = synthetic_background(3000, 24, 5).unwrap();
        let by = |c| planting_basis(&x, 6, c, 1).unwrap();
        let (hi, rand, lo) = (
            by(PlantingSubspace::HighVariance),
            by(PlantingSubspace::Random),
            by(PlantingSubspace::LowVariance),
        );
        for b in [&hi, &rand, &lo] {
            assert!(orthonormal(&b.basis) < 1e-5, "{:?}", b.choice);
        }
        // Power-law spectrum λ_i ∝ 1/(i+1) at d = 24: the top 6 hold about
        // 2.45/3.78 of the trace (ratio ≈ 2.6), the bottom 6 about 0.28/3.78
        // (ratio ≈ 0.30); a random frame sits near 1.
        assert!(hi.variance_ratio > 2.0, "{}", hi.variance_ratio);
        assert!(lo.variance_ratio < 0.4, "{}", lo.variance_ratio);
        assert!(
            (0.4..2.0).contains(&rand.variance_ratio),
            "{}",
            rand.variance_ratio
        );
    }

    #[test]
    fn the_random_frame_is_seeded_and_bad_shapes_are_named() {
        let x = synthetic_background(50, 8, 1).unwrap();
        let a = planting_basis(&x, 3, PlantingSubspace::Random, 7).unwrap();
        assert_eq!(
            a,
            planting_basis(&x, 3, PlantingSubspace::Random, 7).unwrap()
        );
        assert_ne!(
            a,
            planting_basis(&x, 3, PlantingSubspace::Random, 8).unwrap()
        );
        let err = planting_basis(&x, 9, PlantingSubspace::Random, 0).unwrap_err();
        assert!(err.to_string().contains("d = 8"), "{err}");
    }
}
