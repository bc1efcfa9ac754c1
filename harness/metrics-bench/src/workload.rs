//! The benchmark workload: a pure function of [`WorkloadSpec`] and its seed.
//!
//! Shapes (defaults): codes CSR `[n_tokens = 100_000, d_sae = 16_384]` with
//! exactly `k = 64` positive entries per token; binary concept labels CSR
//! `[n_tokens, n_concepts = 256]`; activations `x` `[n_tokens, d_in = 512]`;
//! decoder `[d_sae, d_in]`; encoder `[d_in, d_sae]`.
//!
//! Generation (SplitMix64, so any language can redo it; we dump the arrays
//! instead):
//! - Labels: concepts `0..n_parents` are parents; the others are children,
//!   child `c` belongs to parent `(c − n_parents) / children_per_parent`. Each
//!   child is present with probability `p_child`; a present child switches its
//!   parent on; each parent is also present on its own with probability
//!   `p_parent`. About 2 labels per token; the hierarchy is what feature
//!   absorption reads.
//! - Codes: every present concept `c` switches on its own latent
//!   `c · (d_sae / n_concepts)` with a code in `[1, 3)`; the remaining slots up
//!   to `k` are distinct latents drawn with density `∝ j^{-1/2}` (latent
//!   `j = ⌊d_sae · u²⌋`, a heavy head as in trained SAEs) with codes
//!   `0.05 + Exp(1)`.
//! - Activations: `x_t = Σ_{c present} v_c + N(0, 0.5²)` noise, with `v_c`
//!   Gaussian concept directions (so MS sees structure).
//! - Decoder: Gaussian rows; every 97th row is a near-copy of its
//!   predecessor (cosine ≈ 0.99), so the max-cosine has a non-trivial tail.
//! - Encoder: decoder transposed plus Gaussian noise.

use rdpbench_sdk::{CsrMatrix, DenseMatrix};

/// Sizes and seed of the workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkloadSpec {
    pub n_tokens: usize,
    pub d_sae: usize,
    pub d_in: usize,
    /// Active latents per token.
    pub k: usize,
    pub n_parents: usize,
    pub children_per_parent: usize,
    pub p_parent: f64,
    pub p_child: f64,
    pub seed: u64,
}

impl Default for WorkloadSpec {
    /// The workload: 100k tokens, d_sae 16384, d_in 512, k = 64,
    /// 64 parents × 3 children = 256 concepts.
    fn default() -> Self {
        Self {
            n_tokens: 100_000,
            d_sae: 16_384,
            d_in: 512,
            k: 64,
            n_parents: 64,
            children_per_parent: 3,
            p_parent: 0.01,
            p_child: 0.004,
            seed: 20261129,
        }
    }
}

impl WorkloadSpec {
    pub fn n_concepts(&self) -> usize {
        self.n_parents * (1 + self.children_per_parent)
    }
}

/// The generated arrays.
#[derive(Debug, Clone)]
pub struct Workload {
    pub spec: WorkloadSpec,
    /// CSR `[n_tokens, d_sae]`, `k` positive entries per row.
    pub codes: CsrMatrix,
    /// CSR pattern `[n_tokens, n_concepts]` (values empty = all 1.0).
    pub labels: CsrMatrix,
    /// `[n_tokens, d_in]`.
    pub activations: DenseMatrix,
    /// `[d_sae, d_in]`.
    pub decoder: DenseMatrix,
    /// `[d_in, d_sae]`.
    pub encoder: DenseMatrix,
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable, good enough here.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl Workload {
    /// Generates the workload of `spec` (see the module docs).
    pub fn generate(spec: WorkloadSpec) -> anyhow::Result<Self> {
        let nc = spec.n_concepts();
        anyhow::ensure!(
            spec.k >= 1 && spec.k * 4 <= spec.d_sae && nc >= 1 && nc <= spec.d_sae,
            "workload: need 1 <= k <= d_sae / 4 and 1 <= n_concepts <= d_sae, got {spec:?}"
        );
        let mut rng = SplitMix64::new(spec.seed);
        let (n, f, d) = (spec.n_tokens, spec.d_sae, spec.d_in);
        let concept_dirs: Vec<f32> = (0..nc * d).map(|_| rng.normal() as f32).collect();
        let stride = f / nc;
        let mut labels = CsrMatrix::with_cols(nc);
        let mut codes = CsrMatrix::with_cols(f);
        let mut activations = DenseMatrix::zeros(n, d);
        let mut present = vec![false; nc];
        let mut chosen = vec![false; f];
        let mut row: Vec<(u32, f32)> = Vec::with_capacity(spec.k);
        for t in 0..n {
            present.iter_mut().for_each(|p| *p = false);
            for c in spec.n_parents..nc {
                if rng.uniform() < spec.p_child {
                    present[c] = true;
                    present[(c - spec.n_parents) / spec.children_per_parent] = true;
                }
            }
            for p in present.iter_mut().take(spec.n_parents) {
                if rng.uniform() < spec.p_parent {
                    *p = true;
                }
            }
            labels.push_row((0..nc).filter(|&c| present[c]).map(|c| (c as u32, 1.0f32)));
            row.clear();
            for c in (0..nc).filter(|&c| present[c]).take(spec.k) {
                let j = c * stride;
                chosen[j] = true;
                row.push((j as u32, (1.0 + 2.0 * rng.uniform()) as f32));
            }
            while row.len() < spec.k {
                let u = rng.uniform();
                let j = ((f as f64 * u * u) as usize).min(f - 1);
                if !chosen[j] {
                    chosen[j] = true;
                    row.push((j as u32, (0.05 - (1.0 - rng.uniform()).ln()) as f32));
                }
            }
            row.sort_unstable_by_key(|e| e.0);
            for &(j, _) in &row {
                chosen[j as usize] = false;
            }
            codes.push_row(row.iter().copied());
            let x = activations.row_mut(t);
            for v in x.iter_mut() {
                *v = (0.5 * rng.normal()) as f32;
            }
            for c in (0..nc).filter(|&c| present[c]) {
                for (v, &u) in x.iter_mut().zip(&concept_dirs[c * d..(c + 1) * d]) {
                    *v += u;
                }
            }
        }
        let mut decoder = DenseMatrix::zeros(f, d);
        for j in 0..f {
            if j % 97 == 1 {
                for k in 0..d {
                    let prev = decoder.data[(j - 1) * d + k];
                    decoder.data[j * d + k] = prev + (0.1 * rng.normal()) as f32;
                }
            } else {
                for v in decoder.row_mut(j) {
                    *v = rng.normal() as f32;
                }
            }
        }
        let mut encoder = decoder.transpose();
        for v in encoder.data.iter_mut() {
            *v += (0.5 * rng.normal()) as f32;
        }
        Ok(Self {
            spec,
            codes,
            labels,
            activations,
            decoder,
            encoder,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> WorkloadSpec {
        WorkloadSpec {
            n_tokens: 500,
            d_sae: 512,
            d_in: 16,
            k: 16,
            n_parents: 4,
            children_per_parent: 3,
            p_parent: 0.05,
            p_child: 0.05,
            seed: 7,
        }
    }

    #[test]
    fn shapes_k_per_row_and_the_hierarchy_hold() {
        let w = Workload::generate(small()).unwrap();
        let s = w.spec;
        assert_eq!(w.codes.n_rows, s.n_tokens);
        assert_eq!(w.codes.nnz(), s.n_tokens * s.k);
        assert!(w.codes.values.iter().all(|&v| v > 0.0));
        // Valid CSR (sorted, distinct, in range).
        CsrMatrix::from_parts(
            w.codes.n_rows,
            w.codes.n_cols,
            w.codes.indptr.clone(),
            w.codes.indices.clone(),
            w.codes.values.clone(),
        )
        .unwrap();
        let lv = w.labels.view();
        for t in 0..s.n_tokens {
            for &c in lv.row_indices(t) {
                let c = c as usize;
                if c >= s.n_parents {
                    let parent = ((c - s.n_parents) / s.children_per_parent) as u32;
                    assert!(lv.row_indices(t).contains(&parent), "child without parent");
                }
            }
        }
        assert_eq!(w.decoder.rows, s.d_sae);
        assert_eq!(w.encoder.rows, s.d_in);
        assert_eq!(w.activations.data.len(), s.n_tokens * s.d_in);
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = Workload::generate(small()).unwrap();
        let b = Workload::generate(small()).unwrap();
        assert_eq!(a.codes, b.codes);
        assert_eq!(a.activations, b.activations);
        let c = Workload::generate(WorkloadSpec { seed: 8, ..small() }).unwrap();
        assert_ne!(a.codes, c.codes);
    }
}
