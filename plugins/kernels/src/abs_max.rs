//! Scans of `f32` rows for their largest absolute values, vectorized with
//! runtime CPU dispatch (AVX2 when present, else the baseline).
//!
//! Built for the Gram-matrix row maxima of mean max decoder cosine, where
//! the scans of a `[rows, cols]` block would otherwise cost a third of the
//! GEMM that produced it. Maxima are exact (no rounding), so the result
//! does not depend on the lane layout or the instruction set. Inputs are
//! assumed finite: a NaN entry is skipped, never returned.

use pulp::{Arch, Simd, WithSimd};

/// Lanes per step: two AVX2 registers of `f32`.
const LANES: usize = 16;

/// `max(a, b)` as one `maxps`-shaped select; `a` is dropped when NaN.
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// `max_k |xs[k]|`; `−∞` for an empty slice.
pub fn abs_max(xs: &[f32]) -> f32 {
    Arch::new().dispatch(AbsMax { xs })
}

struct AbsMax<'a> {
    xs: &'a [f32],
}

impl WithSimd for AbsMax<'_> {
    type Output = f32;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> f32 {
        let mut acc = [f32::NEG_INFINITY; LANES];
        let mut chunks = self.xs.chunks_exact(LANES);
        for c in &mut chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a = larger(x.abs(), *a);
            }
        }
        let mut best = chunks
            .remainder()
            .iter()
            .fold(f32::NEG_INFINITY, |m, &x| larger(x.abs(), m));
        for a in acc {
            best = larger(a, best);
        }
        best
    }
}

/// `max_k |xs[k]|` (`−∞` when empty), and in the same pass
/// `col_max[k] ← max(col_max[k], |xs[k]|)` for every `k`.
///
/// # Panics
/// When `col_max.len() != xs.len()`.
pub fn abs_max_and_columns(xs: &[f32], col_max: &mut [f32]) -> f32 {
    assert_eq!(
        xs.len(),
        col_max.len(),
        "abs_max_and_columns: row of {} values, {} column maxima",
        xs.len(),
        col_max.len()
    );
    Arch::new().dispatch(AbsMaxAndColumns { xs, col_max })
}

struct AbsMaxAndColumns<'a> {
    xs: &'a [f32],
    col_max: &'a mut [f32],
}

impl WithSimd for AbsMaxAndColumns<'_> {
    type Output = f32;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> f32 {
        let mut acc = [f32::NEG_INFINITY; LANES];
        let mut xs = self.xs.chunks_exact(LANES);
        let mut cs = self.col_max.chunks_exact_mut(LANES);
        for (x, c) in (&mut xs).zip(&mut cs) {
            for ((a, m), &v) in acc.iter_mut().zip(c.iter_mut()).zip(x) {
                let v = v.abs();
                *a = larger(v, *a);
                *m = larger(v, *m);
            }
        }
        let mut best = f32::NEG_INFINITY;
        for (m, &v) in cs.into_remainder().iter_mut().zip(xs.remainder()) {
            let v = v.abs();
            best = larger(v, best);
            *m = larger(v, *m);
        }
        for a in acc {
            best = larger(a, best);
        }
        best
    }
}

/// Appends to `out`, in increasing order, every `k` with
/// `|xs[k]| ≥ row_min` or `|xs[k]| ≥ col_min[k]`. Cheap when hits are
/// rare: each step of [`LANES`] values is tested at once and only a step
/// with a hit is looked at value by value.
///
/// # Panics
/// When `col_min.len() != xs.len()`.
pub fn indices_at_or_above(xs: &[f32], row_min: f32, col_min: &[f32], out: &mut Vec<u32>) {
    assert_eq!(
        xs.len(),
        col_min.len(),
        "indices_at_or_above: row of {} values, {} column thresholds",
        xs.len(),
        col_min.len()
    );
    Arch::new().dispatch(IndicesAtOrAbove {
        xs,
        row_min,
        col_min,
        out,
    });
}

struct IndicesAtOrAbove<'a> {
    xs: &'a [f32],
    row_min: f32,
    col_min: &'a [f32],
    out: &'a mut Vec<u32>,
}

impl WithSimd for IndicesAtOrAbove<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let Self {
            xs,
            row_min,
            col_min,
            out,
        } = self;
        let hit = |x: f32, t: f32| {
            let a = x.abs();
            a >= row_min || a >= t
        };
        let whole = xs.len() - xs.len() % LANES;
        for start in (0..whole).step_by(LANES) {
            let x = &xs[start..start + LANES];
            let t = &col_min[start..start + LANES];
            // Branch-free test of the whole step (vectorizes); `|` not `||`.
            let mut any = false;
            for (&v, &c) in x.iter().zip(t) {
                let a = v.abs();
                any |= (a >= row_min) | (a >= c);
            }
            if any {
                for (l, (&v, &c)) in x.iter().zip(t).enumerate() {
                    if hit(v, c) {
                        out.push((start + l) as u32);
                    }
                }
            }
        }
        for k in whole..xs.len() {
            if hit(xs[k], col_min[k]) {
                out.push(k as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 53 values (three full steps and a remainder of 5) with known extremes.
    fn values() -> Vec<f32> {
        (0..53)
            .map(|i| ((i * 37) % 53) as f32 * 0.01 - 0.26)
            .collect()
    }

    #[test]
    fn abs_max_matches_a_scalar_scan() {
        let xs = values();
        // (i·37) mod 53 takes every value 0..52 once: the extremes are
        // 0·0.01 − 0.26 = −0.26 and 52·0.01 − 0.26 = 0.26.
        assert_eq!(abs_max(&xs), 0.52f32 - 0.26);
        let mut neg = xs.clone();
        neg[50] = -3.0; // in the remainder
        assert_eq!(abs_max(&neg), 3.0);
        neg[3] = -4.5; // in a full step
        assert_eq!(abs_max(&neg), 4.5);
        assert_eq!(abs_max(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn fused_column_update_equals_two_separate_scans() {
        let xs = values();
        let mut col: Vec<f32> = (0..53).map(|i| (i % 7) as f32 * 0.05).collect();
        let want: Vec<f32> = col.iter().zip(&xs).map(|(&c, &x)| c.max(x.abs())).collect();
        let best = abs_max_and_columns(&xs, &mut col);
        assert_eq!(best, abs_max(&xs));
        assert_eq!(col, want);
    }

    #[test]
    fn indices_are_the_scalar_filter_in_order() {
        let xs = values();
        let col: Vec<f32> = (0..53)
            .map(|i| if i % 11 == 0 { 0.0 } else { 1.0 })
            .collect();
        let mut got = Vec::new();
        indices_at_or_above(&xs, 0.24, &col, &mut got);
        let want: Vec<u32> = (0..53u32)
            .filter(|&k| {
                let a = xs[k as usize].abs();
                a >= 0.24 || a >= col[k as usize]
            })
            .collect();
        assert_eq!(got, want);
        // |x| ≥ 0.245: ±0.25 and ±0.26, at k = 43, 20, 0, 10 (37·k mod 53
        // = 1, 51, 0, 52); zero column thresholds at k = 0, 11, 22, 33, 44.
        let mut sharp = Vec::new();
        indices_at_or_above(&xs, 0.245, &col, &mut sharp);
        assert_eq!(sharp, vec![0, 10, 11, 20, 22, 33, 43, 44]);
        let mut none = Vec::new();
        indices_at_or_above(&xs, 1.0, &[1.0; 53], &mut none);
        assert!(none.is_empty());
    }
}
