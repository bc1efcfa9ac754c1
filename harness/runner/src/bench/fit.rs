//! Scaling exponents of a metric's runtime: ordinary least squares on
//! log-log medians.
//!
//! Model: `ln t = c + α ln N + β ln d_sae`, fitted to every measured size
//! `(N, d_sae, t)` at once (`t` = criterion's median time per call). An axis
//! with fewer than two distinct values is left out of the model and its
//! exponent is `None`. `R² = 1 − SS_res / SS_tot` in log space; `None` when
//! all log-times are equal (nothing to explain) or too few points remain.

use rdpbench_schema::results::bench::{ScalingFit, SizePoint};

fn distinct(values: &[f64]) -> usize {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v.len()
}

/// Solves the square system `a x = b` by Gaussian elimination with partial
/// pivoting; `None` when it is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Fits `ln t = c + α ln N + β ln d_sae` by least squares (normal equations).
pub fn fit_scaling(points: &[SizePoint]) -> ScalingFit {
    let pts: Vec<&SizePoint> = points
        .iter()
        .filter(|p| p.time.is_finite() && p.time > 0.0 && p.n_tokens > 0.0 && p.d_sae > 0.0)
        .collect();
    let ln_n: Vec<f64> = pts.iter().map(|p| p.n_tokens.ln()).collect();
    let ln_d: Vec<f64> = pts.iter().map(|p| p.d_sae.ln()).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.time.ln()).collect();
    let use_n = distinct(&ln_n) >= 2;
    let use_d = distinct(&ln_d) >= 2;
    // Design matrix columns: intercept, then the axes that vary.
    let mut columns: Vec<&[f64]> = Vec::new();
    let ones = vec![1.0; pts.len()];
    columns.push(&ones);
    if use_n {
        columns.push(&ln_n);
    }
    if use_d {
        columns.push(&ln_d);
    }
    let empty = ScalingFit {
        n_exponent: None,
        d_sae_exponent: None,
        r_squared: None,
        n_points: pts.len(),
    };
    let p = columns.len();
    if p == 1 || pts.len() < p {
        return empty;
    }
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let gram: Vec<Vec<f64>> = columns
        .iter()
        .map(|a| columns.iter().map(|b| dot(a, b)).collect())
        .collect();
    let rhs: Vec<f64> = columns.iter().map(|a| dot(a, &y)).collect();
    let Some(beta) = solve(gram, rhs) else {
        return empty;
    };
    let predicted: Vec<f64> = (0..pts.len())
        .map(|i| columns.iter().zip(&beta).map(|(c, b)| c[i] * b).sum())
        .collect();
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(&predicted).map(|(v, f)| (v - f).powi(2)).sum();
    let mut next = 1;
    let mut take = |used: bool| {
        used.then(|| {
            next += 1;
            beta[next - 1]
        })
    };
    let n_exponent = take(use_n);
    let d_sae_exponent = take(use_d);
    ScalingFit {
        n_exponent,
        d_sae_exponent,
        r_squared: (ss_tot > 1e-300).then(|| 1.0 - ss_res / ss_tot),
        n_points: pts.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(f: impl Fn(f64, f64) -> f64, ns: &[f64], ds: &[f64]) -> Vec<SizePoint> {
        ns.iter()
            .flat_map(|&n| ds.iter().map(move |&d| (n, d)))
            .map(|(n, d)| SizePoint {
                n_tokens: n,
                d_sae: d,
                time: f(n, d),
            })
            .collect()
    }

    #[test]
    fn exact_power_law_recovers_both_exponents_with_r2_one() {
        // t = 3e-2 · N^1.5 · d^0.5: the fit must return 1.5 and 0.5 exactly
        // (up to rounding) and R² = 1.
        let pts = grid(
            |n, d| 3e-2 * n.powf(1.5) * d.powf(0.5),
            &[1000.0, 2000.0, 8000.0],
            &[16.0, 64.0, 256.0],
        );
        let f = fit_scaling(&pts);
        assert!((f.n_exponent.unwrap() - 1.5).abs() < 1e-9, "{f:?}");
        assert!((f.d_sae_exponent.unwrap() - 0.5).abs() < 1e-9, "{f:?}");
        assert!((f.r_squared.unwrap() - 1.0).abs() < 1e-12, "{f:?}");
        assert_eq!(f.n_points, 9);
    }

    #[test]
    fn quadratic_in_d_sae_and_independent_of_n() {
        // A decoder-only pairwise metric: t ∝ d_sae², flat in N.
        let pts = grid(|_, d| 7.0 * d * d, &[500.0, 4000.0], &[32.0, 64.0, 128.0]);
        let f = fit_scaling(&pts);
        assert!(f.n_exponent.unwrap().abs() < 1e-9, "{f:?}");
        assert!((f.d_sae_exponent.unwrap() - 2.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn an_axis_with_one_value_has_no_exponent() {
        let pts = grid(|n, _| n, &[100.0, 1000.0, 10000.0], &[64.0]);
        let f = fit_scaling(&pts);
        assert!((f.n_exponent.unwrap() - 1.0).abs() < 1e-9, "{f:?}");
        assert_eq!(f.d_sae_exponent, None);
        assert!((f.r_squared.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn noisy_points_give_r2_below_one_and_the_hand_computed_slope() {
        // ln t = x + e at x = ln N = 0, 1, 2, 3 with e = (+0.1, −0.1, +0.1, −0.1).
        // By hand: x̄ = 1.5, ē = 0, Σ(x−x̄)² = 5, Σ(x−x̄)e = −0.15 + 0.05 + 0.05
        // − 0.15 = −0.2, so slope = (5 − 0.2) / 5 = 0.96.
        let e = [0.1, -0.1, 0.1, -0.1];
        let pts: Vec<SizePoint> = (0..4)
            .map(|i| SizePoint {
                n_tokens: (i as f64).exp(),
                d_sae: 32.0,
                time: (i as f64 + e[i]).exp(),
            })
            .collect();
        let f = fit_scaling(&pts);
        assert!((f.n_exponent.unwrap() - 0.96).abs() < 1e-12, "{f:?}");
        let r2 = f.r_squared.unwrap();
        assert!(r2 > 0.9 && r2 < 1.0, "{r2}");
    }

    #[test]
    fn degenerate_inputs_give_no_fit() {
        assert_eq!(fit_scaling(&[]).n_exponent, None);
        let one = [SizePoint {
            n_tokens: 10.0,
            d_sae: 10.0,
            time: 1.0,
        }];
        assert_eq!(fit_scaling(&one).r_squared, None);
        // Non-positive or non-finite times are dropped, not fitted.
        let bad = grid(|_, _| f64::NAN, &[1.0, 2.0], &[1.0, 2.0]);
        assert_eq!(fit_scaling(&bad).n_points, 0);
        // Flat times: exponents 0, R² undefined.
        let flat = grid(|_, _| 5.0, &[10.0, 100.0], &[8.0, 16.0]);
        let f = fit_scaling(&flat);
        assert!(f.n_exponent.unwrap().abs() < 1e-12);
        assert_eq!(f.r_squared, None);
    }
}
