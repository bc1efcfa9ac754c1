//! `f W_dec` for sparse codes `f` (TopK-style masks), as a candle custom op
//! whose forward and backward touch only the non-zero codes.
//!
//! With `k` non-zeros per row of `f: [n, m]` and `W: [m, d]`, the dense
//! product and its two backward GEMMs cost `3·2·n·m·d` flops; here each is
//! `2·n·k·d`: for TopK at `k = 32`, `m = 2304` that is 72x fewer.
//!
//! **The gradient with respect to `f` is returned on `f`'s support only**
//! (zero where `f_rj = 0`). That is the exact gradient of the whole step
//! whenever every zero of `f` has a zero derivative upstream: a constant
//! mask (`z ⊙ mask`: TopK, BatchTopK, AuxK) or a ReLU. It is *not* exact
//! for a JumpReLU, whose threshold's straight-through estimator reads the
//! gradient at zero codes just below the threshold: use
//! [`crate::decode`] there. Codes denser than 1/24 take the plain
//! GEMM (exact gradient, and faster from about 1/16 on), so the op is safe
//! for a ReLU SAE early in training.

use crate::cpu::{ROW_BLOCK, is_cpu_f32, slice, with_slice};
use candle_core::{CpuStorage, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// `o += a · x`.
fn axpy(o: &mut [f32], a: f32, x: &[f32]) {
    for (o, &x) in o.iter_mut().zip(x) {
        *o += a * x;
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The non-zeros of a row-major `[n, m]` slice by column: for column `j`,
/// `(row, value)` in ascending row order at `starts[j]..starts[j + 1]`.
fn by_column(f: &[f32], m: usize) -> (Vec<usize>, Vec<(u32, f32)>) {
    let mut starts = vec![0usize; m + 1];
    for row in f.chunks_exact(m) {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                starts[j + 1] += 1;
            }
        }
    }
    for j in 0..m {
        starts[j + 1] += starts[j];
    }
    let mut next = starts.clone();
    let mut entries = vec![(0u32, 0.0f32); starts[m]];
    for (r, row) in f.chunks_exact(m).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                entries[next[j]] = (r as u32, v);
                next[j] += 1;
            }
        }
    }
    (starts, entries)
}

/// `Σ_r a_rj x_r` for every column `j` of the row-major `a: [n, m]` and the
/// rows `x_r` of `x: [n, d]`: `aᵀ x`, `[m, d]`, visiting only non-zeros,
/// each output row summed in ascending `r` (deterministic, thread-free order).
pub(crate) fn sparse_t_matmul(a: &[f32], m: usize, x: &[f32], d: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * d];
    if m == 0 || d == 0 {
        return out;
    }
    let (starts, entries) = by_column(a, m);
    out.par_chunks_mut(d).enumerate().for_each(|(j, o)| {
        for &(r, v) in &entries[starts[j]..starts[j + 1]] {
            let r = r as usize;
            axpy(o, v, &x[r * d..(r + 1) * d]);
        }
    });
    out
}

struct SparseDecode;

impl candle_core::CustomOp2 for SparseDecode {
    fn name(&self) -> &'static str {
        "rdpbench-sparse-decode"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let ((n, m), (m2, d)) = (l1.shape().dims2()?, l2.shape().dims2()?);
        if m != m2 {
            return Err(Error::Msg(format!(
                "sparse_decode: codes {:?} and decoder {:?} do not fit [n, m] x [m, d]",
                l1.dims(),
                l2.dims()
            )));
        }
        let f = slice(s1, l1, "sparse_decode codes")?;
        let w = slice(s2, l2, "sparse_decode decoder")?;
        let mut out = vec![0.0f32; n * d];
        if d > 0 && m > 0 {
            out.par_chunks_mut(ROW_BLOCK * d)
                .zip(f.par_chunks(ROW_BLOCK * m))
                .for_each(|(o, f)| {
                    for (o, f) in o.chunks_exact_mut(d).zip(f.chunks_exact(m)) {
                        for (j, &v) in f.iter().enumerate() {
                            if v != 0.0 {
                                axpy(o, v, &w[j * d..(j + 1) * d]);
                            }
                        }
                    }
                });
        }
        Ok((CpuStorage::F32(out), Shape::from((n, d))))
    }

    fn bwd(
        &self,
        f: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let ((n, m), (_, d)) = (f.dims2()?, w.dims2()?);
        let grad = grad.contiguous()?;
        let (gf, gw) = with_slice(f, "sparse_decode codes", |fv| {
            with_slice(w, "sparse_decode decoder", |wv| {
                with_slice(&grad, "sparse_decode gradient", |g| {
                    let mut gf = vec![0.0f32; n * m];
                    if d > 0 && m > 0 {
                        gf.par_chunks_mut(ROW_BLOCK * m)
                            .zip(fv.par_chunks(ROW_BLOCK * m))
                            .zip(g.par_chunks(ROW_BLOCK * d))
                            .for_each(|((o, f), g)| {
                                for ((o, f), g) in o
                                    .chunks_exact_mut(m)
                                    .zip(f.chunks_exact(m))
                                    .zip(g.chunks_exact(d))
                                {
                                    for (j, &v) in f.iter().enumerate() {
                                        if v != 0.0 {
                                            o[j] = dot(g, &wv[j * d..(j + 1) * d]);
                                        }
                                    }
                                }
                            });
                    }
                    (gf, sparse_t_matmul(fv, m, g, d))
                })
            })
        })???;
        Ok((
            Some(Tensor::from_vec(gf, (n, m), f.device())?),
            Some(Tensor::from_vec(gw, (m, d), w.device())?),
        ))
    }
}

/// Codes denser than one non-zero in this many go through the plain GEMM
/// (early in a ReLU SAE's training about half the codes are non-zero). Set
/// by `cargo bench -p rdpbench-sae-topk --bench train_step -- decode`
/// (forward + backward, batch 1024, 2304 -> 576, 2 cores, medians): sparse
/// vs GEMM 27.7 vs 90.5 ms at 1/288 non-zero (k = 8), 36.4 vs 87.9 at 1/72
/// (k = 32), 60.7 vs 80.8 at 1/32 (k = 72), 88.8 vs 88.4 at 1/16 (k = 144,
/// the crossover), 155.2 vs 85.6 at 1/8 (k = 288, AuxK's k_aux = d_in / 2).
pub const MAX_SPARSE_FRACTION_INVERSE: usize = 24;

/// `f W`, `[n, d]`, for sparse codes `f: [n, m]` and a decoder `W: [m, d]`,
/// visiting only the non-zero codes (see the module docs for the gradient
/// with respect to `f`, which is restricted to `f`'s support). The plain
/// `matmul` off the CPU, for other dtypes, and when more than 1/24 of `f` is
/// non-zero ([`MAX_SPARSE_FRACTION_INVERSE`]).
pub fn sparse_decode(f: &Tensor, w: &Tensor) -> Result<Tensor> {
    if !is_cpu_f32(&[f, w]) {
        return f.matmul(w);
    }
    let f = f.contiguous()?;
    let nnz = with_slice(&f, "sparse_decode codes", |v| {
        v.par_iter().filter(|&&x| x != 0.0).count()
    })?;
    if nnz * MAX_SPARSE_FRACTION_INVERSE > f.elem_count() {
        return f.matmul(w);
    }
    f.apply_op2(&w.contiguous()?, SparseDecode)
}

/// [`sparse_decode`] on the CPU whatever the density (for benchmarks that
/// set the density threshold).
pub fn sparse_decode_always(f: &Tensor, w: &Tensor) -> Result<Tensor> {
    f.contiguous()?.apply_op2(&w.contiguous()?, SparseDecode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use candle_core::{Device, Var};

    /// `[n, m]` codes with about one entry in `every` non-zero.
    fn sparse_codes(n: usize, m: usize, every: u64, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64::new(seed, 3);
        (0..n * m)
            .map(|_| {
                let keep = g.next_u64().is_multiple_of(every);
                let v = g.normal() as f32;
                if keep { v.abs() + 0.1 } else { 0.0 }
            })
            .collect()
    }

    fn randn(n: usize, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64::new(seed, 9);
        (0..n).map(|_| g.normal() as f32).collect()
    }

    fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / (1.0 + x.abs().max(y.abs())))
            .fold(0.0, f32::max)
    }

    /// Forward, ∂/∂W and ∂/∂z of `(z ⊙ mask) W` with `sparse_decode` equal
    /// those of the dense `matmul` (up to f32 summation order), on a shape
    /// with a partial row block; ∂/∂f is zero off the support.
    #[test]
    fn equals_dense_matmul_under_a_mask() -> Result<()> {
        let dev = Device::Cpu;
        let (n, m, d) = (ROW_BLOCK + 7, 96, 9);
        let codes = sparse_codes(n, m, 40, 1);
        let nnz = codes.iter().filter(|v| **v != 0.0).count();
        assert!(
            nnz > 0 && nnz * MAX_SPARSE_FRACTION_INVERSE <= n * m,
            "sparse path"
        );
        let mask: Vec<f32> = codes.iter().map(|&v| f32::from(v != 0.0)).collect();
        let mask = Tensor::from_vec(mask, (n, m), &dev)?;
        let zv: Vec<f32> = codes
            .iter()
            .zip(randn(n * m, 5))
            .map(|(&c, r)| if c != 0.0 { c } else { r })
            .collect();
        let g = Tensor::from_vec(randn(n * d, 4), (n, d), &dev)?;
        let wv = randn(m * d, 2);
        let run = |sparse: bool| -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
            let z = Var::from_vec(zv.clone(), (n, m), &dev)?;
            let w = Var::from_vec(wv.clone(), (m, d), &dev)?;
            let f = (z.as_tensor() * &mask)?;
            let out = if sparse {
                sparse_decode(&f, w.as_tensor())?
            } else {
                f.matmul(w.as_tensor())?
            };
            let grads = (&out * &g)?.sum_all()?.backward()?;
            Ok((
                out.flatten_all()?.to_vec1()?,
                grads.get(w.as_tensor()).unwrap().flatten_all()?.to_vec1()?,
                grads.get(z.as_tensor()).unwrap().flatten_all()?.to_vec1()?,
            ))
        };
        let (dense, sparse) = (run(false)?, run(true)?);
        assert!(max_rel_diff(&dense.0, &sparse.0) < 1e-5, "forward");
        assert!(max_rel_diff(&dense.1, &sparse.1) < 1e-5, "dW");
        assert!(max_rel_diff(&dense.2, &sparse.2) < 1e-5, "dz");
        Ok(())
    }

    #[test]
    fn gradient_with_respect_to_codes_lives_on_the_support() -> Result<()> {
        let dev = Device::Cpu;
        let (n, m, d) = (6, 64, 3);
        let codes = sparse_codes(n, m, 40, 7);
        let nnz = codes.iter().filter(|v| **v != 0.0).count();
        assert!(
            nnz > 0 && nnz * MAX_SPARSE_FRACTION_INVERSE <= n * m,
            "sparse path"
        );
        let f = Var::from_vec(codes.clone(), (n, m), &dev)?;
        let w = Tensor::from_vec(randn(m * d, 8), (m, d), &dev)?;
        let grads = sparse_decode(f.as_tensor(), &w)?.sum_all()?.backward()?;
        let gf: Vec<f32> = grads.get(f.as_tensor()).unwrap().flatten_all()?.to_vec1()?;
        let wv: Vec<f32> = w.flatten_all()?.to_vec1()?;
        for (i, (&c, &g)) in codes.iter().zip(&gf).enumerate() {
            let j = i % m;
            let want: f32 = if c != 0.0 {
                wv[j * d..(j + 1) * d].iter().sum()
            } else {
                0.0
            };
            assert!((g - want).abs() <= 1e-5, "entry {i}: {g} vs {want}");
        }
        Ok(())
    }

    /// `aᵀ x` by hand on a 3 x 2 example.
    #[test]
    fn sparse_t_matmul_by_hand() {
        // a = [[1, 0], [0, 2], [3, 0]], x = [[1, 1], [2, 0], [0, 5]]
        let a = [1.0, 0.0, 0.0, 2.0, 3.0, 0.0];
        let x = [1.0, 1.0, 2.0, 0.0, 0.0, 5.0];
        // column 0: 1·[1, 1] + 3·[0, 5] = [1, 16]; column 1: 2·[2, 0] = [4, 0]
        assert_eq!(sparse_t_matmul(&a, 2, &x, 2), vec![1.0, 16.0, 4.0, 0.0]);
    }

    /// Dense codes take the GEMM: the gradient with respect to `f` is then
    /// the full `G Wᵀ`, zeros included.
    #[test]
    fn dense_codes_take_the_plain_matmul() -> Result<()> {
        let dev = Device::Cpu;
        let (n, m, d) = (4, 4, 2);
        let mut codes = vec![1.0f32; n * m];
        codes[0] = 0.0;
        let f = Var::from_vec(codes, (n, m), &dev)?;
        let w = Tensor::from_vec(randn(m * d, 8), (m, d), &dev)?;
        let grads = sparse_decode(f.as_tensor(), &w)?.sum_all()?.backward()?;
        let gf: Vec<f32> = grads.get(f.as_tensor()).unwrap().flatten_all()?.to_vec1()?;
        let wv: Vec<f32> = w.flatten_all()?.to_vec1()?;
        assert!((gf[0] - (wv[0] + wv[1])).abs() <= 1e-6, "{gf:?}");
        Ok(())
    }

    #[test]
    fn empty_shapes_do_not_panic() -> Result<()> {
        let dev = Device::Cpu;
        for (n, m, d) in [(0, 4, 3), (2, 0, 3), (2, 4, 0)] {
            let f = Var::zeros((n, m), candle_core::DType::F32, &dev)?;
            let w = Var::zeros((m, d), candle_core::DType::F32, &dev)?;
            let out = sparse_decode(f.as_tensor(), w.as_tensor())?;
            assert_eq!(out.dims(), &[n, d]);
            let grads = out.sum_all()?.backward()?;
            if let Some(g) = grads.get(w.as_tensor()) {
                assert_eq!(g.dims(), &[m, d]);
            }
        }
        Ok(())
    }
}
