//! `f64` accumulation of `f32` rows, vectorized with runtime CPU dispatch.
//!
//! The loops are plain Rust compiled once per instruction set (AVX2+FMA via
//! `pulp`'s x86-v3 level, and scalar) and picked at run time. Rust does not
//! contract `a + c·x` into a fused multiply-add, so every path rounds the
//! same way: the result has the same bits on every CPU.

use pulp::{Arch, Simd, WithSimd};

/// `acc[k] += Σ_i c_i · rows[r_i][k]` for the `(r_i, c_i)` in `terms`, in
/// the order given, with `rows` a row-major `f32` matrix of `acc.len()`
/// columns. Each product is formed in `f64`.
pub fn accumulate_rows(acc: &mut [f64], rows: &[f32], terms: &[(u32, f64)]) {
    Arch::new().dispatch(AccumulateRows { acc, rows, terms });
}

struct AccumulateRows<'a> {
    acc: &'a mut [f64],
    rows: &'a [f32],
    terms: &'a [(u32, f64)],
}

impl WithSimd for AccumulateRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let d = self.acc.len();
        for &(r, c) in self.terms {
            let x = &self.rows[r as usize * d..(r as usize + 1) * d];
            for (a, &v) in self.acc.iter_mut().zip(x) {
                *a += c * v as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_scalar_loop_bit_for_bit() {
        let d = 37;
        let rows: Vec<f32> = (0..5 * d)
            .map(|i| ((i * 13) % 29) as f32 * 0.37 - 4.0)
            .collect();
        let terms = [(3u32, 0.5), (0, -1.25), (3, 1e-3), (4, 2.0)];
        let mut acc = vec![0.1f64; d];
        accumulate_rows(&mut acc, &rows, &terms);
        let mut want = vec![0.1f64; d];
        for &(r, c) in &terms {
            for k in 0..d {
                want[k] += c * rows[r as usize * d + k] as f64;
            }
        }
        for k in 0..d {
            assert_eq!(acc[k].to_bits(), want[k].to_bits(), "k = {k}");
        }
    }
}
