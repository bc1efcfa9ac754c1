//! Fused, parallel CPU kernels for the `[batch, d_sae]` tensors of a training
//! step, as candle custom ops with their own backward passes.
//!
//! Written as compositions of candle ops, each line below makes one or more
//! `[batch, d_sae]` temporaries per op in the forward pass and again in the
//! backward pass (candle's backward also zero-fills and adds a gradient
//! buffer per node), each in a single-threaded loop. Here each is one pass
//! over the data, split over the rayon pool in fixed row blocks, so results
//! do not depend on the number of threads.
//!
//! - [`relu_linear`]: `f = ReLU(x W + c)` for data `x` (no gradient), with
//!   the bias and ReLU applied in place on the GEMM's output.
//! - [`weighted_l1`]: `Σ_{r,j} f_rj w_j` for `f: [n, m]`, `w: [m]` (the
//!   decoder-norm-weighted L1 penalty); `∂/∂f_rj = w_j`, `∂/∂w_j = Σ_r f_rj`.
//! - [`fired_counts`]: per column, the number of rows with `f_rj > 0`.
//!
//! On devices other than the CPU each falls back to the plain composition.

use crate::cpu::{ROW_BLOCK, is_cpu_f32, slice, with_slice};
use crate::sparse_decode::sparse_t_matmul;
use candle_core::{CpuStorage, D, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Column sums of a row-major `[rows, cols]` slice: `f32` sums over fixed
/// blocks of [`ROW_BLOCK`] rows, then the block sums added in block order.
fn column_sums(data: &[f32], cols: usize) -> Vec<f32> {
    let partial: Vec<Vec<f32>> = data
        .par_chunks(ROW_BLOCK * cols)
        .map(|block| {
            let mut acc = vec![0.0f32; cols];
            for row in block.chunks_exact(cols) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
            acc
        })
        .collect();
    let mut out = vec![0.0f32; cols];
    for p in &partial {
        for (o, &v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

/// `ReLU(x W + c)` for data `x: [n, k]`, `W: [k, m]`, `c: [m]` (see [`relu_linear`]).
struct ReluLinear;

/// The backward of [`relu_linear`] computes `∂/∂W` from the non-zeros of the
/// masked gradient when at most one entry in this many is non-zero (TopK
/// codes: `k / d_sae`), else by GEMM.
const SPARSE_GRADIENT_FACTOR: usize = 16;

fn linear_dims(l1: &Layout, l2: &Layout, l3: &Layout) -> Result<(usize, usize, usize)> {
    let ((n, k), (k2, m)) = (l1.shape().dims2()?, l2.shape().dims2()?);
    if k != k2 || l3.dims() != [m] {
        return Err(Error::Msg(format!(
            "relu_linear: shapes {:?}, {:?} and {:?} do not fit x [n, k], W [k, m], c [m]",
            l1.dims(),
            l2.dims(),
            l3.dims()
        )));
    }
    Ok((n, k, m))
}

impl candle_core::CustomOp3 for ReluLinear {
    fn name(&self) -> &'static str {
        "rdpbench-relu-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        use candle_core::backend::BackendStorage as _;
        let (n, k, m) = linear_dims(l1, l2, l3)?;
        let c = slice(s3, l3, "relu_linear bias")?;
        // candle's GEMM into a fresh buffer, then bias + ReLU in place.
        let CpuStorage::F32(mut out) = s1.matmul(s2, (1, n, m, k), l1, l2)? else {
            return Err(Error::Msg("relu_linear: expected f32 tensors".into()));
        };
        out.par_chunks_mut(ROW_BLOCK * m).for_each(|block| {
            for row in block.chunks_exact_mut(m) {
                for (o, &c) in row.iter_mut().zip(c) {
                    *o = (*o + c).max(0.0);
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((n, m))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _w: &Tensor,
        c: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (rows, cols) = res.dims2()?;
        let grad = grad.contiguous()?;
        let mut gp = vec![0.0f32; rows * cols];
        with_slice(res, "relu_linear output", |f| {
            with_slice(&grad, "relu_linear gradient", |g| {
                gp.par_chunks_mut(ROW_BLOCK * cols)
                    .zip(f.par_chunks(ROW_BLOCK * cols))
                    .zip(g.par_chunks(ROW_BLOCK * cols))
                    .for_each(|((o, f), g)| {
                        for ((o, &f), &g) in o.iter_mut().zip(f).zip(g) {
                            *o = if f > 0.0 { g } else { 0.0 };
                        }
                    })
            })
        })??;
        let gc = column_sums(&gp, cols);
        let nnz = gp.par_iter().filter(|&&v| v != 0.0).count();
        let gw = if nnz * SPARSE_GRADIENT_FACTOR <= gp.len() {
            // TopK-style codes: ∂/∂W = xᵀ G over G's few non-zeros.
            let k = x.dim(1)?;
            let gwt = with_slice(x, "relu_linear input", |xv| {
                sparse_t_matmul(&gp, cols, xv, k)
            })?;
            Tensor::from_vec(gwt, (cols, k), res.device())?
                .t()?
                .contiguous()?
        } else {
            let gp = Tensor::from_vec(gp, (rows, cols), res.device())?;
            x.detach().t()?.matmul(&gp)?
        };
        let gc = Tensor::from_vec(gc, cols, c.device())?;
        Ok((None, Some(gw), Some(gc)))
    }
}

/// `ReLU(x W + c)`, `[n, m]`, for data `x: [n, k]` (no gradient), `W: [k, m]`, `c: [m]`.
///
/// One GEMM into a fresh buffer, then bias and ReLU in place, in parallel.
/// Backward: with `G` the upstream gradient and `f` the output,
/// `∂/∂W = xᵀ (G ⊙ 1[f > 0])` (one GEMM, or a pass over the non-zeros when at
/// most 1/16 of `G ⊙ 1[f > 0]` is non-zero, as under a TopK mask),
/// `∂/∂c = Σ_rows G ⊙ 1[f > 0]`, and
/// nothing for `x`: candle's own matmul backward always computes `∂/∂x` too
/// (a `[n, m] × [m, k]` GEMM), and the composition `matmul → add → relu`
/// allocates, zero-fills and adds a `[n, m]` gradient per node,
/// single-threaded. At `x W + c = 0` exactly the gradient is 0 (PyTorch's
/// convention; candle's ReLU passes it): a measure-zero difference.
pub fn relu_linear(x: &Tensor, w: &Tensor, c: &Tensor) -> Result<Tensor> {
    if !is_cpu_f32(&[x, w, c]) {
        return x.detach().matmul(w)?.broadcast_add(c)?.relu();
    }
    x.detach()
        .contiguous()?
        .apply_op3(&w.contiguous()?, &c.contiguous()?, ReluLinear)
}

struct WeightedL1;

impl candle_core::CustomOp2 for WeightedL1 {
    fn name(&self) -> &'static str {
        "rdpbench-weighted-l1"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (f, w) = (
            slice(s1, l1, "weighted_l1 codes")?,
            slice(s2, l2, "weighted_l1 weights")?,
        );
        let (_, cols) = l1.shape().dims2()?;
        let sums = column_sums(f, cols);
        let total: f64 = sums.iter().zip(w).map(|(&s, &w)| s as f64 * w as f64).sum();
        Ok((CpuStorage::F32(vec![total as f32]), Shape::from(())))
    }

    fn bwd(
        &self,
        f: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (rows, cols) = f.dims2()?;
        let g = grad.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let gw: Vec<f32> = with_slice(w, "weighted_l1 weights", |w| {
            w.iter().map(|&w| g * w).collect()
        })?;
        let mut gf = vec![0.0f32; rows * cols];
        gf.par_chunks_mut(ROW_BLOCK * cols).for_each(|block| {
            for row in block.chunks_exact_mut(cols) {
                row.copy_from_slice(&gw);
            }
        });
        let sums = with_slice(f, "weighted_l1 codes", |f| column_sums(f, cols))?;
        let g_weights: Vec<f32> = sums.iter().map(|&s| g * s).collect();
        Ok((
            Some(Tensor::from_vec(gf, (rows, cols), f.device())?),
            Some(Tensor::from_vec(g_weights, cols, w.device())?),
        ))
    }
}

/// `Σ_{r,j} f_rj w_j` for `f: [n, m]`, `w: [m]`, a scalar, with gradients
/// (see the module docs). Equals `f.broadcast_mul(w)?.sum_all()` up to the
/// order of the `f32` additions (column sums first, then a dot product in `f64`).
pub fn weighted_l1(f: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (_, cols) = f.dims2()?;
    if w.dims() != [cols] {
        return Err(Error::Msg(format!(
            "weighted_l1: weights of shape {:?} for codes of shape {:?}",
            w.dims(),
            f.dims()
        )));
    }
    if !is_cpu_f32(&[f, w]) {
        return f.broadcast_mul(w)?.sum_all();
    }
    f.contiguous()?.apply_op2(&w.contiguous()?, WeightedL1)
}

/// For codes `f: [n, m]`, the number of rows where `f_rj > 0`, per column `j`.
pub fn fired_counts(f: &Tensor) -> Result<Vec<u64>> {
    let (_, cols) = f.dims2()?;
    if !is_cpu_f32(&[f]) {
        let c: Vec<f32> = f
            .detach()
            .gt(0f32)?
            .to_dtype(DType::F32)?
            .sum(D::Minus2)?
            .to_vec1()?;
        return Ok(c.into_iter().map(|v| v as u64).collect());
    }
    let f = f.detach().contiguous()?;
    with_slice(&f, "fired_counts codes", |f| {
        let partial: Vec<Vec<u32>> = f
            .par_chunks(ROW_BLOCK * cols)
            .map(|block| {
                let mut acc = vec![0u32; cols];
                for row in block.chunks_exact(cols) {
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += (v > 0.0) as u32;
                    }
                }
                acc
            })
            .collect();
        let mut out = vec![0u64; cols];
        for p in &partial {
            for (o, &v) in out.iter_mut().zip(p) {
                *o += v as u64;
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use candle_core::Device;
    use candle_core::Var;

    fn randn(n: usize, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64::new(seed, 9);
        (0..n).map(|_| g.normal() as f32).collect()
    }

    fn close(a: &[f32], b: &[f32], rtol: f32) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-6 + rtol * x.abs().max(y.abs()))
    }

    /// Forward and backward of `relu_linear` against the composition
    /// `matmul → broadcast_add → relu`, on a shape with a partial row block.
    /// Forward values are bit-identical (same GEMM, same `f32` adds).
    #[test]
    fn relu_linear_equals_reference_composition() -> Result<()> {
        let dev = Device::Cpu;
        let (n, k, m) = (ROW_BLOCK + 5, 4, 7);
        let x = Tensor::from_vec(randn(n * k, 1), (n, k), &dev)?;
        let (wv, cv) = (randn(k * m, 2), randn(m, 3));
        let g = Tensor::from_vec(randn(n * m, 4), (n, m), &dev)?;
        let run = |fused: bool| -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
            let w = Var::from_vec(wv.clone(), (k, m), &dev)?;
            let c = Var::from_vec(cv.clone(), m, &dev)?;
            let f = if fused {
                relu_linear(&x, w.as_tensor(), c.as_tensor())?
            } else {
                x.matmul(w.as_tensor())?
                    .broadcast_add(c.as_tensor())?
                    .relu()?
            };
            let grads = (&f * &g)?.sum_all()?.backward()?;
            Ok((
                f.flatten_all()?.to_vec1()?,
                grads.get(w.as_tensor()).unwrap().flatten_all()?.to_vec1()?,
                grads.get(c.as_tensor()).unwrap().to_vec1()?,
            ))
        };
        let (f1, gw1, gc1) = run(true)?;
        let (f0, gw0, gc0) = run(false)?;
        assert!(f1.iter().zip(&f0).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(f1.contains(&0.0) && f1.iter().any(|&v| v > 0.0));
        assert!(close(&gw1, &gw0, 1e-5), "{gw1:?} vs {gw0:?}");
        assert!(close(&gc1, &gc0, 1e-5), "{gc1:?} vs {gc0:?}");
        Ok(())
    }

    /// The backward's sparse path (at most 1/16 of the masked gradient
    /// non-zero, as under a TopK mask) against the composition.
    #[test]
    fn relu_linear_sparse_gradient_path_equals_reference_composition() -> Result<()> {
        let dev = Device::Cpu;
        let (n, k, m) = (ROW_BLOCK + 5, 6, 64);
        let x = Tensor::from_vec(randn(n * k, 11), (n, k), &dev)?;
        let (wv, cv) = (randn(k * m, 12), randn(m, 13));
        // Two upstream gradient entries per row (≤ 1/16 of m = 64).
        let gv: Vec<f32> = randn(n * m, 14)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if (i % m) % 32 == (i / m) % 32 { v } else { 0.0 })
            .collect();
        assert!(gv.iter().filter(|v| **v != 0.0).count() * SPARSE_GRADIENT_FACTOR <= n * m);
        let g = Tensor::from_vec(gv, (n, m), &dev)?;
        let run = |fused: bool| -> Result<(Vec<f32>, Vec<f32>)> {
            let w = Var::from_vec(wv.clone(), (k, m), &dev)?;
            let c = Var::from_vec(cv.clone(), m, &dev)?;
            let f = if fused {
                relu_linear(&x, w.as_tensor(), c.as_tensor())?
            } else {
                x.matmul(w.as_tensor())?
                    .broadcast_add(c.as_tensor())?
                    .relu()?
            };
            let grads = (&f * &g)?.sum_all()?.backward()?;
            Ok((
                grads.get(w.as_tensor()).unwrap().flatten_all()?.to_vec1()?,
                grads.get(c.as_tensor()).unwrap().to_vec1()?,
            ))
        };
        let (gw1, gc1) = run(true)?;
        let (gw0, gc0) = run(false)?;
        assert!(gw0.iter().any(|v| *v != 0.0));
        assert!(close(&gw1, &gw0, 1e-5), "{gw1:?} vs {gw0:?}");
        assert!(close(&gc1, &gc0, 1e-5), "{gc1:?} vs {gc0:?}");
        Ok(())
    }

    #[test]
    fn weighted_l1_equals_reference_composition() -> Result<()> {
        let dev = Device::Cpu;
        let (n, m) = (2 * ROW_BLOCK + 3, 9);
        let fv: Vec<f32> = randn(n * m, 4).into_iter().map(|v| v.max(0.0)).collect();
        let wv: Vec<f32> = randn(m, 5).into_iter().map(f32::abs).collect();
        let run = |fused: bool| -> Result<(f32, Vec<f32>, Vec<f32>)> {
            let f = Var::from_vec(fv.clone(), (n, m), &dev)?;
            let w = Var::from_vec(wv.clone(), m, &dev)?;
            let l = if fused {
                weighted_l1(f.as_tensor(), w.as_tensor())?
            } else {
                f.as_tensor().broadcast_mul(w.as_tensor())?.sum_all()?
            };
            let grads = (&l * 0.5)?.backward()?;
            Ok((
                l.to_scalar()?,
                grads.get(f.as_tensor()).unwrap().flatten_all()?.to_vec1()?,
                grads.get(w.as_tensor()).unwrap().to_vec1()?,
            ))
        };
        let (l1, gf1, gw1) = run(true)?;
        let (l0, gf0, gw0) = run(false)?;
        assert!(close(&[l1], &[l0], 1e-5), "{l1} vs {l0}");
        // ∂/∂f = 0.5 w exactly, both ways.
        assert!(
            gf1.iter()
                .zip(&gf0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert!(close(&gw1, &gw0, 1e-5), "{gw1:?} vs {gw0:?}");
        // Hand-computed on a 2x2 case: f = [[1, 0], [2, 3]], w = [0.5, 2]: 0.5·3 + 2·3 = 7.5.
        let f = Tensor::new(&[[1.0f32, 0.0], [2.0, 3.0]], &dev)?;
        let w = Tensor::new(&[0.5f32, 2.0], &dev)?;
        assert_eq!(weighted_l1(&f, &w)?.to_scalar::<f32>()?, 7.5);
        Ok(())
    }

    #[test]
    fn fired_counts_counts_positive_entries_per_column() -> Result<()> {
        let dev = Device::Cpu;
        let (n, m) = (ROW_BLOCK * 2 + 1, 3);
        // Column 0 always fires, column 1 on even rows, column 2 never (0 or negative).
        let v: Vec<f32> = (0..n)
            .flat_map(|r| [1.0, if r % 2 == 0 { 0.5 } else { 0.0 }, -1.0])
            .collect();
        let f = Tensor::from_vec(v, (n, m), &dev)?;
        assert_eq!(fired_counts(&f)?, vec![n as u64, n.div_ceil(2) as u64, 0]);
        Ok(())
    }
}
