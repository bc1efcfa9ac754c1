//! Latent-major (CSC) view of sparse codes: for every latent, the tokens it
//! fires on, in increasing token order, with their code values.
//!
//! Metrics whose statistics are per latent (purity, entropies, histograms,
//! MS sums) read the codes latent by latent from this view: each latent's
//! small accumulator stays in L1 cache, latents split across threads with
//! disjoint outputs, and every per-latent sum runs over tokens in the same
//! increasing order as a token-major loop would, so the bits do not change.

use crate::parallel::map_chunks;

/// Latents per group in the two-level sort.
pub const GROUP: usize = 128;
/// Tokens per chunk in the two-level sort (fixed: the output never depends
/// on it, only the memory per chunk does).
pub const TOKEN_CHUNK: usize = 8192;
use rdpbench_sdk::data::CsrView;

/// Which stored code entries count as a latent's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firing {
    /// Entries with value `> 0` (a zero or negative code is "not firing").
    Positive,
    /// Every stored entry, whatever its value.
    Stored,
}

/// CSC of a code matrix `[n_tokens, d_sae]`, stored per group of
/// [`GROUP`] latents: latent `j`'s entries are its group's
/// `tokens[start[j'] .. start[j' + 1]]` (increasing) and `values[...]`, with
/// `j' = j mod GROUP` (for a pattern-only matrix, all values are 1.0).
/// Per-group arrays keep every allocation small: large ones are fresh pages
/// from the kernel on every call, and a page fault costs more than the sort.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentMajor {
    groups: Vec<LatentGroup>,
    n_latents: usize,
    nnz: usize,
}

/// The entries of one group of latents.
#[derive(Debug, Clone, PartialEq)]
struct LatentGroup {
    /// `[group len + 1]` local offsets.
    start: Vec<usize>,
    tokens: Vec<u32>,
    values: Vec<f32>,
}

impl LatentMajor {
    /// Transposes `codes`, keeping the entries selected by `firing`.
    ///
    /// A two-level counting sort, so every scatter writes to few streams that
    /// stay in cache (a direct scatter into `d_sae` buckets misses cache on
    /// almost every entry): (1) per fixed token chunk, counts per latent;
    /// (2) per token chunk, entries bucketed by latent group of
    /// [`GROUP`] latents; (3) per latent group, its entries from every chunk,
    /// in chunk order, scattered to their latents. Steps run on all cores;
    /// each latent's entries come out in increasing token order whatever the
    /// thread count. `O(nnz + d_sae · n_chunks)` time. Token ids must fit in
    /// `u32`.
    pub fn build(codes: &CsrView<'_>, firing: Firing) -> Self {
        let (n, f) = (codes.n_rows, codes.n_cols);
        assert!(n <= u32::MAX as usize, "more than 2^32 tokens");
        let keep = |a: f32| match firing {
            Firing::Positive => a > 0.0,
            Firing::Stored => true,
        };
        let n_groups = f.div_ceil(GROUP);
        // (1) + (2): per token chunk, its kept entries grouped by latent group.
        let chunks = map_chunks(n, TOKEN_CHUNK, |tokens| {
            let mut group_count = vec![0usize; n_groups + 1];
            for t in tokens.clone() {
                let idx = codes.row_indices(t);
                let vals = codes.row_values(t);
                for (k, &j) in idx.iter().enumerate() {
                    if keep(vals.map_or(1.0, |v| v[k])) {
                        group_count[j as usize / GROUP + 1] += 1;
                    }
                }
            }
            for g in 1..group_count.len() {
                group_count[g] += group_count[g - 1];
            }
            let total = group_count[n_groups];
            let mut entries = vec![(0u32, 0u32, 0f32); total];
            let mut fill = group_count.clone();
            for t in tokens {
                let idx = codes.row_indices(t);
                let vals = codes.row_values(t);
                for (k, &j) in idx.iter().enumerate() {
                    let a = vals.map_or(1.0, |v| v[k]);
                    if keep(a) {
                        let slot = &mut fill[j as usize / GROUP];
                        entries[*slot] = (j, t as u32, a);
                        *slot += 1;
                    }
                }
            }
            (group_count, entries)
        });
        // (3): per latent group, scatter to latents (GROUP buckets: in cache).
        let groups = map_chunks(n_groups, 1, |g| {
            let g = g.start;
            let (lo, hi) = (g * GROUP, ((g + 1) * GROUP).min(f));
            let mut count = vec![0usize; hi - lo + 1];
            for (offsets, entries) in &chunks {
                for &(j, _, _) in &entries[offsets[g]..offsets[g + 1]] {
                    count[j as usize - lo + 1] += 1;
                }
            }
            for i in 1..count.len() {
                count[i] += count[i - 1];
            }
            let total = count[hi - lo];
            let mut tokens = vec![0u32; total];
            let mut values = vec![0f32; total];
            let mut fill = count.clone();
            for (offsets, entries) in &chunks {
                for &(j, t, a) in &entries[offsets[g]..offsets[g + 1]] {
                    let slot = &mut fill[j as usize - lo];
                    tokens[*slot] = t;
                    values[*slot] = a;
                    *slot += 1;
                }
            }
            (count, tokens, values)
        });
        let nnz = groups.iter().map(|(_, t, _)| t.len()).sum();
        Self {
            groups: groups
                .into_iter()
                .map(|(start, tokens, values)| LatentGroup {
                    start,
                    tokens,
                    values,
                })
                .collect(),
            n_latents: f,
            nnz,
        }
    }

    /// Number of latents.
    pub fn n_latents(&self) -> usize {
        self.n_latents
    }

    /// Number of entries kept.
    pub fn nnz(&self) -> usize {
        self.nnz
    }

    #[inline]
    fn locate(&self, j: usize) -> (&LatentGroup, usize, usize) {
        let g = &self.groups[j / GROUP];
        let i = j % GROUP;
        (g, g.start[i], g.start[i + 1])
    }

    /// Number of entries of latent `j`.
    #[inline]
    pub fn count(&self, j: usize) -> usize {
        let (_, a, b) = self.locate(j);
        b - a
    }

    /// Tokens of latent `j`, increasing.
    #[inline]
    pub fn tokens(&self, j: usize) -> &[u32] {
        let (g, a, b) = self.locate(j);
        &g.tokens[a..b]
    }

    /// Code values of latent `j`, aligned with [`LatentMajor::tokens`].
    #[inline]
    pub fn values(&self, j: usize) -> &[f32] {
        let (g, a, b) = self.locate(j);
        &g.values[a..b]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};

    #[test]
    fn transposes_and_filters() {
        let d = DenseMatrix::from_vec(3, 3, vec![1.0, 0.0, -2.0, 0.0, 3.0, 4.0, 5.0, 0.0, 6.0])
            .unwrap();
        let c = CsrMatrix::from_dense(&d.view());
        let pos = LatentMajor::build(&c.view(), Firing::Positive);
        assert_eq!(pos.nnz(), 5);
        assert_eq!(
            (pos.tokens(0), pos.values(0)),
            (&[0u32, 2][..], &[1.0f32, 5.0][..])
        );
        assert_eq!((pos.tokens(1), pos.values(1)), (&[1u32][..], &[3.0f32][..]));
        assert_eq!(
            (pos.tokens(2), pos.values(2)),
            (&[1u32, 2][..], &[4.0f32, 6.0][..])
        );
        let all = LatentMajor::build(&c.view(), Firing::Stored);
        assert_eq!(all.tokens(2), &[0, 1, 2]);
        assert_eq!(all.values(2), &[-2.0, 4.0, 6.0]);
        assert_eq!(all.count(1), 1);
    }

    #[test]
    fn chunks_and_groups_match_a_dense_transpose() {
        // 3 token chunks and 3 latent groups (the last one partial).
        let (n, f) = (2 * TOKEN_CHUNK + 700, 2 * GROUP + 44);
        let mut m = CsrMatrix::with_cols(f);
        for t in 0..n {
            m.push_row(
                (0..f)
                    .filter(|j| (j * 31 + t * 17) % 97 == 0)
                    .map(|j| (j as u32, ((j + t) % 5) as f32 - 1.0)),
            );
        }
        let lm = LatentMajor::build(&m.view(), Firing::Positive);
        let dense = m.to_dense();
        for j in 0..f {
            let want: Vec<u32> = (0..n)
                .filter(|&t| dense.data[t * f + j] > 0.0)
                .map(|t| t as u32)
                .collect();
            assert_eq!(lm.tokens(j), want.as_slice(), "latent {j}");
        }
        assert_eq!(lm.n_latents(), f);
    }

    #[test]
    fn empty_inputs() {
        let m = CsrMatrix::with_cols(0);
        let lm = LatentMajor::build(&m.view(), Firing::Stored);
        assert_eq!(lm.n_latents(), 0);
        let m = CsrMatrix::with_cols(4);
        let lm = LatentMajor::build(&m.view(), Firing::Stored);
        assert_eq!(lm.n_latents(), 4);
        assert!((0..4).all(|j| lm.count(j) == 0 && lm.tokens(j).is_empty()));
    }
}
