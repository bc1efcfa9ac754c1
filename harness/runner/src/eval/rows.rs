//! Where `rdpbench eval` reads activation rows from: a tensor file
//! ([`TensorFile`]: `.safetensors` or `.npy`) or an rdpbench activation
//! cache folder (`rdpbench lm extract`: every shard's rows in order, one
//! shard in memory at a time, checksums verified). A cache also carries
//! per-token labels (`token_label`, −1 for none), used when `--labels` is
//! not given.

use super::tensor_file::TensorFile;
use anyhow::{Result, ensure};
use rdpbench_lm::activation_cache::{Manifest, Shard, read_manifest, read_shard};
use rdpbench_sdk::CsrMatrix;
use std::path::{Path, PathBuf};

/// An open source of `[N, d_in]` rows.
#[derive(Debug)]
pub enum Rows {
    File(TensorFile),
    Cache(Box<CacheRows>),
}

/// An activation cache read shard by shard.
#[derive(Debug)]
pub struct CacheRows {
    dir: PathBuf,
    manifest: Manifest,
    /// First row of each shard.
    starts: Vec<usize>,
    current: Option<(usize, Shard)>,
}

impl CacheRows {
    fn shard(&mut self, i: usize) -> Result<&Shard> {
        if self.current.as_ref().map(|(j, _)| *j) != Some(i) {
            let s = read_shard(&self.dir, &self.manifest, i)?;
            self.current = Some((i, s));
        }
        Ok(&self.current.as_ref().expect("just read").1)
    }

    /// Calls `f(shard, first row in shard, rows)` for the pieces of
    /// `start..start + rows`.
    fn each_piece(
        &mut self,
        start: usize,
        rows: usize,
        mut f: impl FnMut(&Shard, usize, usize),
    ) -> Result<()> {
        let mut at = start;
        let end = start + rows;
        while at < end {
            let i = self.starts.partition_point(|&s| s <= at) - 1;
            let shard_end = self.starts[i] + self.manifest.shards[i].n_tokens;
            let take = end.min(shard_end) - at;
            let offset = at - self.starts[i];
            let shard = self.shard(i)?;
            f(shard, offset, take);
            at += take;
        }
        Ok(())
    }
}

impl Rows {
    /// A cache folder (it has `manifest.json`) or a tensor file.
    pub fn open(path: &Path, key: Option<&str>) -> Result<Self> {
        if path.is_dir() {
            ensure!(
                key.is_none(),
                "{}: --key applies to tensor files, not an activation cache",
                path.display()
            );
            let manifest = read_manifest(path)?;
            ensure!(
                !manifest.shards.is_empty(),
                "activation cache {}: no shard",
                path.display()
            );
            let mut starts = Vec::with_capacity(manifest.shards.len());
            let mut n = 0;
            for s in &manifest.shards {
                starts.push(n);
                n += s.n_tokens;
            }
            return Ok(Rows::Cache(Box::new(CacheRows {
                dir: path.to_path_buf(),
                manifest,
                starts,
                current: None,
            })));
        }
        TensorFile::open(path, key).map(Rows::File)
    }

    /// `(N, d_in)`, or an error naming the file when it is not `[N, d_in]` floats.
    pub fn shape(&self) -> Result<(usize, usize)> {
        match self {
            Rows::File(t) => {
                ensure!(
                    t.shape.len() == 2 && t.dtype.is_float(),
                    "{}: activations must be a [N, d_in] float tensor; found {} of shape {:?}",
                    t.path.display(),
                    t.dtype.name(),
                    t.shape
                );
                Ok((t.shape[0], t.shape[1]))
            }
            Rows::Cache(c) => Ok((
                c.manifest.shards.iter().map(|s| s.n_tokens).sum(),
                c.manifest.d_model,
            )),
        }
    }

    /// `(format, key, dtype)` for the results file.
    pub fn describe(&self) -> (String, String, String) {
        match self {
            Rows::File(t) => (t.format.into(), t.key.clone(), t.dtype.name().into()),
            Rows::Cache(_) => ("cache".into(), String::new(), "f32".into()),
        }
    }

    /// Rows `start..start + rows` as `f32`.
    pub fn read_f32(&mut self, start: usize, rows: usize) -> Result<Vec<f32>> {
        match self {
            Rows::File(t) => t.read_f32(start, rows),
            Rows::Cache(c) => {
                let d = c.manifest.d_model;
                let mut out = Vec::with_capacity(rows * d);
                c.each_piece(start, rows, |s, off, take| {
                    out.extend_from_slice(&s.activations[off * d..(off + take) * d]);
                })?;
                Ok(out)
            }
        }
    }

    /// A cache's per-token labels of the first `keep` rows, one-hot
    /// `[keep, n_labels]`; `None` for a tensor file.
    pub fn labels(&mut self, keep: usize) -> Result<Option<CsrMatrix>> {
        let Rows::Cache(c) = self else {
            return Ok(None);
        };
        let n_labels = c.manifest.token_label_names.len();
        let mut m = CsrMatrix::with_cols(n_labels);
        c.each_piece(0, keep, |s, off, take| {
            for &l in &s.token_label[off..off + take] {
                if l >= 0 && (l as usize) < n_labels {
                    m.push_row([(l as u32, 1.0)]);
                } else {
                    m.push_row(std::iter::empty());
                }
            }
        })?;
        Ok(Some(m))
    }
}
