//! Per-latent label statistics: for every latent, over the tokens where it
//! fires, how often each concept label occurs; with the latents' firing
//! counts and the labels' marginals. The shared core of the label-based
//! metrics (concept-entropy, concept-purity, feature-absorption,
//! js-separability, top-activation-purity), for any metric author.
//!
//! # Shapes and definitions
//!
//! - Codes `a`: CSR `[n_tokens, d_sae]`. Latent `j` **fires** on token `t`
//!   when `(t, j)` is stored and `a_tj > 0`; in a pattern-only code matrix
//!   (no values) every stored entry fires. Zero or negative stored codes are
//!   not firings.
//! - Labels `y`: CSR `[n_tokens, n_labels]`; label `c` is on token `t` when
//!   `(t, c)` is stored (values are not read). `L_t` is the set of labels of
//!   token `t`; a token may carry none (unlabelled) or several (multi-label).
//!
//! Statistics:
//!
//! - firing counts ([`LabelStats::firing_counts`]):
//!   `F_j = #{t : j fires on t}` ([`Tokens::All`]) or
//!   `F_j = #{t : j fires on t, |L_t| > 0}` ([`Tokens::Labelled`]);
//! - label marginals ([`LabelStats::label_counts`]): `n_c = #{t : c ∈ L_t}`;
//! - label columns ([`LabelStats::fold_label_columns`]): for each label `c`,
//!   the `[d_sae]` column `n_·c` with
//!   `n_jc = Σ_{t : j fires on t, c ∈ L_t} w(|L_t|)`, where the weighting is
//!   explicit:
//!   - [`Count`], `w = 1` (`u64`): a multi-label token counts once for
//!     *every* label it carries, so `Σ_c n_jc ≥ F_j` (concept-purity,
//!     feature-absorption);
//!   - [`SplitEqually`], `w = 1/|L_t|` (`f64`): each labelled firing adds 1
//!     in total, split equally among the token's labels, so
//!     `Σ_c n_jc = F_j` over labelled tokens (concept-entropy);
//! - per-latent tallies ([`LabelStats::map_latents`] with [`LabelTally`]):
//!   each latent's firings `(t, a_tj)` in increasing token order, and a
//!   sparse `[n_labels, width]` counter for the labels of any subset of them
//!   (its top activations, its firings at one level, ...).
//!
//! # Layout and determinism
//!
//! Label columns are computed **label-major**: the tokens of each label
//! (the labels' transpose, [`LatentMajor`] of the label matrix), one
//! cache-resident `[d_sae]` column at a time, never a `d_sae × n_labels`
//! table. Labels go in fixed chunks of [`LABEL_CHUNK`] (never chosen by the
//! thread count) on all cores via [`map_chunks`]; within a chunk the labels
//! run in increasing order and each column sums its tokens in increasing
//! token order. The caller gets one fold state per chunk, in chunk order:
//! merging them in that order gives the same bits on any number of threads.
//! Firing counts are integers, summed over fixed token chunks of
//! [`TOKEN_CHUNK`]. Per-latent maps are independent per latent.

use std::ops::AddAssign;
use std::sync::OnceLock;

use anyhow::{Result, ensure};
use rdpbench_sdk::data::CsrView;

use crate::latent_major::{Firing, LatentMajor};
use crate::parallel::map_chunks;

/// Tokens per parallel chunk of the firing counts.
pub const TOKEN_CHUNK: usize = 32_768;
/// Labels per parallel chunk of [`LabelStats::fold_label_columns`]: one fold
/// state per chunk (part of the reduction order a caller's merge sees).
pub const LABEL_CHUNK: usize = 8;
/// Latents per parallel chunk of [`LabelStats::map_latents`] (scheduling
/// only: every latent's result is independent of it).
pub const LATENT_CHUNK: usize = 512;

/// Which tokens [`LabelStats::firing_counts`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// Every token.
    All,
    /// Only tokens that carry at least one label.
    Labelled,
}

/// How a firing on token `t` is weighted in a label column, as a function
/// of `|L_t|`, the number of labels on `t` (at least 1 wherever it is used).
pub trait Weighting: Copy + Sync {
    /// The column's element type.
    type Value: Copy + Default + AddAssign + Send;
    /// The weight of one firing on a token with `n_labels` labels.
    fn weight(self, n_labels: usize) -> Self::Value;
}

/// `w = 1`: a token counts once towards every label it carries (exact `u64`
/// counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count;

impl Weighting for Count {
    type Value = u64;
    #[inline]
    fn weight(self, _n_labels: usize) -> u64 {
        1
    }
}

/// `w = 1 / |L_t|` (`f64`): a token's one firing is split equally among its
/// labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitEqually;

impl Weighting for SplitEqually {
    type Value = f64;
    #[inline]
    fn weight(self, n_labels: usize) -> f64 {
        1.0 / n_labels as f64
    }
}

/// Codes and labels over the same tokens, with the label statistics of the
/// module docs. Cheap to build: the labels' transpose is made on first use.
#[derive(Debug)]
pub struct LabelStats<'a> {
    codes: CsrView<'a>,
    labels: CsrView<'a>,
    by_label: OnceLock<LatentMajor>,
}

impl<'a> LabelStats<'a> {
    /// Checks that `codes` (`[n_tokens, d_sae]`) and `labels`
    /// (`[n_tokens, n_labels]`) have the same rows and that token ids fit
    /// in `u32`.
    pub fn new(codes: CsrView<'a>, labels: CsrView<'a>) -> Result<Self> {
        ensure!(
            codes.n_rows == labels.n_rows,
            "codes have {} rows but labels have {}",
            codes.n_rows,
            labels.n_rows
        );
        ensure!(codes.n_rows <= u32::MAX as usize, "more than 2^32 tokens");
        Ok(Self {
            codes,
            labels,
            by_label: OnceLock::new(),
        })
    }

    /// Number of tokens (rows).
    pub fn n_tokens(&self) -> usize {
        self.codes.n_rows
    }

    /// Number of latents (`d_sae`, the codes' columns).
    pub fn n_latents(&self) -> usize {
        self.codes.n_cols
    }

    /// Number of labels (the labels' columns).
    pub fn n_labels(&self) -> usize {
        self.labels.n_cols
    }

    /// The labels of token `t`, `L_t`, increasing.
    #[inline]
    pub fn labels_of(&self, t: usize) -> &'a [u32] {
        self.labels.row_indices(t)
    }

    /// The latents that fire on token `t` (module docs), increasing.
    #[inline]
    pub fn firing(&self, t: usize) -> impl Iterator<Item = usize> + 'a {
        let idx = self.codes.row_indices(t);
        let vals = self.codes.row_values(t);
        idx.iter()
            .enumerate()
            .filter(move |&(k, _)| vals.is_none_or(|v| v[k] > 0.0))
            .map(|(_, &j)| j as usize)
    }

    /// `[d_sae]` firing counts `F_j` over the tokens selected by `on`.
    pub fn firing_counts(&self, on: Tokens) -> Vec<u64> {
        let f = self.n_latents();
        let mut total = vec![0u64; f];
        for part in map_chunks(self.n_tokens(), TOKEN_CHUNK, |tokens| {
            let mut c = vec![0u32; f];
            for t in tokens.filter(|&t| on == Tokens::All || !self.labels_of(t).is_empty()) {
                self.firing(t).for_each(|j| c[j] += 1);
            }
            c
        }) {
            total
                .iter_mut()
                .zip(&part)
                .for_each(|(a, &b)| *a += b as u64);
        }
        total
    }

    /// `[n_labels]` marginals `n_c`: the number of tokens carrying label `c`.
    pub fn label_counts(&self) -> Vec<u64> {
        let mut n_c = vec![0u64; self.n_labels()];
        for t in 0..self.n_tokens() {
            for &c in self.labels_of(t) {
                n_c[c as usize] += 1;
            }
        }
        n_c
    }

    /// The tokens carrying label `c`, increasing.
    pub fn tokens_with_label(&self, c: usize) -> &[u32] {
        self.by_label().tokens(c)
    }

    fn by_label(&self) -> &LatentMajor {
        self.by_label
            .get_or_init(|| LatentMajor::build(&self.labels, Firing::Stored))
    }

    /// Folds the label columns `n_·c` (module docs, weighted by
    /// `weighting`) of every label `c` with `include(c)`: labels split into
    /// fixed chunks of [`LABEL_CHUNK`]; per chunk, `init()` makes a state and
    /// `fold(&mut state, c, column)` sees each included label's `[d_sae]`
    /// column in increasing `c` (the column is all zeros again before the
    /// next label). Returns the states in chunk order; merge them in that
    /// order for thread-count-independent bits. An excluded label costs
    /// nothing and is not folded.
    pub fn fold_label_columns<W: Weighting, S: Send>(
        &self,
        weighting: W,
        include: impl Fn(usize) -> bool + Sync,
        init: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, usize, &[W::Value]) + Sync,
    ) -> Vec<S> {
        let by_label = self.by_label();
        let f = self.n_latents();
        map_chunks(self.n_labels(), LABEL_CHUNK, |labels| {
            let mut column = vec![W::Value::default(); f];
            let mut state = init();
            for c in labels.filter(|&c| include(c)) {
                for &t in by_label.tokens(c) {
                    let w = weighting.weight(self.labels_of(t as usize).len());
                    self.firing(t as usize).for_each(|j| column[j] += w);
                }
                fold(&mut state, c, &column);
                column.fill(W::Value::default());
            }
            state
        })
    }

    /// Maps every latent's firings, in latent order: `f(&mut scratch,
    /// firings)` per latent, with one `scratch = init()` per chunk of
    /// [`LATENT_CHUNK`] latents (e.g. a [`LabelTally`], cleared by `f` after
    /// use). Builds the codes' transpose ([`LatentMajor`] of the firings,
    /// `O(nnz(codes))`) once per call.
    pub fn map_latents<S, T: Send>(
        &self,
        init: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, LatentFirings<'_>) -> T + Sync,
    ) -> Vec<T> {
        let by_latent = LatentMajor::build(&self.codes, Firing::Positive);
        map_chunks(self.n_latents(), LATENT_CHUNK, |latents| {
            let mut scratch = init();
            latents
                .map(|j| {
                    let firings = LatentFirings {
                        latent: j,
                        tokens: by_latent.tokens(j),
                        values: by_latent.values(j),
                    };
                    f(&mut scratch, firings)
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }
}

/// One latent's firings: the tokens it fires on (increasing) and its codes
/// there (all `> 0`; 1.0 for pattern-only codes).
#[derive(Debug, Clone, Copy)]
pub struct LatentFirings<'a> {
    pub latent: usize,
    pub tokens: &'a [u32],
    pub values: &'a [f32],
}

/// Sparse `[n_labels, width]` counter of the labels of some tokens: `width`
/// slots per label (1 for plain counts; e.g. one per activation level for
/// level histograms). Clearing touches only the labels seen, so one tally
/// serves many latents at `O(labels seen)` each.
#[derive(Debug, Clone)]
pub struct LabelTally {
    width: usize,
    counts: Vec<u64>,
    touched: Vec<u32>,
}

impl LabelTally {
    /// An all-zero tally of `n_labels` labels with `width ≥ 1` slots each.
    pub fn new(n_labels: usize, width: usize) -> Self {
        assert!(width >= 1, "a label tally needs at least one slot");
        Self {
            width,
            counts: vec![0; n_labels * width],
            touched: Vec::new(),
        }
    }

    /// Adds 1 to slot `slot` of every label in `labels` (a token's `L_t`:
    /// a multi-label token counts once for each of its labels).
    #[inline]
    pub fn add(&mut self, labels: &[u32], slot: usize) {
        let w = self.width;
        for &c in labels {
            let row = &mut self.counts[c as usize * w..(c as usize + 1) * w];
            if row.iter().all(|&x| x == 0) {
                self.touched.push(c);
            }
            row[slot] += 1;
        }
    }

    /// Label `c`'s `[width]` counts.
    #[inline]
    pub fn row(&self, c: usize) -> &[u64] {
        &self.counts[c * self.width..(c + 1) * self.width]
    }

    /// The labels with a non-zero count, in the order first seen.
    pub fn touched(&self) -> &[u32] {
        &self.touched
    }

    /// The largest row total `max_c Σ_slot count(c, slot)` (0 when empty).
    pub fn max_total(&self) -> u64 {
        self.touched
            .iter()
            .map(|&c| self.row(c as usize).iter().sum::<u64>())
            .max()
            .unwrap_or(0)
    }

    /// Back to all zeros.
    pub fn clear(&mut self) {
        let w = self.width;
        for &c in &self.touched {
            self.counts[c as usize * w..(c as usize + 1) * w].fill(0);
        }
        self.touched.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};

    /// 4 tokens, 3 latents, 2 labels. Latent 1's code on t1 is negative (no
    /// firing); t1 carries both labels, t3 none.
    ///
    /// | t | codes (j0, j1, j2) | labels |
    /// |---|---|---|
    /// | 0 | 1, 0, 2   | {c0}     |
    /// | 1 | 0.5, −1, 0 | {c0, c1} |
    /// | 2 | 0, 3, 1   | {c1}     |
    /// | 3 | 2, 0, 0   | {}       |
    fn tiny() -> (CsrMatrix, CsrMatrix) {
        let codes = DenseMatrix::from_vec(
            4,
            3,
            vec![1.0, 0.0, 2.0, 0.5, -1.0, 0.0, 0.0, 3.0, 1.0, 2.0, 0.0, 0.0],
        )
        .unwrap();
        let labels =
            DenseMatrix::from_vec(4, 2, vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
        let mut labels = CsrMatrix::from_dense(&labels.view());
        labels.values.clear();
        (CsrMatrix::from_dense(&codes.view()), labels)
    }

    fn columns<W: Weighting>(s: &LabelStats<'_>, w: W, include: &[bool]) -> Vec<Vec<W::Value>> {
        s.fold_label_columns(
            w,
            |c| include[c],
            Vec::new,
            |acc: &mut Vec<Vec<W::Value>>, _, col| acc.push(col.to_vec()),
        )
        .concat()
    }

    #[test]
    fn counts_on_a_hand_computed_case() {
        let (codes, labels) = tiny();
        let s = LabelStats::new(codes.view(), labels.view()).unwrap();
        assert_eq!((s.n_tokens(), s.n_latents(), s.n_labels()), (4, 3, 2));
        // j0 fires on t0, t1, t3; j1 on t2 only; j2 on t0, t2.
        assert_eq!(s.firing(1).collect::<Vec<_>>(), vec![0]);
        assert_eq!(s.firing_counts(Tokens::All), vec![3, 1, 2]);
        assert_eq!(s.firing_counts(Tokens::Labelled), vec![2, 1, 2]);
        assert_eq!(s.label_counts(), vec![2, 2]);
        assert_eq!(s.tokens_with_label(1), &[1, 2]);
        // c0 on t0, t1; c1 on t1, t2.
        assert_eq!(
            columns(&s, Count, &[true, true]),
            vec![vec![2, 0, 1], vec![1, 1, 1]]
        );
        // t1 weighs 1/2 for each of its two labels.
        let split = columns(&s, SplitEqually, &[true, true]);
        assert_eq!(split, vec![vec![1.5, 0.0, 1.0], vec![0.5, 1.0, 1.0]]);
        // Σ_c n_jc = F_j over labelled tokens.
        for j in 0..3 {
            assert_eq!(split[0][j] + split[1][j], [2.0, 1.0, 2.0][j]);
        }
        // An excluded label is not folded.
        assert_eq!(columns(&s, Count, &[false, true]), vec![vec![1, 1, 1]]);
    }

    #[test]
    fn pattern_only_codes_fire_on_every_stored_entry() {
        let (mut codes, labels) = tiny();
        codes.values.clear();
        let s = LabelStats::new(codes.view(), labels.view()).unwrap();
        assert_eq!(s.firing(1).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(s.firing_counts(Tokens::All), vec![3, 2, 2]);
        assert_eq!(
            columns(&s, Count, &[true, true]),
            vec![vec![2, 1, 1], vec![1, 2, 1]]
        );
    }

    #[test]
    fn per_latent_tallies() {
        let (codes, labels) = tiny();
        let s = LabelStats::new(codes.view(), labels.view()).unwrap();
        // Per latent: (tokens, values, label tally over all its firings).
        let got = s.map_latents(
            || LabelTally::new(2, 1),
            |tally, l| {
                l.tokens
                    .iter()
                    .for_each(|&t| tally.add(s.labels_of(t as usize), 0));
                let rows = (tally.row(0)[0], tally.row(1)[0], tally.max_total());
                tally.clear();
                (l.latent, l.tokens.to_vec(), l.values.to_vec(), rows)
            },
        );
        assert_eq!(
            got,
            vec![
                (0, vec![0, 1, 3], vec![1.0, 0.5, 2.0], (2, 1, 2)),
                (1, vec![2], vec![3.0], (0, 1, 1)),
                (2, vec![0, 2], vec![2.0, 1.0], (1, 1, 1)),
            ]
        );
    }

    #[test]
    fn tally_slots_touched_order_and_clear() {
        let mut t = LabelTally::new(3, 2);
        t.add(&[2], 1);
        t.add(&[0, 2], 0);
        t.add(&[0], 0);
        assert_eq!(t.touched(), &[2, 0]);
        assert_eq!(
            (t.row(0), t.row(1), t.row(2)),
            (&[2, 0][..], &[0, 0][..], &[1, 1][..])
        );
        assert_eq!(t.max_total(), 2);
        t.clear();
        assert!(t.touched().is_empty());
        assert_eq!(t.max_total(), 0);
        assert!((0..3).all(|c| t.row(c) == [0, 0]));
    }

    #[test]
    fn mismatched_rows_are_an_error() {
        let (codes, _) = tiny();
        let labels = CsrMatrix::with_cols(2);
        let err = LabelStats::new(codes.view(), labels.view()).unwrap_err();
        assert_eq!(err.to_string(), "codes have 4 rows but labels have 0");
    }
}
