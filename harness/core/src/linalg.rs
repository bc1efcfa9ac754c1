//! Small dense linear-algebra helpers, all accumulating in `f64`.
//!
//! Matrices here are row-major `&[f64]` slices with explicit shapes (or
//! [`DenseMatrix`] for `f32` data crossing to plugins). Sizes in rdpbench's core
//! are small (tens to hundreds), so the algorithms are the textbook ones,
//! written for clarity and determinism rather than asymptotic speed.

use rdpbench_sdk::data::DenseMatrix;

use crate::rng::Rng;

/// `Σ_k a_k b_k` accumulated in `f64`. Panics if lengths differ.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `Σ_k a_k b_k` for `f32` inputs, accumulated in `f64`.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot_f32: length mismatch");
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Euclidean norm `sqrt(Σ a_k²)`.
#[inline]
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Euclidean norm of an `f32` vector, accumulated in `f64`.
#[inline]
pub fn norm_f32(a: &[f32]) -> f64 {
    dot_f32(a, a).sqrt()
}

/// Scales `a` to unit norm in place and returns its former norm. A zero vector
/// is left unchanged (returns 0).
pub fn normalize(a: &mut [f64]) -> f64 {
    let n = norm(a);
    if n > 0.0 {
        for x in a.iter_mut() {
            *x /= n;
        }
    }
    n
}

/// Cosine `⟨a, b⟩ / (‖a‖ ‖b‖)`; 0 when either vector is zero.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let d = norm(a) * norm(b);
    if d > 0.0 { dot(a, b) / d } else { 0.0 }
}

/// Widens an `f32` slice to `f64`.
pub fn to_f64(a: &[f32]) -> Vec<f64> {
    a.iter().map(|&x| x as f64).collect()
}

/// Row-major product `C = A B` with `A: [n, k]`, `B: [k, m]`, `C: [n, m]`.
pub fn matmul(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * k, "matmul: A is not [n, k]");
    assert_eq!(b.len(), k * m, "matmul: B is not [k, m]");
    let mut c = vec![0.0; n * m];
    for i in 0..n {
        let ci = &mut c[i * m..(i + 1) * m];
        for (l, &ail) in a[i * k..(i + 1) * k].iter().enumerate() {
            if ail != 0.0 {
                for (cij, &blj) in ci.iter_mut().zip(&b[l * m..(l + 1) * m]) {
                    *cij += ail * blj;
                }
            }
        }
    }
    c
}

/// `M Qᵀ` for an `f32` matrix `M: [r, c]` and `Q: [q_rows, c]` (row-major `f64`),
/// giving `[r, q_rows]`: row `i` of the result is `Q m_i`. Used to rotate
/// activations, decoder rows and concept directions (`x → Qx`).
pub fn mul_transpose(m: &DenseMatrix, q: &[f64], q_rows: usize) -> DenseMatrix {
    assert_eq!(
        q.len(),
        q_rows * m.cols,
        "mul_transpose: Q is not [q_rows, cols]"
    );
    let mut out = DenseMatrix::zeros(m.rows, q_rows);
    let mut row = vec![0.0f64; m.cols];
    for i in 0..m.rows {
        for (r, &x) in row.iter_mut().zip(m.row(i)) {
            *r = x as f64;
        }
        for (o, qk) in out.row_mut(i).iter_mut().zip(q.chunks_exact(m.cols)) {
            *o = dot(qk, &row) as f32;
        }
    }
    out
}

/// `Q M` for `Q: [q_rows, r]` (row-major `f64`) and an `f32` matrix `M: [r, c]`,
/// giving `[q_rows, c]`. Used to rotate an encoder `W_enc: [d_in, d_sae]`.
pub fn left_mul(q: &[f64], q_rows: usize, m: &DenseMatrix) -> DenseMatrix {
    assert_eq!(
        q.len(),
        q_rows * m.rows,
        "left_mul: Q is not [q_rows, rows]"
    );
    let mut acc = vec![0.0f64; q_rows * m.cols];
    for i in 0..q_rows {
        let ai = &mut acc[i * m.cols..(i + 1) * m.cols];
        for l in 0..m.rows {
            let qil = q[i * m.rows + l];
            for (a, &x) in ai.iter_mut().zip(m.row(l)) {
                *a += qil * x as f64;
            }
        }
    }
    DenseMatrix {
        rows: q_rows,
        cols: m.cols,
        data: acc.into_iter().map(|x| x as f32).collect(),
    }
}

/// A standard Gaussian vector of length `d`, normalised to unit norm: a
/// uniformly random point on the sphere `S^{d-1}`.
pub fn random_unit_vector(d: usize, rng: &mut Rng) -> Vec<f64> {
    loop {
        let mut v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        if normalize(&mut v) > 1e-12 {
            return v;
        }
    }
}

/// Orthonormalises the rows of `m: [rows, cols]` in place by modified
/// Gram-Schmidt with one re-orthogonalisation pass ("twice is enough").
/// Returns the number of rows that were linearly independent; a dependent row
/// (norm below `1e-12` of its original norm after projection) is set to zero.
pub fn gram_schmidt_rows(m: &mut [f64], rows: usize, cols: usize) -> usize {
    assert_eq!(m.len(), rows * cols, "gram_schmidt_rows: shape mismatch");
    let mut rank = 0;
    for i in 0..rows {
        let (done, rest) = m.split_at_mut(i * cols);
        let row = &mut rest[..cols];
        let original = norm(row);
        for _pass in 0..2 {
            for prev in done.chunks_exact(cols) {
                let c = dot(prev, row);
                for (r, &p) in row.iter_mut().zip(prev) {
                    *r -= c * p;
                }
            }
        }
        let n = norm(row);
        if original > 0.0 && n > 1e-12 * original {
            for r in row.iter_mut() {
                *r /= n;
            }
            rank += 1;
        } else {
            row.fill(0.0);
        }
    }
    rank
}

/// A Haar-distributed (uniformly random) orthogonal matrix `Q: [d, d]`.
///
/// Gram-Schmidt on the rows of an i.i.d. standard Gaussian matrix `G` computes
/// `G = L Q` with `L` lower triangular with a *positive* diagonal; that sign
/// convention is exactly the correction that makes `Q` Haar (Mezzadri 2007:
/// a QR routine with arbitrary signs on `diag(R)` is not Haar). Since `G` has
/// i.i.d. entries, orthonormalising rows or columns is equivalent.
pub fn haar_orthogonal(d: usize, rng: &mut Rng) -> Vec<f64> {
    loop {
        let mut g: Vec<f64> = (0..d * d).map(|_| rng.normal()).collect();
        if gram_schmidt_rows(&mut g, d, d) == d {
            return g;
        }
    }
}

/// Solves `A x = b` for a symmetric positive-definite `A: [n, n]` by Cholesky
/// factorisation `A = L Lᵀ`. Returns `None` if `A` is not numerically
/// positive definite (a pivot `≤ 1e-14 · max diag`).
pub fn cholesky_solve(a: &[f64], n: usize, b: &[f64]) -> Option<Vec<f64>> {
    assert_eq!(a.len(), n * n, "cholesky_solve: A is not [n, n]");
    assert_eq!(b.len(), n, "cholesky_solve: b has the wrong length");
    let scale = (0..n).map(|i| a[i * n + i].abs()).fold(0.0, f64::max);
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let pivot = a[i * n + i] - s;
                if pivot.is_nan() || pivot <= 1e-14 * scale || scale == 0.0 {
                    return None;
                }
                l[i * n + i] = pivot.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    // Forward: L y = b; backward: Lᵀ x = y.
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

/// Non-negative least squares `argmin_{β ≥ 0} ‖Aβ − y‖²` by Lawson-Hanson's
/// active-set method, stated on the normal equations: `gram = AᵀA: [n, n]`,
/// `aty = Aᵀy: [n]`. Exact for the small, well-conditioned systems used here
/// (a handful of unit concept directions). Returns `β: [n]`, with exact zeros
/// on the active (clamped) set.
pub fn nnls_gram(gram: &[f64], aty: &[f64], n: usize) -> Vec<f64> {
    assert_eq!(gram.len(), n * n, "nnls_gram: gram is not [n, n]");
    assert_eq!(aty.len(), n, "nnls_gram: aty has the wrong length");
    let scale = aty.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let tol = 1e-12 * scale;
    let mut x = vec![0.0; n];
    let mut passive = vec![false; n];
    let mut excluded = vec![false; n];
    let solve_passive = |passive: &[bool]| -> Option<Vec<f64>> {
        let idx: Vec<usize> = (0..n).filter(|&j| passive[j]).collect();
        let k = idx.len();
        let mut g = vec![0.0; k * k];
        let mut h = vec![0.0; k];
        for (a, &i) in idx.iter().enumerate() {
            h[a] = aty[i];
            for (b, &j) in idx.iter().enumerate() {
                g[a * k + b] = gram[i * n + j];
            }
        }
        let s = cholesky_solve(&g, k, &h)?;
        let mut full = vec![0.0; n];
        for (a, &i) in idx.iter().enumerate() {
            full[i] = s[a];
        }
        Some(full)
    };
    for _outer in 0..3 * n + 3 {
        // Gradient of −½‖Aβ − y‖²: w = Aᵀy − AᵀA β.
        let w: Vec<f64> = (0..n)
            .map(|i| aty[i] - (0..n).map(|j| gram[i * n + j] * x[j]).sum::<f64>())
            .collect();
        let Some(t) = (0..n)
            .filter(|&j| !passive[j] && !excluded[j] && w[j] > tol)
            .max_by(|&a, &b| w[a].total_cmp(&w[b]).then(b.cmp(&a)))
        else {
            break;
        };
        passive[t] = true;
        for _inner in 0..n + 1 {
            let Some(s) = solve_passive(&passive) else {
                // Atom t is (numerically) dependent on the passive set.
                passive[t] = false;
                excluded[t] = true;
                break;
            };
            if (0..n).filter(|&j| passive[j]).all(|j| s[j] > 0.0) {
                x = s;
                break;
            }
            let alpha = (0..n)
                .filter(|&j| passive[j] && s[j] <= 0.0)
                .map(|j| x[j] / (x[j] - s[j]))
                .fold(f64::INFINITY, f64::min);
            for j in 0..n {
                x[j] += alpha * (s[j] - x[j]);
                if passive[j] && x[j] <= tol {
                    x[j] = 0.0;
                    passive[j] = false;
                }
            }
        }
    }
    x
}

/// [`nnls_gram`] for explicit atoms: `argmin_{β ≥ 0} ‖Σ_k β_k a_k − y‖²` with
/// `atoms[k]` and `y` of equal length.
pub fn nnls(atoms: &[&[f64]], y: &[f64]) -> Vec<f64> {
    let n = atoms.len();
    let mut gram = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let g = dot(atoms[i], atoms[j]);
            gram[i * n + j] = g;
            gram[j * n + i] = g;
        }
    }
    let aty: Vec<f64> = atoms.iter().map(|a| dot(a, y)).collect();
    nnls_gram(&gram, &aty, n)
}

/// Maximum-weight assignment (Hungarian algorithm, Kuhn-Munkres with
/// potentials, `O(r² c)`) for a rectangular weight matrix `w: [rows, cols]`.
///
/// Matches `min(rows, cols)` pairs, each row and column at most once, to
/// maximise the summed weight. Returns, for each row, its column or `None`
/// (only possible when `rows > cols`). Ties are broken deterministically.
pub fn hungarian_max(w: &[f64], rows: usize, cols: usize) -> Vec<Option<usize>> {
    assert_eq!(w.len(), rows * cols, "hungarian_max: shape mismatch");
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    if rows > cols {
        // Solve the transpose, then invert the assignment.
        let mut t = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                t[j * rows + i] = w[i * cols + j];
            }
        }
        let col_to_row = hungarian_max(&t, cols, rows);
        let mut out = vec![None; rows];
        for (j, r) in col_to_row.into_iter().enumerate() {
            if let Some(i) = r {
                out[i] = Some(j);
            }
        }
        return out;
    }
    // Minimum-cost form with cost = −w, 1-indexed (row 0 / column 0 are virtual).
    let (n, m) = (rows, cols);
    let cost = |i: usize, j: usize| -w[(i - 1) * cols + (j - 1)];
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; n];
    for j in 1..=m {
        if p[j] != 0 {
            out[p[j] - 1] = Some(j - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn dot_norm_normalize_cosine() {
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, -5.0, 6.0]), 12.0);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        let mut v = vec![3.0, 4.0];
        assert_eq!(normalize(&mut v), 5.0);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0, 0.0];
        assert_eq!(normalize(&mut z), 0.0);
        assert_eq!(z, vec![0.0, 0.0]);
        assert!(close(
            cosine(&[1.0, 0.0], &[1.0, 1.0]),
            0.5f64.sqrt(),
            1e-15
        ));
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert_eq!(dot_f32(&[0.5, 2.0], &[4.0, 1.0]), 4.0);
    }

    #[test]
    fn matmul_and_rotation_helpers_match_hand_products() {
        // [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50]
        assert_eq!(
            matmul(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2),
            vec![19.0, 22.0, 43.0, 50.0]
        );
        let m = DenseMatrix::from_vec(2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let q = [0.0, 1.0, 1.0, 0.0]; // swap coordinates
        assert_eq!(mul_transpose(&m, &q, 2).data, vec![2.0, 1.0, 4.0, 3.0]);
        assert_eq!(left_mul(&q, 2, &m).data, vec![3.0, 4.0, 1.0, 2.0]);
    }

    #[test]
    fn haar_orthogonal_is_orthogonal_and_unbiased_in_sign() {
        let mut rng = Rng::new(5);
        let d = 6;
        let q = haar_orthogonal(d, &mut rng);
        let qqt = matmul(
            &q,
            &{
                let mut t = vec![0.0; d * d];
                for i in 0..d {
                    for j in 0..d {
                        t[j * d + i] = q[i * d + j];
                    }
                }
                t
            },
            d,
            d,
            d,
        );
        for i in 0..d {
            for j in 0..d {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!(
                    close(qqt[i * d + j], e, 1e-12),
                    "QQᵀ[{i},{j}] = {}",
                    qqt[i * d + j]
                );
            }
        }
        // Haar: every entry has mean 0 and second moment 1/d, and det = ±1 with
        // probability 1/2 each. Forcing a sign convention on Q itself (e.g. a
        // positive diagonal) would bias E[Q_22] and E[det].
        let (mut s1, mut s2, mut sdet) = (0.0, 0.0, 0.0);
        let reps = 4000;
        for _ in 0..reps {
            let q = haar_orthogonal(3, &mut rng);
            s1 += q[8];
            s2 += q[8] * q[8];
            sdet += q[0] * (q[4] * q[8] - q[5] * q[7]) - q[1] * (q[3] * q[8] - q[5] * q[6])
                + q[2] * (q[3] * q[7] - q[4] * q[6]);
        }
        // SD of Q_22 is 1/sqrt(3): SE of the mean ≈ 0.0091; SE of mean det ≈ 0.016.
        assert!((s1 / reps as f64).abs() < 0.04, "{}", s1 / reps as f64);
        assert!(close(s2 / reps as f64, 1.0 / 3.0, 0.03));
        assert!((sdet / reps as f64).abs() < 0.07, "{}", sdet / reps as f64);
    }

    #[test]
    fn gram_schmidt_detects_dependent_rows() {
        let mut m = vec![1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 0.0, 1.0, 0.0];
        assert_eq!(gram_schmidt_rows(&mut m, 3, 3), 2);
        let h = 0.5f64.sqrt();
        assert!(close(m[0], h, 1e-15) && close(m[1], h, 1e-15));
        assert_eq!(&m[3..6], &[0.0, 0.0, 0.0]);
        assert!(close(m[6], -h, 1e-15) && close(m[7], h, 1e-15));
    }

    #[test]
    fn cholesky_solves_a_hand_system() {
        // [4 2; 2 3] x = [2; 1]  →  x = [0.5, 0]
        let x = cholesky_solve(&[4.0, 2.0, 2.0, 3.0], 2, &[2.0, 1.0]).unwrap();
        assert!(close(x[0], 0.5, 1e-15) && close(x[1], 0.0, 1e-15), "{x:?}");
        // [4 2; 2 3] x = [6; 5]  →  x = [1, 1]
        let x = cholesky_solve(&[4.0, 2.0, 2.0, 3.0], 2, &[6.0, 5.0]).unwrap();
        assert!(close(x[0], 1.0, 1e-14) && close(x[1], 1.0, 1e-14), "{x:?}");
        assert!(cholesky_solve(&[1.0, 1.0, 1.0, 1.0], 2, &[1.0, 1.0]).is_none());
    }

    #[test]
    fn nnls_matches_hand_solutions() {
        let e1 = [1.0, 0.0];
        let e2 = [0.0, 1.0];
        // y = 2 e1 − e2: unconstrained LS is (2, −1); NNLS clamps to (2, 0).
        assert_eq!(nnls(&[&e1, &e2], &[2.0, -1.0]), vec![2.0, 0.0]);
        // Non-orthogonal atoms a1 = e1, a2 = (1,1)/√2; y = (1, 2):
        // unconstrained (−1, 2√2) → β1 clamped, β2 = ⟨y, a2⟩ = 3/√2.
        let h = 0.5f64.sqrt();
        let a2 = [h, h];
        let b = nnls(&[&e1, &a2], &[1.0, 2.0]);
        assert_eq!(b[0], 0.0);
        assert!(close(b[1], 3.0 * h, 1e-14), "{b:?}");
        // Interior solution equals least squares: y = 0.5 e1 + 2 a2.
        let y = [0.5 + 2.0 * h, 2.0 * h];
        let b = nnls(&[&e1, &a2], &y);
        assert!(close(b[0], 0.5, 1e-13) && close(b[1], 2.0, 1e-13), "{b:?}");
        // Duplicate atoms (singular Gram) must not panic or loop.
        let b = nnls(&[&e1, &e1], &[3.0, 0.0]);
        assert!(close(b[0] + b[1], 3.0, 1e-13), "{b:?}");
        assert_eq!(nnls(&[&e1], &[-1.0, 0.0]), vec![0.0]);
    }

    #[test]
    fn hungarian_finds_the_hand_optimum() {
        // Greedy picks (0,0)=10 then (1,1)=1: 11. Optimum (0,1)+(1,0) = 9 + 8 = 17.
        let w = [10.0, 9.0, 8.0, 1.0];
        assert_eq!(hungarian_max(&w, 2, 2), vec![Some(1), Some(0)]);
        // 3x3 classic: optimum 3 + 5 + 4... check by brute force.
        let w = [7.0, 5.0, 3.0, 2.0, 8.0, 1.0, 6.0, 4.0, 9.0];
        let a = hungarian_max(&w, 3, 3);
        assert_eq!(a, vec![Some(0), Some(1), Some(2)]); // 7 + 8 + 9 = 24
        // Rectangular, more columns: row 0 takes column 2, row 1 column 0.
        let w = [0.1, 0.2, 0.9, 0.8, 0.3, 0.85];
        assert_eq!(hungarian_max(&w, 2, 3), vec![Some(2), Some(0)]);
        // Rectangular, more rows: one row stays unmatched.
        let w = [0.9, 0.1, 0.8, 0.7, 0.2, 0.95];
        // Best: (0,0)=0.9 + (2,1)=0.95 = 1.85 vs (1,1)+(0,0)=1.6 ...
        assert_eq!(hungarian_max(&w, 3, 2), vec![Some(0), None, Some(1)]);
    }

    #[test]
    fn hungarian_agrees_with_brute_force_on_random_matrices() {
        let mut rng = Rng::new(11);
        for _ in 0..50 {
            let (r, c) = (4, 5);
            let w: Vec<f64> = (0..r * c).map(|_| rng.uniform_f64()).collect();
            let a = hungarian_max(&w, r, c);
            let got: f64 = a
                .iter()
                .enumerate()
                .map(|(i, j)| w[i * c + j.unwrap()])
                .sum();
            // Brute force over injective maps rows → columns.
            let mut best = f64::NEG_INFINITY;
            let mut stack = vec![(0usize, 0u32, 0.0f64)];
            while let Some((i, used, s)) = stack.pop() {
                if i == r {
                    best = best.max(s);
                    continue;
                }
                for j in 0..c {
                    if used & (1 << j) == 0 {
                        stack.push((i + 1, used | (1 << j), s + w[i * c + j]));
                    }
                }
            }
            assert!(close(got, best, 1e-12), "{got} vs {best}");
        }
    }
}

/// Eigen-decomposition of a symmetric `A: [n, n]` by the cyclic Jacobi
/// method: returns the eigenvalues in descending order and the matching
/// unit eigenvectors as the rows of `[n, n]`. Sweeps until every
/// off-diagonal entry is below `1e-14` of the Frobenius norm (at most 100
/// sweeps); `O(n³)` per sweep, exact ordering and deterministic. Only the
/// upper triangle is read.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n, "symmetric_eigen: A is not [n, n]");
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            m[i * n + j] = a[i * n + j];
            m[j * n + i] = a[i * n + j];
        }
    }
    // v holds eigenvectors as rows.
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let frob = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    let tol = 1e-14 * frob.max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let mut off = 0.0f64;
        for p in 0..n {
            for q in p + 1..n {
                off = off.max(m[p * n + q].abs());
            }
        }
        if off <= tol {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() <= tol {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let sign = if theta >= 0.0 { 1.0 } else { -1.0 };
                let t = sign / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← Jᵀ A J on rows/columns p and q.
                for k in 0..n {
                    let (akp, akq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * akp - s * akq;
                    m[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * apk - s * aqk;
                    m[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vp, vq) = (v[p * n + k], v[q * n + k]);
                    v[p * n + k] = c * vp - s * vq;
                    v[q * n + k] = s * vp + c * vq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| m[b * n + b].total_cmp(&m[a * n + a]).then(a.cmp(&b)));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let vectors = order
        .iter()
        .flat_map(|&i| v[i * n..(i + 1) * n].to_vec())
        .collect();
    (values, vectors)
}

#[cfg(test)]
mod eigen_tests {
    use super::*;

    #[test]
    fn jacobi_recovers_a_known_spectrum_and_basis() {
        let n = 6;
        let mut rng = Rng::new(9);
        let q = haar_orthogonal(n, &mut rng);
        let want = [5.0, 3.0, 2.5, 1.0, 0.5, -0.25];
        // A = Qᵀ diag(want) Q: eigenvector k is row k of Q.
        let mut a = vec![0.0; n * n];
        for (k, &l) in want.iter().enumerate() {
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] += l * q[k * n + i] * q[k * n + j];
                }
            }
        }
        let (values, vectors) = symmetric_eigen(&a, n);
        for (got, w) in values.iter().zip(want) {
            assert!((got - w).abs() < 1e-12, "{values:?}");
        }
        for k in 0..n {
            let c = dot(&vectors[k * n..(k + 1) * n], &q[k * n..(k + 1) * n]);
            assert!(
                (c.abs() - 1.0).abs() < 1e-10,
                "vector {k}: |cos| = {}",
                c.abs()
            );
        }
    }
}
