//! [`CacheSource`]: the training split of an activation cache as a
//! [`BatchSource`] for SAE plugins.
//!
//! Rows stream shard by shard in manifest order, cycling; within a shard the
//! training rows come in a seeded permutation that differs per pass
//! (`Rng::derive(seed, [SOURCE_TAG, pass, shard])`), so batches mix documents
//! of the shard while the stream stays a pure function of (cache, split,
//! seed). Held-out documents' rows are never emitted. Every row is multiplied
//! by the activation scale `s = √d / mean_t ‖x_t‖` (mean over the training
//! rows of the first shard that has any), so that `E‖s·x‖ ≈ √d` and the same
//! sparsity coefficients suit any layer or model.
//!
//! A cache whose training rows fit in `resident_bytes` is decoded once and
//! kept in memory (shared by every SAE of a sweep); larger caches are read
//! (and their SHA-256 verified) shard by shard on every pass.

use anyhow::{Context, Result, ensure};
use rdpbench_core::rng::Rng;
use rdpbench_lm::activation_cache::{Manifest, ensure_readable, read_manifest, read_shard};
use rdpbench_schema::exit::usage_error;
use rdpbench_schema::results::real::DocumentSplit;
use rdpbench_sdk::BatchSource;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Stream tag of the within-shard permutations ("SRC").
const SOURCE_TAG: u64 = 0x0053_5243;

/// Reads the manifest of `dir`, naming the folder on failure and refusing an
/// empty, incomplete or other-version cache. A bad cache is bad input:
/// its errors are usage errors (exit 2) in every command.
pub fn open_manifest(dir: &Path) -> Result<Manifest> {
    let open = || -> Result<Manifest> {
        let m = read_manifest(dir)
            .with_context(|| format!("activation cache {}: no readable manifest", dir.display()))?;
        ensure_readable(dir, &m)?;
        ensure!(
            !m.shards.is_empty(),
            "activation cache {}: the manifest lists no shard",
            dir.display()
        );
        Ok(m)
    };
    open().map_err(usage_error)
}

/// Training rows of shard `i` (scaled by `scale`), row-major `[n, d]`, in
/// file order. Errors name the cache folder and shard file.
pub fn training_rows(
    dir: &Path,
    manifest: &Manifest,
    split: DocumentSplit,
    i: usize,
    scale: f32,
) -> Result<Vec<f32>> {
    let shard = read_shard(dir, manifest, i)
        .with_context(|| {
            format!(
                "activation cache {}: shard {}",
                dir.display(),
                manifest.shards[i].file
            )
        })
        .map_err(usage_error)?;
    let d = shard.d_model;
    let mut rows = Vec::new();
    for (t, &doc) in shard.doc_index.iter().enumerate() {
        let x = &shard.activations[t * d..(t + 1) * d];
        if !split.is_held_out(doc) && split.keeps_row(shard.position[t], x) {
            rows.extend(x.iter().map(|v| v * scale));
        }
    }
    Ok(rows)
}

/// `√d / mean_t ‖x_t‖` over `rows` (`[n, d]`); 1 when there are no rows or
/// they are all zero.
pub fn activation_scale(rows: &[f32], d: usize) -> f64 {
    let n = rows.len() / d.max(1);
    let total: f64 = rows
        .chunks_exact(d.max(1))
        .map(|r| {
            r.iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt()
        })
        .sum();
    if n == 0 || total <= 0.0 {
        1.0
    } else {
        (d as f64).sqrt() / (total / n as f64)
    }
}

/// The training split of a cache, opened once; [`CacheSource::stream`]
/// starts a fresh stream over it.
#[derive(Debug)]
pub struct CacheTrainingSet {
    dir: PathBuf,
    manifest: Manifest,
    split: DocumentSplit,
    /// Shards holding at least one training row, in manifest order.
    shards: Vec<usize>,
    scale: f32,
    /// Decoded training rows per entry of `shards`, when resident.
    resident: Option<Vec<Arc<Vec<f32>>>>,
}

impl CacheTrainingSet {
    /// Opens `dir`, sets the split's `max_norm` to `outlier_norm_factor` ×
    /// the median row norm of the first training shard (0: no norm filter),
    /// finds the activation scale, and loads the training rows into memory
    /// when they fit in `resident_bytes`.
    pub fn open(
        dir: &Path,
        mut split: DocumentSplit,
        outlier_norm_factor: f64,
        resident_bytes: u64,
    ) -> Result<Self> {
        let manifest = open_manifest(dir)?;
        let shards: Vec<usize> = (0..manifest.shards.len())
            .filter(|&i| {
                let s = &manifest.shards[i];
                (s.doc_start..s.doc_end).any(|d| !split.is_held_out(d as u32))
            })
            .collect();
        ensure!(
            !shards.is_empty(),
            "activation cache {}: no training document (every document is held out)",
            dir.display()
        );
        let d = manifest.d_model;
        split.max_norm = None;
        let first = training_rows(dir, &manifest, split, shards[0], 1.0)?;
        if outlier_norm_factor > 0.0 {
            let mut norms: Vec<f64> = first
                .chunks_exact(d)
                .map(|r| {
                    r.iter()
                        .map(|&v| f64::from(v) * f64::from(v))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect();
            if !norms.is_empty() {
                norms.sort_by(f64::total_cmp);
                split.max_norm = Some((outlier_norm_factor * norms[norms.len() / 2]) as f32);
            }
        }
        let first = training_rows(dir, &manifest, split, shards[0], 1.0)?;
        let scale = activation_scale(&first, d) as f32;
        let train_tokens: u64 = shards
            .iter()
            .map(|&i| manifest.shards[i].n_tokens as u64)
            .sum();
        let resident = if train_tokens * d as u64 * 4 <= resident_bytes {
            let all = shards
                .iter()
                .map(|&i| training_rows(dir, &manifest, split, i, scale).map(Arc::new))
                .collect::<Result<Vec<_>>>()?;
            Some(all)
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            split,
            shards,
            scale,
            resident,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The split with its `max_norm` set (use it for the held-out rows too).
    pub fn split(&self) -> DocumentSplit {
        self.split
    }

    /// The factor every row is multiplied by.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// A fresh stream from the start, seeded by `seed`.
    pub fn stream(&self, seed: u64) -> CacheSource<'_> {
        CacheSource {
            set: self,
            seed,
            pass: 0,
            cursor: 0,
            rows: Arc::new(Vec::new()),
            order: Vec::new(),
            at: 0,
            empty_loads: 0,
        }
    }
}

/// One seeded stream over a [`CacheTrainingSet`] (module docs).
#[derive(Debug)]
pub struct CacheSource<'a> {
    set: &'a CacheTrainingSet,
    seed: u64,
    /// Completed passes over the shards.
    pass: u64,
    /// Next entry of `set.shards` to load.
    cursor: usize,
    /// Rows of the loaded shard and the order they are emitted in.
    rows: Arc<Vec<f32>>,
    order: Vec<usize>,
    at: usize,
    /// Shards loaded in a row that had no training row.
    empty_loads: usize,
}

impl CacheSource<'_> {
    fn load_next_shard(&mut self) -> Result<()> {
        let set = self.set;
        let k = self.cursor;
        let d = set.manifest.d_model;
        self.rows = match &set.resident {
            Some(all) => Arc::clone(&all[k]),
            None => Arc::new(training_rows(
                &set.dir,
                &set.manifest,
                set.split,
                set.shards[k],
                set.scale,
            )?),
        };
        let n = self.rows.len() / d;
        self.order =
            Rng::derive(self.seed, &[SOURCE_TAG, self.pass, set.shards[k] as u64]).permutation(n);
        self.at = 0;
        self.empty_loads = if n == 0 { self.empty_loads + 1 } else { 0 };
        ensure!(
            self.empty_loads <= set.shards.len(),
            "activation cache {}: the training documents hold no token",
            set.dir.display()
        );
        self.cursor += 1;
        if self.cursor == set.shards.len() {
            self.cursor = 0;
            self.pass += 1;
        }
        Ok(())
    }
}

impl BatchSource for CacheSource<'_> {
    fn d_in(&self) -> usize {
        self.set.manifest.d_model
    }

    /// Fills `rows` rows (never exhausted: the stream cycles).
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> Result<usize> {
        let d = self.d_in();
        let mut written = 0;
        while written < rows {
            if self.at == self.order.len() {
                self.load_next_shard()?;
                continue;
            }
            let r = self.order[self.at];
            out[written * d..(written + 1) * d].copy_from_slice(&self.rows[r * d..(r + 1) * d]);
            self.at += 1;
            written += 1;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_scale_hand_computed() {
        // Rows [3, 4] and [0, 0]: norms 5 and 0, mean 2.5; scale = √2 / 2.5.
        let s = activation_scale(&[3.0, 4.0, 0.0, 0.0], 2);
        assert!((s - 2f64.sqrt() / 2.5).abs() < 1e-12);
        assert_eq!(activation_scale(&[], 2), 1.0);
        assert_eq!(activation_scale(&[0.0, 0.0], 2), 1.0);
    }
}
