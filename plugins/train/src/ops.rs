//! Shared SAE math in candle: sparsifying masks and the JumpReLU
//! straight-through estimator. Masks are computed on the host side of the
//! device (they are selections, not differentiable) and enter the graph as
//! constants, so gradients flow only through the selected entries.

use candle_core::{D, DType, Result, Tensor};
use rayon::prelude::*;

/// Row-wise top-`k` mask of `v: [b, n]`: 1.0 on the `k` largest entries of
/// each row (ties to the lower index), 0.0 elsewhere. No gradient.
pub fn topk_mask(v: &Tensor, k: usize) -> Result<Tensor> {
    let (b, n) = v.dims2()?;
    let k = k.min(n);
    let data = v
        .detach()
        .flatten_all()?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?;
    let mut mask = vec![0.0f32; b * n];
    if k > 0 && n > 0 {
        // Rows are independent: selected in parallel, each exactly as alone.
        mask.par_chunks_mut(n)
            .zip(data.par_chunks(n))
            .for_each_init(
                || Vec::<u32>::with_capacity(n),
                |idx, (out, row)| {
                    idx.clear();
                    idx.extend(0..n as u32);
                    let key = |i: &u32| (std::cmp::Reverse(OrdF32(row[*i as usize])), *i);
                    idx.select_nth_unstable_by_key(k - 1, key);
                    for &i in &idx[..k] {
                        out[i as usize] = 1.0;
                    }
                },
            );
    }
    Tensor::from_vec(mask, (b, n), v.device())
}

/// Calls `f` with the `f32` values of `t` in row-major order: a view of its
/// CPU storage when it is contiguous `f32` (no copy), else a copy.
pub fn with_f32_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (candle_core::Storage::Cpu(cpu), Some((a, b))) =
            (&*storage, layout.contiguous_offsets())
            && let Ok(s) = cpu.as_slice::<f32>()
        {
            return Ok(f(&s[a..b]));
        }
    }
    let v = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    Ok(f(&v))
}

/// The row-wise top-`k` of `values` (`[b, n]` row-major) straight to CSR,
/// without a dense mask: row `r` keeps the `k` entries with the largest
/// `values` (or `|values|` when `by_magnitude`), ties to the lower index,
/// exactly the selection of [`topk_mask`] on the same key; entries that are
/// 0 are not stored. Equals `values · topk_mask(key)` converted to CSR.
pub fn topk_rows_csr(
    values: &[f32],
    b: usize,
    n: usize,
    k: usize,
    by_magnitude: bool,
) -> rdpbench_api::data::CsrMatrix {
    let k = k.min(n);
    // One pass per row with a bounded heap of the k best so far, ordered so
    // that its top is the worst kept entry (smallest key, then the largest
    // index). Scanning in index order, a new entry beats the worst only
    // with a strictly larger key (on a tie its index is larger: worse), so
    // the kept set is exactly select-nth's on `(Reverse(key), index)`.
    let rows: Vec<Vec<(u32, f32)>> = values
        .par_chunks(n.max(1))
        .take(b)
        .map_init(
            || {
                std::collections::BinaryHeap::<(std::cmp::Reverse<OrdF32>, u32)>::with_capacity(
                    k + 1,
                )
            },
            |heap, row| {
                if k == 0 {
                    return Vec::new();
                }
                heap.clear();
                for (i, &v) in row.iter().enumerate() {
                    let key = OrdF32(if by_magnitude { v.abs() } else { v });
                    if heap.len() < k {
                        heap.push((std::cmp::Reverse(key), i as u32));
                    } else if key > heap.peek().expect("k > 0 entries").0.0 {
                        heap.pop();
                        heap.push((std::cmp::Reverse(key), i as u32));
                    }
                }
                let mut kept: Vec<u32> = heap.iter().map(|&(_, i)| i).collect();
                kept.sort_unstable();
                kept.iter()
                    .map(|&j| (j, row[j as usize]))
                    .filter(|(_, v)| *v != 0.0)
                    .collect()
            },
        )
        .collect();
    let mut out = rdpbench_api::data::CsrMatrix::with_cols(n);
    for r in rows {
        out.push_row(r);
    }
    out
}

/// Batch top-`k` mask of `v: [b, n]`: 1.0 on the `round(k·b)` largest entries of the
/// whole batch that are `> 0` (BatchTopK, Bussmann et al. 2024), and the
/// smallest selected value (`None` if nothing was selected). No gradient.
pub fn batch_topk_mask(v: &Tensor, k: f64) -> Result<(Tensor, Option<f32>)> {
    let (b, n) = v.dims2()?;
    let data = v
        .detach()
        .flatten_all()?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?;
    let total = ((k * b as f64).round() as usize).min(b * n);
    let mut mask = vec![0.0f32; b * n];
    let mut positive: Vec<u32> = (0..(b * n) as u32)
        .filter(|&i| data[i as usize] > 0.0)
        .collect();
    let take = total.min(positive.len());
    if take == 0 {
        return Ok((Tensor::from_vec(mask, (b, n), v.device())?, None));
    }
    let key = |i: &u32| (std::cmp::Reverse(OrdF32(data[*i as usize])), *i);
    if take < positive.len() {
        positive.select_nth_unstable_by_key(take - 1, key);
    }
    let mut min = f32::INFINITY;
    for &i in &positive[..take] {
        mask[i as usize] = 1.0;
        min = min.min(data[i as usize]);
    }
    Ok((Tensor::from_vec(mask, (b, n), v.device())?, Some(min)))
}

/// `x` with rows of `m: [n, d]` rescaled to unit L2 norm (zero rows stay zero).
pub fn unit_rows(m: &Tensor) -> Result<Tensor> {
    let norms = m
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12f32, f32::INFINITY)?;
    m.broadcast_div(&norms)
}

/// Row L2 norms of `m: [n, d]` as `[n]`.
pub fn row_norms(m: &Tensor) -> Result<Tensor> {
    m.sqr()?.sum(D::Minus1)?.sqrt()
}

/// Per-row squared error summed over the features, averaged over rows:
/// `E‖x − x̂‖²`, the reconstruction term of every training loss. It is a mean
/// over rows, so its scale does not depend on the batch size.
pub fn sse_per_row(x: &Tensor, x_hat: &Tensor) -> Result<Tensor> {
    (x - x_hat)?.sqr()?.sum(D::Minus1)?.mean_all()
}

/// The rectangle kernel `K(u) = 1[|u| < 1/2]` evaluated at `(z − θ)/ε`, no gradient.
fn rectangle(z: &Tensor, theta: &Tensor, bandwidth: f64) -> Result<Tensor> {
    let u = z
        .detach()
        .broadcast_sub(&theta.detach())?
        .affine(1.0 / bandwidth, 0.0)?;
    u.abs()?.lt(0.5)?.to_dtype(z.dtype())
}

/// JumpReLU `f = z · H(z − θ)` with the straight-through estimator of
/// Rajamanoharan et al. (2024): the value is exact; `∂f/∂z = H(z − θ)`;
/// `∂f/∂θ = −(θ/ε) K((z − θ)/ε)`. Shapes: `z: [b, n]`, `theta: [n]`.
pub fn jumprelu(z: &Tensor, theta: &Tensor, bandwidth: f64) -> Result<Tensor> {
    let step = z
        .detach()
        .broadcast_gt(&theta.detach())?
        .to_dtype(z.dtype())?;
    let value = (z * &step)?;
    // Surrogate with value 0 and the STE gradient with respect to θ.
    let coef = rectangle(z, theta, bandwidth)?
        .broadcast_mul(&theta.detach())?
        .affine(-1.0 / bandwidth, 0.0)?;
    let theta_b = theta.broadcast_as(z.shape())?;
    let surrogate = ((&theta_b * &coef)? - (&theta_b * &coef)?.detach())?;
    value + surrogate
}

/// Mean L0 of JumpReLU codes, `E Σ_j H(z_j − θ_j)`, with the STE gradient
/// `∂/∂θ = −(1/ε) K((z − θ)/ε)` (Rajamanoharan et al. 2024). `z: [b, n]`, `theta: [n]`.
pub fn jumprelu_l0(z: &Tensor, theta: &Tensor, bandwidth: f64) -> Result<Tensor> {
    let step = z
        .detach()
        .broadcast_gt(&theta.detach())?
        .to_dtype(z.dtype())?;
    let coef = rectangle(z, theta, bandwidth)?.affine(-1.0 / bandwidth, 0.0)?;
    let theta_b = theta.broadcast_as(z.shape())?;
    let surrogate = ((&theta_b * &coef)? - (&theta_b * &coef)?.detach())?;
    (step + surrogate)?.sum(D::Minus1)?.mean_all()
}

/// SAELens JumpReLU inference: `f = ReLU(π) · 1[π > θ]` with
/// `π = (x − b_dec) W_enc + b_enc` and `θ = threshold [d_sae]`. Also the
/// inference rule of BatchTopK and Matryoshka SAEs, saved with a broadcast threshold.
pub fn threshold_encode(w: &super::Params, x: &Tensor) -> Result<Tensor> {
    let pre = super::pre_activation(w.get("W_enc")?, w.get("b_enc")?, w.get("b_dec")?, x)?;
    let theta = w.get("threshold")?;
    let keep = pre.broadcast_gt(theta)?.to_dtype(pre.dtype())?;
    pre.relu()? * keep
}

/// BatchTopK codes of non-negative pre-activations `z: [b, n]`: the `k·b`
/// largest entries of the batch; updates the running inference threshold
/// `buffers["threshold"]` (exponential average with `momentum` of the
/// smallest selected value; the first batch sets it).
pub fn batch_topk_codes(
    z: &Tensor,
    k: f64,
    momentum: f64,
    buffers: &mut super::Buffers,
) -> Result<Tensor> {
    let (mask, min) = batch_topk_mask(z, k)?;
    if let Some(min) = min {
        let t = buffers.entry("threshold".to_string()).or_insert(min as f64);
        *t = momentum * *t + (1.0 - momentum) * min as f64;
    }
    z * mask
}

/// The standard four tensors plus `threshold = buffers["threshold"]`
/// broadcast to `[d_sae]`: how BatchTopK and Matryoshka SAEs are saved (as SAELens `jumprelu`).
pub fn export_with_threshold(
    p: &super::Params,
    buffers: &super::Buffers,
    d_sae: usize,
) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::new();
    for name in ["W_enc", "b_enc", "W_dec", "b_dec"] {
        out.push((name.to_string(), p.get(name)?.clone()));
    }
    let theta = buffers.get("threshold").copied().unwrap_or(0.0) as f32;
    out.push((
        "threshold".to_string(),
        Tensor::full(theta, d_sae, p.get("W_dec")?.device())?,
    ));
    Ok(out)
}

/// Total order on `f32` for selections (NaN sorts below everything).
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF32(f32);
impl Eq for OrdF32 {}
impl PartialOrd for OrdF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let a = if self.0.is_nan() {
            f32::NEG_INFINITY
        } else {
            self.0
        };
        let b = if other.0.is_nan() {
            f32::NEG_INFINITY
        } else {
            other.0
        };
        a.total_cmp(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Ties go to the lower index, as in `topk_mask`: row (2, 5, 5, 1, 5, 3)
    /// with k = 2 keeps indices 1 and 2; by magnitude, (−5, 5, 1) with k = 1
    /// keeps index 0 (signed); zeros are not stored.
    #[test]
    fn topk_rows_csr_breaks_ties_like_the_mask() {
        let v = [2.0f32, 5.0, 5.0, 1.0, 5.0, 3.0];
        let c = topk_rows_csr(&v, 1, 6, 2, false);
        assert_eq!(
            (c.indices.clone(), c.values.clone()),
            (vec![1, 2], vec![5.0, 5.0])
        );
        let mask = topk_mask(&Tensor::from_slice(&v, (1, 6), &Device::Cpu).unwrap(), 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(mask, vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let c = topk_rows_csr(&[-5.0, 5.0, 1.0, 0.0, 0.0, 0.0], 2, 3, 1, true);
        assert_eq!(c.indptr, vec![0, 1, 1]);
        assert_eq!((c.indices[0], c.values[0]), (0, -5.0));
    }

    #[test]
    fn topk_and_batch_topk_masks() -> Result<()> {
        let v = Tensor::new(
            &[[0.1f32, 3.0, 2.0, -1.0], [5.0, 0.0, 0.2, 0.3]],
            &Device::Cpu,
        )?;
        let m = topk_mask(&v, 2)?.to_vec2::<f32>()?;
        assert_eq!(m, vec![vec![0.0, 1.0, 1.0, 0.0], vec![1.0, 0.0, 0.0, 1.0]]);
        let (m, min) = batch_topk_mask(&v, 2.0)?;
        assert_eq!(
            m.to_vec2::<f32>()?,
            vec![vec![0.0, 1.0, 1.0, 0.0], vec![1.0, 0.0, 0.0, 1.0]]
        );
        assert_eq!(min, Some(0.3));
        Ok(())
    }

    #[test]
    fn jumprelu_value_and_ste_gradients() -> Result<()> {
        let dev = Device::Cpu;
        let z = Var::new(&[[0.5f32, 1.0, 0.02]], &dev)?;
        let theta = Var::new(&[0.45f32, 0.5, 0.5], &dev)?;
        let f = jumprelu(z.as_tensor(), theta.as_tensor(), 0.2)?;
        assert_eq!(f.to_vec2::<f32>()?, vec![vec![0.5, 1.0, 0.0]]);
        let g = f.sum_all()?.backward()?;
        // ∂f/∂z = H(z − θ).
        assert_eq!(
            g.get(&z).unwrap().to_vec2::<f32>()?,
            vec![vec![1.0, 1.0, 0.0]]
        );
        // ∂f/∂θ = −θ/ε on the kernel's support (|z − θ| < ε/2), 0 elsewhere.
        let gt = g.get(&theta).unwrap().to_vec1::<f32>()?;
        assert!(
            (gt[0] + 0.45 / 0.2).abs() < 1e-5 && gt[1] == 0.0 && gt[2] == 0.0,
            "{gt:?}"
        );
        let l0 = jumprelu_l0(z.as_tensor(), theta.as_tensor(), 0.2)?;
        assert_eq!(l0.to_scalar::<f32>()?, 2.0);
        let g = l0.backward()?;
        let gt = g.get(&theta).unwrap().to_vec1::<f32>()?;
        assert!((gt[0] + 1.0 / 0.2).abs() < 1e-5 && gt[1] == 0.0, "{gt:?}");
        Ok(())
    }
}
