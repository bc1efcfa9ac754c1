//! The background of a planted run, and planted rows as a training stream.
//!
//! The background is read once into memory: training rows (from the
//! cache's training split, in the seeded, document-mixing order of
//! [`crate::real::CacheSource`], or the synthetic draw's first rows) and
//! held-out rows (the cache's held-out documents, or the synthetic draw's
//! rows after the training ones). Both are divided by `s = magnitude ·
//! mean training norm`, so the planted part is in toy units.

use crate::real::{CacheTrainingSet, load_held_out};
use anyhow::{Context, Result, ensure};
use rdpbench_core::planted::{
    BackgroundStats, Planting, PlantingSubspace, planting_basis, synthetic_background,
};
use rdpbench_core::toy::ToyModel;
use rdpbench_schema::results::planted::{BackgroundInfo, PlantingInfo};
use rdpbench_schema::results::real::DocumentSplit;
use rdpbench_schema::settings::{PlantedSettings, RealSettings};
use rdpbench_sdk::BatchSource;
use rdpbench_sdk::data::DenseMatrix;
use std::path::Path;

/// Where the background comes from.
#[derive(Debug, Clone)]
pub enum BackgroundSource<'a> {
    /// An activation cache (`rdpbench lm extract`), split as `[real]` says.
    Cache(&'a Path),
    /// The synthetic heavy-tailed background of `[planted].synthetic_*`.
    Synthetic { seed: u64 },
}

/// The background in toy units.
#[derive(Debug, Clone)]
pub struct Background {
    /// `[train_rows, d]`, divided by `s`.
    pub train: DenseMatrix,
    /// `[eval_rows, d]`, divided by `s`.
    pub eval: DenseMatrix,
    pub info: BackgroundInfo,
}

impl Background {
    /// Reads (or draws) the background and divides it by `s`.
    pub fn load(
        source: &BackgroundSource<'_>,
        settings: &PlantedSettings,
        real: &RealSettings,
    ) -> Result<Self> {
        let (train, eval, kind, described) = match source {
            BackgroundSource::Synthetic { seed } => {
                let n = settings.synthetic_rows;
                ensure!(
                    n > settings.eval_rows,
                    "[planted].synthetic_rows = {n} leaves no training rows beside eval_rows = {}",
                    settings.eval_rows
                );
                let all = synthetic_background(n, settings.synthetic_d, *seed)?;
                let n_train = (n - settings.eval_rows).min(settings.train_rows);
                let d = all.cols;
                let train = DenseMatrix::from_vec(n_train, d, all.data[..n_train * d].to_vec())?;
                let eval = DenseMatrix::from_vec(
                    settings.eval_rows,
                    d,
                    all.data[(n - settings.eval_rows) * d..].to_vec(),
                )?;
                (
                    train,
                    eval,
                    "synthetic",
                    format!(
                        "synthetic heavy-tailed background: {n} rows, d = {d}, seed {seed} \
                         (t(3) scale mixture, power-law spectrum, offset)"
                    ),
                )
            }
            BackgroundSource::Cache(dir) => {
                let split = DocumentSplit {
                    held_out_every: real.held_out_every,
                    min_position: real.min_position,
                    max_norm: None,
                };
                let set = CacheTrainingSet::open(
                    dir,
                    split,
                    real.outlier_norm_factor,
                    real.resident_bytes,
                )?;
                let d = set.manifest().d_model;
                let mut stream = set.stream(settings.seed);
                let mut rows = vec![0.0f32; settings.train_rows * d];
                let mut filled = 0;
                while filled < settings.train_rows {
                    let want = (settings.train_rows - filled).min(4096);
                    let got =
                        stream.next_batch(&mut rows[filled * d..(filled + want) * d], want)?;
                    ensure!(
                        got > 0,
                        "activation cache {}: no training rows",
                        dir.display()
                    );
                    filled += got;
                }
                let train = DenseMatrix::from_vec(settings.train_rows, d, rows)?;
                let held = load_held_out(
                    dir,
                    set.split(),
                    settings.eval_rows,
                    settings.seed,
                    set.scale(),
                )?;
                ensure!(
                    held.n_tokens() >= settings.eval_rows,
                    "activation cache {}: {} held-out rows, [planted].eval_rows asks for {}",
                    dir.display(),
                    held.n_tokens(),
                    settings.eval_rows
                );
                (train, held.activations, "cache", dir.display().to_string())
            }
        };
        let stats = BackgroundStats::of(&train).context("the background's training rows")?;
        let scale = settings.magnitude * stats.mean_norm;
        let divide = |mut m: DenseMatrix| {
            let inv = (1.0 / scale) as f32;
            for v in &mut m.data {
                *v *= inv;
            }
            m
        };
        Ok(Self {
            info: BackgroundInfo {
                kind: kind.into(),
                source: described,
                n_train_rows: train.rows,
                n_eval_rows: eval.rows,
                stats,
                scale,
            },
            train: divide(train),
            eval: divide(eval),
        })
    }

    /// `d`.
    pub fn d(&self) -> usize {
        self.train.cols
    }

    /// The planting of `m`-dimensional toys into this background (in toy
    /// units: `s = 1`), the basis computed on the training rows.
    pub fn planting(
        &self,
        m: usize,
        subspace: PlantingSubspace,
        settings: &PlantedSettings,
    ) -> Result<Planting> {
        let basis = planting_basis(&self.train, m, subspace, settings.seed)
            .with_context(|| format!("[planted].subspace = {subspace}"))?;
        let stats = BackgroundStats::of(&self.train)?;
        Planting::new(basis, settings.magnitude, &stats)
    }
}

/// The planting's record for `planted.json`.
pub fn planting_info(p: &Planting) -> PlantingInfo {
    PlantingInfo {
        subspace: p.subspace.choice,
        dim: p.d_toy(),
        variance_ratio: p.subspace.variance_ratio,
    }
}

/// Planted training rows: background row `order[t mod n]` plus toy row `t`
/// of the draw `data_seed`, `Σ_i c_ti v_i` over its present concepts with
/// the planted directions `v_i` (`O(nnz · d)` per batch). A pure function
/// of (background, model, planting, data seed, order).
#[derive(Debug)]
pub struct PlantedSource<'a> {
    pub background: &'a DenseMatrix,
    pub model: &'a ToyModel,
    pub planting: &'a Planting,
    /// `v_i = u_i B`, `[n_concepts, d]`.
    pub directions: DenseMatrix,
    pub data_seed: u64,
    pub order: Vec<usize>,
    pub next: u64,
}

impl<'a> PlantedSource<'a> {
    /// A stream from the start of `data_seed`, background rows in `order`.
    pub fn new(
        background: &'a DenseMatrix,
        model: &'a ToyModel,
        planting: &'a Planting,
        data_seed: u64,
        order: Vec<usize>,
    ) -> Result<Self> {
        ensure!(!order.is_empty(), "planted training needs background rows");
        Ok(Self {
            directions: planting.embed(model.directions())?,
            background,
            model,
            planting,
            data_seed,
            order,
            next: 0,
        })
    }
}

impl BatchSource for PlantedSource<'_> {
    fn d_in(&self) -> usize {
        self.planting.d()
    }
    fn next_batch(&mut self, out: &mut [f32], rows: usize) -> Result<usize> {
        let d = self.planting.d();
        let toy = self.model.sample(self.data_seed, self.next, rows);
        let signal = toy.noiseless(&self.directions);
        let n = self.order.len() as u64;
        let s = self.planting.scale;
        for r in 0..rows {
            let bg = self
                .background
                .row(self.order[((self.next + r as u64) % n) as usize]);
            for ((o, &x), &v) in out[r * d..(r + 1) * d]
                .iter_mut()
                .zip(bg)
                .zip(signal.row(r))
            {
                *o = (x as f64 + s * v as f64) as f32;
            }
        }
        self.next += rows as u64;
        Ok(rows)
    }
}
