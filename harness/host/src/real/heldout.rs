//! The held-out evaluation set: whole held-out documents in a seeded order,
//! capped at `eval_tokens` tokens, with token-level concept labels.

use super::source::open_manifest;
use super::split::DocumentSplit;
use anyhow::{Context, Result, ensure};
use rdpbench_core::rng::Rng;
use rdpbench_lm::activation_cache::read_shard;
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
    let (_, mut docs) = split.documents(&manifest);
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
            .with_context(|| format!("activation cache {}: shard {}", dir.display(), s.file))?;
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
