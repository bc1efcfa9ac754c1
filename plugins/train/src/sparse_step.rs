//! The whole training step of a selection SAE (TopK, BatchTopK,
//! Matryoshka BatchTopK) on the CPU, written out by hand: forward, backward
//! and AdamW without autograd and without a dense `[batch, d_sae]` tensor
//! beyond the encoder's pre-activations (the design of the OpenAI
//! sparse-autoencoder kernels).
//!
//! With `x: [n, d_in]`, `W_enc: [d_in, d_sae]`, `b_enc: [d_sae]`,
//! `W_dec: [d_sae, d_in]`, `b_dec: [d_in]` and the nested prefixes
//! `m_1 < … < m_P = d_sae` (just `d_sae` without Matryoshka):
//!
//! ```text
//! π = (x − b_dec) W_enc + b_enc                   [n, d_sae]   the one dense GEMM
//! S = the selected (r, j), all with π_rj > 0:
//!     TopK:      the k largest π_rj of each row          (ties: lower j first)
//!     BatchTopK: the round(k·n) largest of the batch      (ties: lower r·d_sae + j first)
//! x̂_p,r = b_dec + Σ_{j∈S_r, j<m_p} π_rj W_dec,j   e_p,r = x_r − x̂_p,r   (e_r = e_P,r)
//! L = (1/n) Σ_p Σ_r ‖e_p,r‖²  +  s (1/n) Σ_r ‖e_r − ê_r‖²       (AuxK, when latents are dead)
//! ê_r = Σ_{j∈A_r} π_rj W_dec,j,   A_r = the k_aux largest positive π_rj over dead j,
//! s = min(n_dead / k_aux, 1) · aux_k_coefficient, e_r held constant in the AuxK term
//! ```
//!
//! Backward, over the supports only (`g_π` has `|S_r| + |A_r|` non-zeros in
//! row `r`). Latent `j` in band `q` (`m_{q−1} ≤ j < m_q`) is in prefixes
//! `q … P`, so it sees the band residual `R_q,r = Σ_{p ≥ q} e_p,r`:
//!
//! ```text
//! g_π,rj  = −(2/n) ⟨R_q,r, W_dec,j⟩ [j∈S_r]  −  (2s/n) ⟨e_r − ê_r, W_dec,j⟩ [j∈A_r]
//! ∂W_dec,j = −(2/n) (Σ_{r: j∈S_r} π_rj R_q,r  +  s Σ_{r: j∈A_r} π_rj (e_r − ê_r))
//! ∂W_enc,:j = Σ_r g_π,rj (x_r − b_dec)      ∂b_enc = Σ_r g_π,r
//! ∂b_dec  = −(2/n) Σ_r R_1,r − W_enc ∂b_enc
//! ```
//!
//! Each weight gradient is summed per latent over its rows in ascending row
//! order, split over the rayon pool by latent; per-row sums are added in
//! fixed row blocks: the result does not depend on the number of threads.
//! Then AdamW updates every parameter in place ([`AdamW::step_slices`]) and
//! the decoder rows are rescaled to unit norm. BatchTopK's running inference
//! threshold is updated as `ops::batch_topk_codes` does.
//!
//! This is the function `Session` computes for these architectures through
//! candle's autograd (their `forward`, `ops::sse_per_row`, the AuxK term);
//! only the `f32` rounding differs (sums in another order). The two are
//! compared step by step over 100 steps by `testing::check_sparse_training`,
//! which each of the three plugins runs as its `sparse_step_matches_forward` test.

use crate::adamw::AdamW;
use crate::cpu::{ROW_BLOCK, with_slice, with_slice_mut};
use anyhow::{Context as _, Result, ensure};
use candle_core::{Tensor, Var};
use pulp::Arch;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Latents per parallel task of the per-latent gradient sums.
const LATENT_BLOCK: usize = 32;

/// How a selection architecture picks its codes from the pre-activations `π`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// The `k` largest positive pre-activations of each row (TopK).
    TopK { k: usize },
    /// The `round(k · n)` largest positive pre-activations of the batch;
    /// the smallest selected one updates the running inference threshold
    /// `buffers["threshold"]` with `threshold_momentum` (BatchTopK).
    BatchTopK { k: f64, threshold_momentum: f64 },
}

/// What an architecture declares so the SDK can train it with the
/// hand-written step: its training forward is then exactly `f = π ⊙ [S]`,
/// decoded as `f W_dec + b_dec`, with the four standard parameters, the
/// nested-prefix losses of `prefixes` as its only loss terms, and `ReLU(π)`
/// as the AuxK pre-activations.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseTraining {
    pub selection: Selection,
    /// Matryoshka prefix sizes, each `< d_sae`, each adding the loss
    /// `(1/n) Σ_r ‖x_r − x̂_p,r‖²` (empty: none).
    pub prefixes: Vec<usize>,
}

/// The AuxK term's settings for one step.
#[derive(Debug, Clone, Copy)]
pub struct AuxK<'a> {
    /// `dead[j]`: latent `j` has not fired recently.
    pub dead: &'a [bool],
    /// `k_aux`, already capped at the number of dead latents.
    pub k: usize,
    /// `s`, the term's weight.
    pub scale: f32,
}

/// What one step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseStepStats {
    /// `L` (reconstruction plus AuxK).
    pub loss: f64,
    /// `(1/n) Σ_r ‖e_r‖²`.
    pub sse_per_row: f64,
}

/// A candidate of a selection, ordered so that the heap's top is the one
/// to drop first: the smallest value, and among equal values the larger index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    value: f32,
    index: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .value
            .total_cmp(&self.value)
            .then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` largest positive entries `v_j + bias_j` of a row over the
/// columns `keep` admits, ties broken by the lower column, pushed onto
/// `out` in ascending column order (fewer than `k` when fewer are
/// positive). NaNs are never selected.
fn top_positive(
    row: &[f32],
    bias: &[f32],
    k: usize,
    keep: impl Fn(usize) -> bool,
    heap: &mut BinaryHeap<Candidate>,
    out: &mut Vec<(u32, f32)>,
) {
    heap.clear();
    if k == 0 {
        return;
    }
    for (j, (&v, &b)) in row.iter().zip(bias).enumerate() {
        let value = v + b;
        // A later column enters only when strictly larger than the current
        // worst: equal values keep the lower column, as `ops::topk_mask`.
        if value > 0.0 && keep(j) {
            if heap.len() < k {
                heap.push(Candidate {
                    value,
                    index: j as u32,
                });
            } else if value > heap.peek().map_or(0.0, |c| c.value) {
                heap.pop();
                heap.push(Candidate {
                    value,
                    index: j as u32,
                });
            }
        }
    }
    let start = out.len();
    out.extend(heap.drain().map(|c| (c.index, c.value)));
    out[start..].sort_unstable_by_key(|&(j, _)| j);
}

/// Lanes of [`dot`]'s partial sums: two AVX registers of `f32`.
const DOT_LANES: usize = 16;

/// `⟨a, b⟩` over the common length, summed in [`DOT_LANES`] interleaved
/// partial sums (lane `l` takes the products `i ≡ l mod 16`), then the
/// lanes in order, then the tail: one fixed order, so the same bits with
/// or without vector instructions. A single running sum would be a chain
/// of dependent additions the compiler may not reorder (and so cannot
/// vectorise).
///
/// `#[inline(always)]` so that inside [`simd`] it is compiled for the
/// CPU's vector instructions.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; DOT_LANES];
    let (ca, cb) = (a.chunks_exact(DOT_LANES), b.chunks_exact(DOT_LANES));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..DOT_LANES {
            lanes[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// `o += a · x`.
#[inline(always)]
fn axpy(o: &mut [f32], a: f32, x: &[f32]) {
    for (o, &x) in o.iter_mut().zip(x) {
        *o += a * x;
    }
}

/// Runs `f` compiled for the best instruction set this CPU has (AVX2+FMA
/// through `pulp`'s x86-v3 level, else the baseline), chosen at run time:
/// the [`dot`] and [`axpy`] loops inlined into `f` then use 8-wide vectors.
/// Rust never contracts `a + b·c` into a fused multiply-add, so every
/// path rounds the same way.
#[inline(always)]
fn simd<R>(f: impl FnOnce() -> R) -> R {
    Arch::new().dispatch(f)
}

/// Row supports in CSR form: row `r`'s entries are `entries[ptr[r]..ptr[r + 1]]`,
/// `(latent, π_rj)` in ascending latent order; `grad[i]` is `g_π` at entry `i`.
#[derive(Debug, Default)]
struct Supports {
    ptr: Vec<usize>,
    entries: Vec<(u32, f32)>,
    grad: Vec<f32>,
}

impl Supports {
    fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.ptr[r]..self.ptr[r + 1]
    }

    /// Rebuilds from per-row-block `(entry count per row, entries)` lists.
    fn assemble(&mut self, blocks: &[BlockSupports]) {
        self.ptr.clear();
        self.ptr.push(0);
        self.entries.clear();
        for (counts, entries) in blocks {
            for &c in counts {
                let last = *self.ptr.last().expect("starts with 0");
                self.ptr.push(last + c);
            }
            self.entries.extend_from_slice(entries);
        }
        self.grad.clear();
        self.grad.resize(self.entries.len(), 0.0);
    }
}

/// One row block's supports: the entry count of each row, then the entries.
type BlockSupports = (Vec<usize>, Vec<(u32, f32)>);

/// One entry of a latent's bucket: row `row` reaches latent `j` through the
/// codes (`aux == false`) or the AuxK codes, with code value `code` and
/// `g_π` value `grad`.
#[derive(Debug, Clone, Copy, Default)]
struct BucketEntry {
    row: u32,
    aux: bool,
    code: f32,
    grad: f32,
}

/// The hand-written step of one [`SparseTraining`], with its buffers reused
/// from step to step (sized on first use).
#[derive(Debug)]
pub struct SparseStep {
    spec: SparseTraining,
    xc: Vec<f32>,
    /// The band residuals `R_q` of every row, `[levels][n][d_in]`.
    band: Vec<f32>,
    /// `e_r − ê_r` of the rows with AuxK codes, `[n, d_in]`.
    aux_err: Vec<f32>,
    codes: Supports,
    aux: Supports,
    bucket_start: Vec<usize>,
    bucket: Vec<BucketEntry>,
    g_w_dec: Vec<f32>,
    g_w_enc_t: Vec<f32>,
    g_w_enc: Vec<f32>,
    g_b_enc: Vec<f32>,
    g_b_dec: Vec<f32>,
}

/// The trainable parameter `name` among `vars`.
fn find<'a>(vars: &'a [(String, Var)], name: &str) -> Result<&'a Var> {
    vars.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .with_context(|| format!("sparse step: no parameter `{name}`"))
}

/// TopK supports: the `k` largest positive `π_rj + bias_j` of each row of
/// `pre: [n, m]` among the columns `keep` admits, over row blocks in parallel.
fn select_rows(
    s: &mut Supports,
    pre: &[f32],
    bias: &[f32],
    m: usize,
    k: usize,
    keep: &(dyn Fn(usize) -> bool + Sync),
) {
    let blocks: Vec<BlockSupports> = pre
        .par_chunks(ROW_BLOCK * m.max(1))
        .map(|block| {
            let mut heap = BinaryHeap::with_capacity(k + 1);
            let mut entries = Vec::with_capacity(block.len() / m.max(1) * k);
            let mut counts = Vec::with_capacity(block.len() / m.max(1));
            for row in block.chunks_exact(m) {
                let before = entries.len();
                top_positive(row, bias, k, keep, &mut heap, &mut entries);
                counts.push(entries.len() - before);
            }
            (counts, entries)
        })
        .collect();
    s.assemble(&blocks);
}

/// Buckets of the radix selection: the top 16 bits of a positive `f32`
/// (whose bit patterns order as the values do).
const RADIX_BUCKETS: usize = 1 << 15;

fn radix_bucket(v: f32) -> usize {
    (v.to_bits() >> 16) as usize
}

/// BatchTopK supports: the `total` largest positive `π_rj + bias_j` of the
/// whole batch, ties broken by the lower flat index `r·m + j` (as
/// `ops::batch_topk_mask`), found by a radix selection on the values' top
/// 16 bits and an exact sort of the one bucket the cut falls in. Returns
/// the smallest selected value (`None` when nothing is selected).
fn select_batch(
    s: &mut Supports,
    pre: &[f32],
    bias: &[f32],
    m: usize,
    total: usize,
) -> Option<f32> {
    let rows_per_block = ROW_BLOCK;
    let block_len = rows_per_block * m.max(1);
    // Row by row, the bias zipped along: no integer division `flat % m`
    // per entry.
    let histogram = pre
        .par_chunks(block_len)
        .fold(
            || vec![0usize; RADIX_BUCKETS],
            |mut h, block| {
                for row in block.chunks_exact(m) {
                    for (&p, &c) in row.iter().zip(bias) {
                        let v = p + c;
                        if v > 0.0 {
                            h[radix_bucket(v)] += 1;
                        }
                    }
                }
                h
            },
        )
        .reduce(
            || vec![0usize; RADIX_BUCKETS],
            |mut a, b| {
                for (a, b) in a.iter_mut().zip(b) {
                    *a += b;
                }
                a
            },
        );
    let positives: usize = histogram.iter().sum();
    let take = total.min(positives);
    // The cut: every value in a bucket above `cut_bucket` is selected, and
    // within it the entries up to (value, index) `cut` in selection order.
    let (cut_bucket, cut) = if take == 0 {
        (RADIX_BUCKETS, None)
    } else {
        let mut above = 0;
        let mut bucket = RADIX_BUCKETS - 1;
        while above + histogram[bucket] < take {
            above += histogram[bucket];
            bucket -= 1;
        }
        let mut inside: Vec<(f32, usize)> = pre
            .par_chunks(block_len)
            .enumerate()
            .flat_map_iter(|(b, block)| {
                block.chunks_exact(m).enumerate().flat_map(move |(i, row)| {
                    let r0 = (b * rows_per_block + i) * m;
                    (row.iter().zip(bias).enumerate()).filter_map(move |(j, (&p, &c))| {
                        let v = p + c;
                        (v > 0.0 && radix_bucket(v) == bucket).then_some((v, r0 + j))
                    })
                })
            })
            .collect();
        let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let need = take - above;
        inside.select_nth_unstable_by(need - 1, order);
        let last = inside[..need]
            .iter()
            .copied()
            .max_by(order)
            .expect("need >= 1");
        (bucket, Some(last))
    };
    let selected = |v: f32, flat: usize| -> bool {
        if v.is_nan() || v <= 0.0 {
            return false;
        }
        let b = radix_bucket(v);
        match cut {
            None => false,
            Some((cv, ci)) => {
                b > cut_bucket || (b == cut_bucket && (v > cv || (v == cv && flat <= ci)))
            }
        }
    };
    let blocks: Vec<BlockSupports> = pre
        .par_chunks(block_len)
        .enumerate()
        .map(|(b, block)| {
            let mut counts = Vec::with_capacity(rows_per_block);
            let mut entries = Vec::new();
            for (i, row) in block.chunks_exact(m).enumerate() {
                let before = entries.len();
                let r0 = (b * rows_per_block + i) * m;
                for (j, (&p, &c)) in row.iter().zip(bias).enumerate() {
                    let v = p + c;
                    if selected(v, r0 + j) {
                        entries.push((j as u32, v));
                    }
                }
                counts.push(entries.len() - before);
            }
            (counts, entries)
        })
        .collect();
    s.assemble(&blocks);
    cut.map(|(v, _)| v)
}

impl SparseStep {
    /// A step for `spec`.
    pub fn new(spec: SparseTraining) -> Self {
        Self {
            spec,
            xc: Vec::new(),
            band: Vec::new(),
            aux_err: Vec::new(),
            codes: Supports::default(),
            aux: Supports::default(),
            bucket_start: Vec::new(),
            bucket: Vec::new(),
            g_w_dec: Vec::new(),
            g_w_enc_t: Vec::new(),
            g_w_enc: Vec::new(),
            g_b_enc: Vec::new(),
            g_b_dec: Vec::new(),
        }
    }

    /// The latents of the last step's codes, one per `(row, latent)` with a
    /// positive code (for the firing counts).
    pub fn fired_latents(&self) -> impl Iterator<Item = u32> + '_ {
        self.codes.entries.iter().map(|&(j, _)| j)
    }

    /// Active latents summed over the rows of the last step.
    pub fn nnz(&self) -> usize {
        self.codes.entries.len()
    }

    /// The ends of the prefix bands, ascending, the last `d_sae`.
    fn levels(&self, m: usize) -> Vec<usize> {
        let mut l: Vec<usize> = self
            .spec
            .prefixes
            .iter()
            .copied()
            .filter(|&p| p < m)
            .collect();
        l.sort_unstable();
        l.dedup();
        l.push(m);
        l
    }

    /// One training step on `x: [n, d_in]` (`f32` on the CPU): gradients of
    /// `L` (see the module docs), then `opt` steps (its parameters are
    /// `vars`, in that order: the four standard ones), then the decoder rows
    /// are rescaled to unit norm when `normalize_decoder`. BatchTopK updates
    /// `buffers["threshold"]`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        x: &Tensor,
        vars: &[(String, Var)],
        opt: &mut AdamW,
        aux: Option<AuxK<'_>>,
        normalize_decoder: bool,
        buffers: &mut crate::Buffers,
    ) -> Result<SparseStepStats> {
        ensure!(
            vars.len() == 4,
            "sparse step: {} parameters, expected W_enc, b_enc, W_dec and b_dec",
            vars.len()
        );
        let (w_enc, b_enc) = (find(vars, "W_enc")?, find(vars, "b_enc")?);
        let (w_dec, b_dec) = (find(vars, "W_dec")?, find(vars, "b_dec")?);
        let (n, d) = x.dims2()?;
        let (d2, m) = w_enc.dims2()?;
        ensure!(
            d2 == d && w_dec.dims() == [m, d] && b_enc.dims() == [m] && b_dec.dims() == [d],
            "sparse step: x {:?}, W_enc {:?}, b_enc {:?}, W_dec {:?}, b_dec {:?} do not fit x [n, d_in], W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in]",
            x.dims(),
            w_enc.dims(),
            b_enc.dims(),
            w_dec.dims(),
            b_dec.dims()
        );
        // π: the one dense GEMM, through candle (gemm), on x − b_dec.
        let xc = x.broadcast_sub(b_dec.as_tensor())?.contiguous()?;
        let pre = xc.matmul(w_enc.as_tensor())?;
        with_slice(&xc, "sparse step x", |xc| {
            self.xc.clear();
            self.xc.extend_from_slice(xc);
        })?;
        let selection = self.spec.selection;
        let threshold_sample = with_slice(b_enc.as_tensor(), "b_enc", |b_enc| {
            with_slice(&pre, "pre-activations", |pre| {
                let sample = match selection {
                    Selection::TopK { k } => {
                        select_rows(&mut self.codes, pre, b_enc, m, k.min(m), &|_| true);
                        None
                    }
                    Selection::BatchTopK { k, .. } => {
                        let total = ((k * n as f64).round() as usize).min(n * m);
                        select_batch(&mut self.codes, pre, b_enc, m, total)
                    }
                };
                match aux {
                    Some(a) if a.k > 0 => {
                        let dead = a.dead;
                        select_rows(&mut self.aux, pre, b_enc, m, a.k, &|j| dead[j]);
                    }
                    _ => select_rows(&mut self.aux, pre, b_enc, m, 0, &|_| false),
                }
                sample
            })
        })??;
        drop(pre);
        if let (
            Selection::BatchTopK {
                threshold_momentum, ..
            },
            Some(min),
        ) = (selection, threshold_sample)
        {
            let t = buffers.entry("threshold".to_string()).or_insert(min as f64);
            *t = threshold_momentum * *t + (1.0 - threshold_momentum) * min as f64;
        }
        let levels = self.levels(m);
        let scale = aux.map_or(0.0, |a| a.scale);
        let sums = with_slice(x, "sparse step x", |x| {
            with_slice(w_dec.as_tensor(), "W_dec", |w_dec| {
                with_slice(b_dec.as_tensor(), "b_dec", |b_dec| {
                    self.residuals(x, w_dec, b_dec, n, d, &levels, scale)
                })
            })
        })???;
        with_slice(w_enc.as_tensor(), "W_enc", |w_enc| {
            self.weight_gradients(w_enc, n, d, m, &levels, scale)
        })?;
        let grads: Vec<&[f32]> = vars
            .iter()
            .map(|(name, _)| match name.as_str() {
                "W_enc" => Ok(&self.g_w_enc[..]),
                "b_enc" => Ok(&self.g_b_enc[..]),
                "W_dec" => Ok(&self.g_w_dec[..]),
                "b_dec" => Ok(&self.g_b_dec[..]),
                other => anyhow::bail!("sparse step: unexpected parameter `{other}`"),
            })
            .collect::<Result<_>>()?;
        opt.step_slices(&grads)?;
        if normalize_decoder {
            with_slice_mut(w_dec.as_tensor(), "W_dec", |w| {
                w.par_chunks_mut(d.max(1)).for_each(|row| {
                    simd(|| {
                        let norm = dot(row, row).sqrt().max(1e-12);
                        for v in row {
                            *v /= norm;
                        }
                    })
                });
            })?;
        }
        let inv_n = 1.0 / n.max(1) as f64;
        let sse_per_row = sums.full * inv_n;
        Ok(SparseStepStats {
            loss: sse_per_row + sums.prefixes * inv_n + f64::from(scale) * sums.aux * inv_n,
            sse_per_row,
        })
    }

    /// The band residuals `R_q` (into `band`), `e_r − ê_r` (into
    /// `aux_err`) and `g_π` on both supports; returns the squared-error sums.
    #[allow(clippy::too_many_arguments)]
    fn residuals(
        &mut self,
        x: &[f32],
        w_dec: &[f32],
        b_dec: &[f32],
        n: usize,
        d: usize,
        levels: &[usize],
        scale: f32,
    ) -> ErrorSums {
        let nl = levels.len();
        self.band.resize(nl * n * d, 0.0);
        self.aux_err.resize(n * d, 0.0);
        let g_main = -2.0 / n.max(1) as f32;
        let g_aux = g_main * scale;
        let mut code_grad = std::mem::take(&mut self.codes.grad);
        let mut aux_grad = std::mem::take(&mut self.aux.grad);
        let codes = &self.codes;
        let aux = &self.aux;
        let code_parts = split_by_blocks(&mut code_grad, &codes.ptr, n);
        let aux_parts = split_by_blocks(&mut aux_grad, &aux.ptr, n);
        // Row block b of every level: band[q][b·ROW_BLOCK ..], as one
        // mutable slice per (block, level).
        let mut band_parts: Vec<Vec<&mut [f32]>> =
            (0..n.div_ceil(ROW_BLOCK)).map(|_| Vec::new()).collect();
        for level in self.band.chunks_exact_mut((n * d).max(1)) {
            for (b, part) in level.chunks_mut(ROW_BLOCK * d.max(1)).enumerate() {
                band_parts[b].push(part);
            }
        }
        let sums: Vec<ErrorSums> = band_parts
            .into_par_iter()
            .zip(self.aux_err.par_chunks_mut(ROW_BLOCK * d.max(1)))
            .zip(code_parts.into_par_iter().zip(aux_parts))
            .enumerate()
            .map(|(b, ((mut band, aux_err), (cg, ag)))| {
                simd(|| {
                    let r0 = b * ROW_BLOCK;
                    let (c0, a0) = (codes.ptr[r0], aux.ptr[r0]);
                    let mut sums = ErrorSums::default();
                    let mut acc = vec![0.0f32; d];
                    for (i, ea) in aux_err.chunks_exact_mut(d).enumerate() {
                        let r = r0 + i;
                        let xr = &x[r * d..(r + 1) * d];
                        // e_q for every level q, walking the support in latent order.
                        for (a, (&xv, &bv)) in acc.iter_mut().zip(xr.iter().zip(b_dec)) {
                            *a = xv - bv;
                        }
                        let row = &codes.entries[codes.row(r)];
                        let mut next = 0;
                        for (q, &end) in levels.iter().enumerate() {
                            while next < row.len() && (row[next].0 as usize) < end {
                                let (j, v) = row[next];
                                let j = j as usize;
                                axpy(&mut acc, -v, &w_dec[j * d..(j + 1) * d]);
                                next += 1;
                            }
                            let e = &mut band[q][i * d..(i + 1) * d];
                            e.copy_from_slice(&acc);
                            let sq = f64::from(dot(e, e));
                            if q + 1 == nl {
                                sums.full += sq;
                            } else {
                                sums.prefixes += sq;
                            }
                        }
                        // R_q = Σ_{p ≥ q} e_p, from the last level down.
                        for q in (0..nl - 1).rev() {
                            let (lo, hi) = band.split_at_mut(q + 1);
                            let later = &hi[0][i * d..(i + 1) * d];
                            for (v, &l) in lo[q][i * d..(i + 1) * d].iter_mut().zip(later) {
                                *v += l;
                            }
                        }
                        let mut q = 0;
                        for idx in codes.row(r) {
                            let j = codes.entries[idx].0 as usize;
                            while j >= levels[q] {
                                q += 1;
                            }
                            let rq = &band[q][i * d..(i + 1) * d];
                            cg[idx - c0] = g_main * dot(rq, &w_dec[j * d..(j + 1) * d]);
                        }
                        if aux.ptr[r + 1] == aux.ptr[r] {
                            // No AuxK codes: ê_r = 0, the term is ‖e_r‖² (no gradient).
                            let e = &band[nl - 1][i * d..(i + 1) * d];
                            sums.aux += f64::from(dot(e, e));
                        } else {
                            ea.copy_from_slice(&band[nl - 1][i * d..(i + 1) * d]);
                            for &(j, v) in &aux.entries[aux.row(r)] {
                                let j = j as usize;
                                axpy(ea, -v, &w_dec[j * d..(j + 1) * d]);
                            }
                            sums.aux += f64::from(dot(ea, ea));
                            for idx in aux.row(r) {
                                let j = aux.entries[idx].0 as usize;
                                ag[idx - a0] = g_aux * dot(ea, &w_dec[j * d..(j + 1) * d]);
                            }
                        }
                    }
                    sums
                })
            })
            .collect();
        self.codes.grad = code_grad;
        self.aux.grad = aux_grad;
        // Row-block sums added in block order: thread-count independent.
        sums.iter().fold(ErrorSums::default(), |acc, s| ErrorSums {
            full: acc.full + s.full,
            prefixes: acc.prefixes + s.prefixes,
            aux: acc.aux + s.aux,
        })
    }

    /// `∂W_dec`, `∂W_enc`, `∂b_enc`, `∂b_dec` from the supports, the
    /// band residuals and `g_π` (see the module docs).
    fn weight_gradients(
        &mut self,
        w_enc: &[f32],
        n: usize,
        d: usize,
        m: usize,
        levels: &[usize],
        scale: f32,
    ) {
        // Bucket the entries of both supports by latent, rows ascending.
        let starts = &mut self.bucket_start;
        starts.clear();
        starts.resize(m + 1, 0);
        for &(j, _) in self.codes.entries.iter().chain(&self.aux.entries) {
            starts[j as usize + 1] += 1;
        }
        for j in 0..m {
            starts[j + 1] += starts[j];
        }
        let mut next = starts[..m].to_vec();
        self.bucket.clear();
        self.bucket.resize(starts[m], BucketEntry::default());
        for r in 0..n {
            for (s, aux) in [(&self.codes, false), (&self.aux, true)] {
                for idx in s.row(r) {
                    let (j, code) = s.entries[idx];
                    let slot = &mut next[j as usize];
                    self.bucket[*slot] = BucketEntry {
                        row: r as u32,
                        aux,
                        code,
                        grad: s.grad[idx],
                    };
                    *slot += 1;
                }
            }
        }
        let g_main = -2.0 / n.max(1) as f32;
        let (band, aux_err, xc) = (&self.band, &self.aux_err, &self.xc);
        let (bucket, starts) = (&self.bucket, &self.bucket_start);
        self.g_w_dec.resize(m * d, 0.0);
        self.g_w_enc_t.resize(m * d, 0.0);
        self.g_b_enc.resize(m, 0.0);
        self.g_w_dec
            .par_chunks_mut(LATENT_BLOCK * d.max(1))
            .zip(self.g_w_enc_t.par_chunks_mut(LATENT_BLOCK * d.max(1)))
            .zip(self.g_b_enc.par_chunks_mut(LATENT_BLOCK))
            .enumerate()
            .for_each(|(b, ((gd, ge), gb))| {
                simd(|| {
                    for (i, ((gd, ge), gb)) in gd
                        .chunks_exact_mut(d)
                        .zip(ge.chunks_exact_mut(d))
                        .zip(gb.iter_mut())
                        .enumerate()
                    {
                        let j = b * LATENT_BLOCK + i;
                        // The band of latent j: the residual it reconstructs.
                        let q = levels.partition_point(|&end| end <= j);
                        let rq = &band[q * n * d..(q + 1) * n * d];
                        gd.fill(0.0);
                        ge.fill(0.0);
                        let mut sum = 0.0f32;
                        let entries = &bucket[starts[j]..starts[j + 1]];
                        for e in entries.iter().filter(|e| !e.aux) {
                            let r = e.row as usize;
                            axpy(gd, e.code, &rq[r * d..(r + 1) * d]);
                        }
                        for v in gd.iter_mut() {
                            *v *= g_main;
                        }
                        for e in entries.iter().filter(|e| e.aux) {
                            let r = e.row as usize;
                            axpy(gd, g_main * scale * e.code, &aux_err[r * d..(r + 1) * d]);
                        }
                        for e in entries {
                            let r = e.row as usize;
                            axpy(ge, e.grad, &xc[r * d..(r + 1) * d]);
                            sum += e.grad;
                        }
                        *gb = sum;
                    }
                })
            });
        // ∂W_enc = (∂W_encᵀ)ᵀ, transposed in tiles.
        self.g_w_enc.resize(d * m, 0.0);
        transpose(&self.g_w_enc_t, m, d, &mut self.g_w_enc);
        // ∂b_dec = −(2/n) Σ_r R_1,r − W_enc ∂b_enc.
        self.g_b_dec.clear();
        self.g_b_dec.resize(d, 0.0);
        let (g_b_dec, g_b_enc, band) = (&mut self.g_b_dec, &self.g_b_enc, &self.band);
        simd(|| {
            for e in band[..n * d].chunks_exact(d.max(1)) {
                axpy(g_b_dec, g_main, e);
            }
            for (i, g) in g_b_dec.iter_mut().enumerate() {
                *g -= dot(&w_enc[i * m..(i + 1) * m], g_b_enc);
            }
        });
    }
}

/// Squared-error sums of one step: `Σ_r ‖e_r‖²`, `Σ_{p<P} Σ_r ‖e_p,r‖²`
/// and `Σ_r ‖e_r − ê_r‖²`.
#[derive(Debug, Clone, Copy, Default)]
struct ErrorSums {
    full: f64,
    prefixes: f64,
    aux: f64,
}

/// Splits `buf` (one value per support entry) at the entry offsets of row
/// blocks of [`ROW_BLOCK`] rows, so each block owns its rows' entries.
fn split_by_blocks<'a>(buf: &'a mut [f32], ptr: &[usize], n: usize) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(n.div_ceil(ROW_BLOCK));
    let mut rest = buf;
    let mut start = 0;
    for r0 in (0..n).step_by(ROW_BLOCK) {
        let end = ptr[(r0 + ROW_BLOCK).min(n)];
        let (head, tail) = rest.split_at_mut(end - start);
        parts.push(head);
        rest = tail;
        start = end;
    }
    parts
}

/// `out = aᵀ` for a row-major `a: [rows, cols]`, in 32 × 32 tiles.
fn transpose(a: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    const T: usize = 32;
    out.par_chunks_mut(T * rows.max(1))
        .enumerate()
        .for_each(|(cb, block)| {
            let c0 = cb * T;
            let c1 = (c0 + T).min(cols);
            for r0 in (0..rows).step_by(T) {
                let r1 = (r0 + T).min(rows);
                for c in c0..c1 {
                    let o = &mut block[(c - c0) * rows..(c - c0 + 1) * rows];
                    for r in r0..r1 {
                        o[r] = a[r * cols + c];
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `top_positive` picks the largest positive values, lower column first
    /// among ties, and returns them in column order.
    #[test]
    fn selection_by_hand() {
        let row = [0.5, -1.0, 2.0, 0.5, 0.0, 3.0, 0.5];
        let bias = [0.0; 7];
        let mut heap = BinaryHeap::new();
        let mut out = Vec::new();
        top_positive(&row, &bias, 3, |_| true, &mut heap, &mut out);
        assert_eq!(out, vec![(0, 0.5), (2, 2.0), (5, 3.0)]);
        out.clear();
        // Only two positives among the admitted (even) columns.
        top_positive(&row, &bias, 3, |j| j % 2 == 0, &mut heap, &mut out);
        assert_eq!(out, vec![(0, 0.5), (2, 2.0), (6, 0.5)]);
        out.clear();
        top_positive(&row, &[-0.5; 7], 9, |_| true, &mut heap, &mut out);
        assert_eq!(out, vec![(2, 1.5), (5, 2.5)]);
        out.clear();
        top_positive(&row, &bias, 0, |_| true, &mut heap, &mut out);
        assert!(out.is_empty());
    }

    /// `dot` sums in its fixed lane order on every path: the dispatched
    /// (vector) and the plain call give the same bits, and both agree with
    /// an `f64` sum, over lengths with and without a tail.
    #[test]
    fn dot_is_exact_to_its_order_on_every_path() {
        for len in [0usize, 1, 15, 16, 17, 576, 1000] {
            let a: Vec<f32> = (0..len)
                .map(|i| ((i * 37) % 101) as f32 * 0.01 - 0.5)
                .collect();
            let b: Vec<f32> = (0..len)
                .map(|i| ((i * 53) % 97) as f32 * 0.02 - 1.0)
                .collect();
            let plain = dot(&a, &b);
            let vector = simd(|| dot(&a, &b));
            assert_eq!(plain.to_bits(), vector.to_bits(), "len {len}");
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!(
                (f64::from(plain) - want).abs() <= 1e-5 * want.abs().max(1.0),
                "len {len}: {plain} vs {want}"
            );
        }
        // Lane by lane: 1·1 in lane 0, 2·1 in lane 1, a tail of 3·1.
        let mut a = vec![0.0f32; 17];
        (a[0], a[1], a[16]) = (1.0, 2.0, 3.0);
        assert_eq!(dot(&a, &[1.0; 17]), 6.0);
    }

    #[test]
    fn transpose_by_hand() {
        let a: Vec<f32> = (0..35 * 33).map(|i| i as f32).collect();
        let mut t = vec![0.0; a.len()];
        transpose(&a, 35, 33, &mut t);
        for r in 0..35 {
            for c in 0..33 {
                assert_eq!(t[c * 35 + r], a[r * 33 + c]);
            }
        }
    }
}
