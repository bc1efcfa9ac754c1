//! The toy data-generating process (CONDITIONS.md §1): a [`ToyModel`] is a pure
//! function of `(config, seed)`; samples are counter-based.
//!
//! ## Random streams
//! - Directions: `Rng::derive(seed, [TAG_DIRECTIONS])`; they depend only on
//!   `(seed, n_concepts, d, directions)`, so presence variants of a config
//!   (independent, `q = 0.9p`, `2p`) keep identical directions.
//! - Sample `i` of the draw `data_seed`: `Rng::derive(seed, [TAG_SAMPLE,
//!   data_seed, i])`. Rows `start..start+count` are therefore identical however
//!   the draw is batched (streaming).
//!
//! ## Per-sample recipe (fixed consumption order)
//! 1. One uniform `u_i` per concept, `i = 0..n`, always drawn.
//! 2. Each group `G` reads the uniform of its first listed member `u`:
//!    `u < q` → all members present; else the interval `[q, q + Σ(p_i − q))` is
//!    cut into consecutive pieces of length `p_i − q` in member order → member
//!    `i` alone; beyond → none. So the first member is present iff `u < p_first`,
//!    exactly as in the independent variant (common random numbers).
//! 3. Concepts outside groups and hierarchies: `z_i = [u_i < p_i]`.
//! 4. Children: `z_c = z_parent ∧ [u_c < p_c / p_parent]`.
//! 5. One magnitude per concept, `i = 0..n`, always drawn (none for constant).
//! 6. `d` standard normals for the noise when `σ > 0`.
//!
//! Then `x = Σ_i z_i c_i v_i + σ ε`, accumulated in `f64` and stored as `f32`.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};

use super::config::{Group, Magnitudes, ToyConfig};
use crate::linalg::{dot, gram_schmidt_rows, haar_orthogonal, normalize, random_unit_vector};
use crate::rng::Rng;

/// Stream tag for the concept directions.
const TAG_DIRECTIONS: u64 = 0x5644_4952; // "VDIR"
/// Stream tag for samples.
const TAG_SAMPLE: u64 = 0x5853_4d50; // "XSMP"

/// How a concept's presence is decided.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Independent,
    /// Member of a co-occurrence group (decided with the group).
    InGroup,
    /// Child of `parent`, present with probability `cond` when the parent is.
    Child {
        parent: usize,
        cond: f64,
    },
}

/// A validated toy model: directions `V: [n_concepts, d]`, marginals, groups.
#[derive(Debug, Clone)]
pub struct ToyModel {
    config: ToyConfig,
    seed: u64,
    directions: DenseMatrix,
    directions_f64: Vec<f64>,
    marginals: Vec<f64>,
    groups: Vec<Group>,
    roles: Vec<Role>,
    orthonormal: bool,
}

/// A block of consecutive samples `start..start+n` of one draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ToySamples {
    /// Index of the first row within the draw.
    pub start: u64,
    /// Observations `x: [n, d]`.
    pub x: DenseMatrix,
    /// Presence `z: [n, n_concepts]`, CSR with explicit values `1.0` on present
    /// concepts (the SDK's label convention), columns ascending.
    pub z: CsrMatrix,
    /// Magnitudes `c: [n, n_concepts]`, CSR with the same pattern as `z`,
    /// values `c_i > 0` of the present concepts.
    pub c: CsrMatrix,
}

impl ToySamples {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.x.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.x.rows == 0
    }

    /// Noiseless signal `Σ_i z_i c_i v_i`, `[n, d]`, accumulated in `f64`.
    pub fn noiseless(&self, directions: &DenseMatrix) -> DenseMatrix {
        let d = directions.cols;
        let mut out = DenseMatrix::zeros(self.c.n_rows, d);
        let mut acc = vec![0.0f64; d];
        let cv = self.c.view();
        for r in 0..self.c.n_rows {
            acc.fill(0.0);
            for (i, ci) in cv.row_iter(r) {
                for (a, &v) in acc.iter_mut().zip(directions.row(i)) {
                    *a += ci as f64 * v as f64;
                }
            }
            for (o, a) in out.row_mut(r).iter_mut().zip(&acc) {
                *o = *a as f32;
            }
        }
        out
    }

    /// Concatenates consecutive blocks (`blocks[k+1].start` must follow
    /// `blocks[k]`).
    pub fn concat(blocks: &[ToySamples]) -> Result<ToySamples> {
        ensure!(!blocks.is_empty(), "concat of no sample blocks");
        let (d, n_concepts) = (blocks[0].x.cols, blocks[0].z.n_cols);
        let mut x = Vec::new();
        let mut z = CsrMatrix::with_cols(n_concepts);
        let mut c = CsrMatrix::with_cols(n_concepts);
        let mut next = blocks[0].start;
        for b in blocks {
            ensure!(
                b.start == next,
                "sample blocks are not consecutive at row {next}"
            );
            ensure!(
                b.x.cols == d && b.z.n_cols == n_concepts,
                "sample blocks differ in shape"
            );
            x.extend_from_slice(&b.x.data);
            let (zv, cv) = (b.z.view(), b.c.view());
            for r in 0..b.len() {
                z.push_row(zv.row_iter(r).map(|(i, v)| (i as u32, v)));
                c.push_row(cv.row_iter(r).map(|(i, v)| (i as u32, v)));
            }
            next += b.len() as u64;
        }
        Ok(ToySamples {
            start: blocks[0].start,
            x: DenseMatrix::from_vec(z.n_rows, d, x)?,
            z,
            c,
        })
    }
}

/// Iterator over consecutive batches of one draw; see [`ToyModel::batches`].
#[derive(Debug, Clone)]
pub struct SampleBatches<'a> {
    model: &'a ToyModel,
    data_seed: u64,
    next: u64,
    end: u64,
    batch: usize,
}

impl Iterator for SampleBatches<'_> {
    type Item = ToySamples;

    fn next(&mut self) -> Option<ToySamples> {
        if self.next >= self.end {
            return None;
        }
        let count = (self.end - self.next).min(self.batch as u64) as usize;
        let out = self.model.sample(self.data_seed, self.next, count);
        self.next += count as u64;
        Some(out)
    }
}

impl ToyModel {
    /// Validates `config` (see [`ToyConfig::resolve`]) and draws the directions
    /// from `seed`.
    pub fn new(config: &ToyConfig, seed: u64) -> Result<Self> {
        let resolved = config.resolve()?;
        let (n, d) = (config.n_concepts, config.d);
        let mut rng = Rng::derive(seed, &[TAG_DIRECTIONS]);
        let orthonormal = n <= d;
        let mut v: Vec<f64> = if orthonormal {
            let q = haar_orthogonal(d, &mut rng);
            q[..n * d].to_vec()
        } else {
            let mut v = Vec::with_capacity(n * d);
            for _ in 0..n {
                v.extend(random_unit_vector(d, &mut rng));
            }
            v
        };
        if orthonormal {
            // Re-orthonormalise to remove the last ulp of drift.
            gram_schmidt_rows(&mut v, n, d);
        } else {
            push_apart(
                &mut v,
                n,
                d,
                config.directions.push_apart_steps,
                config.directions.push_apart_rate,
            );
        }
        let directions = DenseMatrix::from_vec(n, d, v.iter().map(|&x| x as f32).collect())?;
        let mut roles = vec![Role::Independent; n];
        for g in &resolved.groups {
            for &m in &g.members {
                roles[m] = Role::InGroup;
            }
        }
        for h in &config.hierarchy {
            roles[h.child] = Role::Child {
                parent: h.parent,
                cond: (resolved.marginals[h.child] / resolved.marginals[h.parent]).min(1.0),
            };
        }
        Ok(Self {
            config: config.clone(),
            seed,
            directions,
            directions_f64: v,
            marginals: resolved.marginals,
            groups: resolved.groups,
            roles,
            orthonormal,
        })
    }

    /// The same seed with another configuration (e.g. [`ToyConfig::independent`]);
    /// directions are identical when `n_concepts`, `d` and `directions` agree.
    pub fn with_config(&self, config: &ToyConfig) -> Result<Self> {
        Self::new(config, self.seed)
    }

    /// The configuration this model was built from.
    pub fn config(&self) -> &ToyConfig {
        &self.config
    }

    /// The model seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of concepts `n`.
    pub fn n_concepts(&self) -> usize {
        self.config.n_concepts
    }

    /// Observation dimension `d`.
    pub fn d(&self) -> usize {
        self.config.d
    }

    /// Unit concept directions `V: [n_concepts, d]` (`f32`; computed in `f64`).
    pub fn directions(&self) -> &DenseMatrix {
        &self.directions
    }

    /// `V` in `f64`, row-major `[n_concepts, d]`.
    pub fn directions_f64(&self) -> &[f64] {
        &self.directions_f64
    }

    /// Whether `V` is orthonormal (`n_concepts ≤ d`).
    pub fn is_orthonormal(&self) -> bool {
        self.orthonormal
    }

    /// Marginals `p_i`, `[n_concepts]`.
    pub fn marginals(&self) -> &[f64] {
        &self.marginals
    }

    /// The co-occurrence groups (disjoint).
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Rows `start..start+count` of the draw `data_seed` (counter-based: the
    /// same rows for any batching).
    pub fn sample(&self, data_seed: u64, start: u64, count: usize) -> ToySamples {
        let (n, d) = (self.n_concepts(), self.d());
        let sigma = self.config.noise_sigma;
        let mut u = vec![0.0f64; n];
        let mut zb = vec![false; n];
        let mut mag = vec![0.0f64; n];
        let mut acc = vec![0.0f64; d];
        let mut x = Vec::with_capacity(count * d);
        let mut z = CsrMatrix::with_cols(n);
        let mut c = CsrMatrix::with_cols(n);
        for r in 0..count as u64 {
            let mut rng = Rng::derive(self.seed, &[TAG_SAMPLE, data_seed, start + r]);
            for ui in u.iter_mut() {
                *ui = rng.uniform_f64();
            }
            for (i, role) in self.roles.iter().enumerate() {
                zb[i] = matches!(role, Role::Independent) && u[i] < self.marginals[i];
            }
            for g in &self.groups {
                let ug = u[g.members[0]];
                if ug < g.q {
                    for &m in &g.members {
                        zb[m] = true;
                    }
                } else {
                    let mut edge = g.q;
                    for &m in &g.members {
                        edge += self.marginals[m] - g.q;
                        if ug < edge {
                            zb[m] = true;
                            break;
                        }
                    }
                }
            }
            for (i, role) in self.roles.iter().enumerate() {
                if let Role::Child { parent, cond } = *role {
                    zb[i] = zb[parent] && u[i] < cond;
                }
            }
            for m in mag.iter_mut() {
                *m = match self.config.magnitudes {
                    Magnitudes::Constant { value } => value,
                    Magnitudes::Uniform { low, high } => rng.uniform_range(low, high),
                    Magnitudes::LogNormal { mu, sigma } => (mu + sigma * rng.normal()).exp(),
                };
            }
            acc.fill(0.0);
            for i in 0..n {
                if zb[i] {
                    let vi = &self.directions_f64[i * d..(i + 1) * d];
                    for (a, &v) in acc.iter_mut().zip(vi) {
                        *a += mag[i] * v;
                    }
                }
            }
            if sigma > 0.0 {
                for a in acc.iter_mut() {
                    *a += sigma * rng.normal();
                }
            }
            x.extend(acc.iter().map(|&a| a as f32));
            z.push_row((0..n).filter(|&i| zb[i]).map(|i| (i as u32, 1.0)));
            c.push_row((0..n).filter(|&i| zb[i]).map(|i| (i as u32, mag[i] as f32)));
        }
        ToySamples {
            start,
            x: DenseMatrix {
                rows: count,
                cols: d,
                data: x,
            },
            z,
            c,
        }
    }

    /// Iterates rows `0..total` of the draw `data_seed` in batches of at most
    /// `batch` rows (`batch ≥ 1`; 0 is treated as 1).
    pub fn batches(&self, data_seed: u64, total: u64, batch: usize) -> SampleBatches<'_> {
        SampleBatches {
            model: self,
            data_seed,
            next: 0,
            end: total,
            batch: batch.max(1),
        }
    }
}

/// Pushes unit rows of `v: [n, d]` apart: `steps` simultaneous gradient steps
/// on the frame potential `Σ_{i≠j} ⟨v_i, v_j⟩²`, renormalising after each.
fn push_apart(v: &mut [f64], n: usize, d: usize, steps: usize, rate: f64) {
    let mut grad = vec![0.0f64; n * d];
    for _ in 0..steps {
        grad.fill(0.0);
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let g = dot(&v[i * d..(i + 1) * d], &v[j * d..(j + 1) * d]);
                    for k in 0..d {
                        grad[i * d + k] += g * v[j * d + k];
                    }
                }
            }
        }
        for i in 0..n {
            for k in 0..d {
                v[i * d + k] -= rate * grad[i * d + k];
            }
            normalize(&mut v[i * d..(i + 1) * d]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{GroupSpec, GroupsConfig, Marginals, ParentChild};
    use super::*;

    /// Counts of `P(z_i)` and of `P(all of G)` over a sample.
    fn frequencies(s: &ToySamples, n: usize, groups: &[Group]) -> (Vec<f64>, Vec<f64>) {
        let zv = s.z.view();
        let mut pc = vec![0.0; n];
        let mut gc = vec![0.0; groups.len()];
        let mut row = vec![false; n];
        for r in 0..s.len() {
            row.fill(false);
            for (i, v) in zv.row_iter(r) {
                assert_eq!(v, 1.0);
                row[i] = true;
                pc[i] += 1.0;
            }
            for (k, g) in groups.iter().enumerate() {
                let present = g.members.iter().filter(|&&m| row[m]).count();
                // Exclusive outcomes: none, one alone, or all.
                assert!(
                    present <= 1 || present == g.members.len(),
                    "row {r}: {present}"
                );
                if present == g.members.len() {
                    gc[k] += 1.0;
                }
            }
        }
        let nf = s.len() as f64;
        (
            pc.iter().map(|c| c / nf).collect(),
            gc.iter().map(|c| c / nf).collect(),
        )
    }

    fn within_se(observed: f64, p: f64, n: usize, k: f64) -> bool {
        (observed - p).abs() <= k * (p * (1.0 - p) / n as f64).sqrt()
    }

    #[test]
    fn empirical_marginals_and_cooccurrence_match_the_config() {
        let cfg = ToyConfig {
            marginals: Marginals::Zipf {
                p_min: 0.05,
                p_max: 0.3,
                exponent: 1.0,
            },
            groups: GroupsConfig::Explicit {
                groups: vec![
                    GroupSpec {
                        members: vec![0, 1],
                        q: 0.1,
                    },
                    GroupSpec {
                        members: vec![4, 5, 6],
                        q: 0.03,
                    },
                ],
            },
            hierarchy: vec![ParentChild {
                p_given_parent: None,
                parent: 2,
                child: 9,
            }],
            ..ToyConfig::default()
        };
        let model = ToyModel::new(&cfg, 3).unwrap();
        let n_samples = 20_000;
        let s = model.sample(1, 0, n_samples);
        let (pc, gc) = frequencies(&s, 16, model.groups());
        for (i, (&obs, &p)) in pc.iter().zip(model.marginals()).enumerate() {
            assert!(
                within_se(obs, p, n_samples, 4.0),
                "concept {i}: {obs} vs {p}"
            );
        }
        for (g, (&obs, grp)) in gc.iter().zip(model.groups()).enumerate() {
            assert!(
                within_se(obs, grp.q, n_samples, 4.0),
                "group {g}: {obs} vs {}",
                grp.q
            );
        }
        // Child ⇒ parent on every row.
        let zv = s.z.view();
        for r in 0..s.len() {
            let idx = zv.row_indices(r);
            if idx.contains(&9) {
                assert!(idx.contains(&2), "row {r}: child without parent");
            }
        }
        // Independent concepts 10 and 11: P(both) ≈ p10 p11.
        let both = (0..s.len())
            .filter(|&r| {
                let idx = zv.row_indices(r);
                idx.contains(&10) && idx.contains(&11)
            })
            .count() as f64
            / n_samples as f64;
        let expect = model.marginals()[10] * model.marginals()[11];
        assert!(
            within_se(both, expect, n_samples, 4.0),
            "{both} vs {expect}"
        );
    }

    #[test]
    fn sampling_is_independent_of_batch_size() {
        let model = ToyModel::new(
            &ToyConfig {
                magnitudes: Magnitudes::LogNormal {
                    mu: 0.0,
                    sigma: 0.5,
                },
                ..ToyConfig::default()
            },
            11,
        )
        .unwrap();
        let whole = model.sample(5, 0, 100);
        let parts: Vec<ToySamples> = model.batches(5, 100, 37).collect();
        assert_eq!(
            parts.iter().map(ToySamples::len).collect::<Vec<_>>(),
            vec![37, 37, 26]
        );
        assert_eq!(ToySamples::concat(&parts).unwrap(), whole);
        let tail = model.sample(5, 60, 40);
        assert_eq!(&tail.x.data[..], &whole.x.data[60 * 32..]);
        assert_ne!(model.sample(6, 0, 100).x, whole.x);
        assert_eq!(
            ToyModel::new(model.config(), 11).unwrap().sample(5, 0, 100),
            whole
        );
    }

    #[test]
    fn directions_are_orthonormal_or_unit_and_shared_by_variants() {
        let model = ToyModel::new(&ToyConfig::default(), 1).unwrap();
        assert!(model.is_orthonormal());
        let v = model.directions_f64();
        for i in 0..16 {
            for j in 0..16 {
                let g = dot(&v[i * 32..(i + 1) * 32], &v[j * 32..(j + 1) * 32]);
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((g - e).abs() < 1e-12, "V Vᵀ[{i},{j}] = {g}");
            }
        }
        for variant in [
            model.config().independent(),
            model.config().with_q_factor(0.9),
            model.config().with_scaled_marginals(2.0),
        ] {
            assert_eq!(
                model.with_config(&variant).unwrap().directions(),
                model.directions()
            );
        }
        assert_ne!(
            ToyModel::new(&ToyConfig::default(), 2)
                .unwrap()
                .directions(),
            model.directions()
        );

        // Superposition: unit rows; pushing apart lowers the largest |cos|.
        let sup = ToyConfig {
            n_concepts: 24,
            d: 8,
            groups: GroupsConfig::None,
            ..ToyConfig::default()
        };
        let max_cos = |m: &ToyModel| {
            let v = m.directions_f64();
            let mut worst = 0.0f64;
            for i in 0..24 {
                let n = dot(&v[i * 8..(i + 1) * 8], &v[i * 8..(i + 1) * 8]);
                assert!((n - 1.0).abs() < 1e-12);
                for j in 0..i {
                    worst = worst.max(dot(&v[i * 8..(i + 1) * 8], &v[j * 8..(j + 1) * 8]).abs());
                }
            }
            worst
        };
        let plain = ToyModel::new(&sup, 4).unwrap();
        assert!(!plain.is_orthonormal());
        let mut pushed_cfg = sup.clone();
        pushed_cfg.directions.push_apart_steps = 200;
        let pushed = ToyModel::new(&pushed_cfg, 4).unwrap();
        assert!(
            max_cos(&pushed) < max_cos(&plain),
            "{} vs {}",
            max_cos(&pushed),
            max_cos(&plain)
        );
    }

    #[test]
    fn independent_variant_shares_the_first_group_member() {
        // Common random numbers: a group's first member is present exactly when
        // it is present in the independent variant.
        let model = ToyModel::new(&ToyConfig::default(), 8).unwrap();
        let ind = model.with_config(&model.config().independent()).unwrap();
        let (a, b) = (model.sample(2, 0, 2000), ind.sample(2, 0, 2000));
        for r in 0..2000 {
            let has = |s: &ToySamples, i: u32| s.z.view().row_indices(r).contains(&i);
            for first in [0, 4, 8] {
                assert_eq!(has(&a, first), has(&b, first), "row {r}");
            }
            for free in 12..16 {
                assert_eq!(has(&a, free), has(&b, free), "row {r}");
            }
        }
    }

    #[test]
    fn observations_are_signal_plus_gaussian_noise() {
        let cfg = ToyConfig {
            magnitudes: Magnitudes::Uniform {
                low: 0.5,
                high: 1.5,
            },
            noise_sigma: 0.2,
            ..ToyConfig::default()
        };
        let model = ToyModel::new(&cfg, 9).unwrap();
        let s = model.sample(0, 0, 5000);
        let clean = s.noiseless(model.directions());
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for (a, b) in s.x.data.iter().zip(&clean.data) {
            let e = (*a - *b) as f64;
            s1 += e;
            s2 += e * e;
        }
        let m = s.x.data.len() as f64;
        assert!((s1 / m).abs() < 4.0 * 0.2 / m.sqrt());
        let sd = (s2 / m).sqrt();
        assert!((sd - 0.2).abs() < 0.005, "{sd}");
        // Magnitudes: U[0.5, 1.5) has mean 1.
        let mags = &s.c.values;
        assert!(mags.iter().all(|&c| (0.5..1.5).contains(&c)));
        let mean = mags.iter().map(|&c| c as f64).sum::<f64>() / mags.len() as f64;
        let se = (1.0f64 / 12.0 / mags.len() as f64).sqrt();
        assert!((mean - 1.0).abs() < 4.0 * se, "{mean}");
        assert_eq!(s.c.indices, s.z.indices);
        assert_eq!(s.c.indptr, s.z.indptr);
    }
}
