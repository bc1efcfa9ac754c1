//! The held-out evaluation set: whole held-out documents in a seeded order,
//! capped at `eval_tokens` tokens, with token-level concept labels.

use super::source::open_manifest;
use anyhow::{Context, Result, ensure};
use rdpbench_core::rng::Rng;
use rdpbench_lm::activation_cache::read_shard;
use rdpbench_schema::results::real::DocumentSplit;
use rdpbench_sdk::{CsrMatrix, DenseMatrix};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// Stream tag of the held-out document order ("HELD").
const HELD_OUT_TAG: u64 = 0x4845_4c44;

/// Held-out rows, grouped by document (the bootstrap's resampling unit).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOut {
    /// Activations `[n_tokens, d_model]`, multiplied by the training scale.
    pub activations: DenseMatrix,
    /// One-hot token labels `[n_tokens, n_labels]` (CSR, values 1.0): the
    /// cache's `token_label` (Brown: coarse POS); a token without a label
    /// (−1) has an empty row.
    pub labels: CsrMatrix,
    /// Rows of each document, contiguous and in order.
    pub units: Vec<Range<usize>>,
    /// The cache document index of each unit.
    pub documents: Vec<u32>,
}

impl HeldOut {
    pub fn n_tokens(&self) -> usize {
        self.activations.rows
    }

    /// The first `n` rows (all of them when `n` is larger), with their
    /// labels and the documents they come from (the last one possibly cut).
    pub fn first_rows(&self, n: usize) -> HeldOut {
        let n = n.min(self.n_tokens());
        let d = self.activations.cols;
        let l = &self.labels;
        let nnz = l.indptr[n] as usize;
        let mut units = Vec::new();
        let mut documents = Vec::new();
        for (unit, &doc) in self.units.iter().zip(&self.documents) {
            if unit.start >= n {
                break;
            }
            units.push(unit.start..unit.end.min(n));
            documents.push(doc);
        }
        HeldOut {
            activations: DenseMatrix {
                rows: n,
                cols: d,
                data: self.activations.data[..n * d].to_vec(),
            },
            labels: CsrMatrix {
                n_rows: n,
                n_cols: l.n_cols,
                indptr: l.indptr[..=n].to_vec(),
                indices: l.indices[..nnz].to_vec(),
                values: l.values[..nnz].to_vec(),
            },
            units,
            documents,
        }
    }
}

/// Loads the held-out set of the cache in `dir`: its held-out documents in
/// the order `Rng::derive(seed, [HELD_OUT_TAG])` shuffles them into, whole,
/// until `max_tokens` tokens (the last document is cut there), each row
/// multiplied by `scale`.
pub fn load_held_out(
    dir: &Path,
    split: DocumentSplit,
    max_tokens: usize,
    seed: u64,
    scale: f32,
) -> Result<HeldOut> {
    let manifest = open_manifest(dir)?;
    let (_, mut docs) = split.documents(manifest.n_documents());
    ensure!(
        !docs.is_empty(),
        "activation cache {}: no held-out document (documents 0..{} with held_out_every = {}); \
         extract more tokens or lower [real].held_out_every",
        dir.display(),
        manifest.shards.last().map_or(0, |s| s.doc_end),
        split.held_out_every
    );
    Rng::derive(seed, &[HELD_OUT_TAG]).shuffle(&mut docs);
    // Which documents to take, before reading: by the shards' token counts
    // we do not know per-document lengths, so read shards holding any
    // held-out document and collect the rows of each.
    let d = manifest.d_model;
    let mut rows_of: BTreeMap<u32, (Vec<f32>, Vec<i32>)> = BTreeMap::new();
    for (i, s) in manifest.shards.iter().enumerate() {
        if !(s.doc_start..s.doc_end).any(|doc| split.is_held_out(doc as u32)) {
            continue;
        }
        let shard = read_shard(dir, &manifest, i)
            .with_context(|| format!("activation cache {}: shard {}", dir.display(), s.file))
            .map_err(rdpbench_schema::exit::usage_error)?;
        for (t, &doc) in shard.doc_index.iter().enumerate() {
            let x = &shard.activations[t * d..(t + 1) * d];
            if split.is_held_out(doc) && split.keeps_row(shard.position[t], x) {
                let e = rows_of.entry(doc).or_default();
                e.0.extend(x.iter().map(|v| v * scale));
                e.1.push(shard.token_label[t]);
            }
        }
    }
    let n_labels = manifest.token_label_names.len();
    let mut data = Vec::new();
    let mut labels = CsrMatrix::with_cols(n_labels);
    let (mut units, mut documents) = (Vec::new(), Vec::new());
    let mut n = 0;
    for doc in docs {
        if n == max_tokens {
            break;
        }
        let Some((x, l)) = rows_of.get(&doc) else {
            continue;
        };
        let take = l.len().min(max_tokens - n);
        if take == 0 {
            continue;
        }
        data.extend_from_slice(&x[..take * d]);
        for &label in &l[..take] {
            ensure!(
                label < n_labels as i32,
                "activation cache {}: token label {label} of document {doc} is outside the \
                 manifest's {n_labels} token_label_names",
                dir.display()
            );
            labels.push_row((label >= 0).then_some((label as u32, 1.0)));
        }
        units.push(n..n + take);
        documents.push(doc);
        n += take;
    }
    Ok(HeldOut {
        activations: DenseMatrix::from_vec(n, d, data)?,
        labels,
        units,
        documents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_rows_cuts_rows_labels_and_documents_together() {
        let mut labels = CsrMatrix::with_cols(3);
        for l in [Some(0u32), None, Some(2), Some(1), Some(0)] {
            labels.push_row(l.map(|c| (c, 1.0)));
        }
        let held = HeldOut {
            activations: DenseMatrix::from_vec(5, 2, (0..10).map(|v| v as f32).collect()).unwrap(),
            labels,
            units: vec![0..2, 2..5],
            documents: vec![9, 4],
        };
        let cut = held.first_rows(3);
        assert_eq!(cut.activations.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(cut.labels.n_rows, 3);
        assert_eq!(cut.labels.indptr, vec![0, 1, 1, 2]);
        assert_eq!(cut.labels.indices, vec![0, 2]);
        assert_eq!(cut.units, vec![0..2, 2..3]);
        assert_eq!(cut.documents, vec![9, 4]);
        assert_eq!(held.first_rows(2).documents, vec![9]);
        assert_eq!(held.first_rows(99), held);
    }
}
