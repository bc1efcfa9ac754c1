//! Oracle SAEs whose polysemanticity is known by construction
//! (CONDITIONS.md §3). Codes come from the ground truth `(z, c)`, not from an
//! encoder.
//!
//! ## Merges
//! A merge of a concept set `G` adds one latent with decoder
//! `u_G = normalize(Σ_{i∈G} v_i)` and the **least-squares code** onto `u_G`:
//! `a = argmin_a ‖Σ_{i∈P} c_i v_i − a u_G‖² = Σ_{i∈P} c_i ⟨v_i, u_G⟩`, where `P`
//! is the set of members present on the sample. With `c ≡ 1` and all of `G`
//! present, `Σ v_i = ‖Σ v_i‖ u_G` and the merge is lossless; varying magnitudes
//! (or an OR latent on a partial set) cost the orthogonal residual.
//! A code that is exactly zero is not stored (the latent does not fire).
//! - **AND** (`MergeKind::And`): the merged latent fires on samples where *all*
//!   of `G` are present, and those members' own latents are silent there; the
//!   members keep their own latents for every other sample. L0 drops by
//!   `|G| − 1` on each such sample.
//! - **OR** (`MergeKind::Or`): the merged latent replaces its members' latents
//!   and fires whenever *any* member is present.
//! - **Absorb** (`MergeKind::Absorb`, members `[parent, child]`): feature
//!   absorption (Chanin et al., 2024). The child's latent takes the decoder
//!   `normalize(v_child + v_parent)` and the least-squares code of both
//!   (`√2` with `c = 1` and orthonormal `V`: lossless) wherever the child is
//!   present (the child implies the parent), and the parent's latent is
//!   silent there; elsewhere the parent's latent fires as in `M`. It fires
//!   like an AND merge of the pair but keeps the child's slot, so no latent
//!   goes dead, and it saves `#(rows with the child)` of L0.
//!
//! ## Latent order
//! Concept latents in concept order, where an OR-merged latent takes the slot
//! of its lowest-index member and the other members' slots are removed; then
//! AND-merged latents, appended in merge order.
//!
//! ## Ladders (rung 0 is always the monosemantic oracle `M`)
//! With the model's groups `G_0, G_1, …` in config order:
//! - [`LadderFamily::And`]: rung `k` AND-merges `G_0, …, G_{k−1}` (whole
//!   groups); `1 + #groups` rungs.
//! - [`LadderFamily::Or`]: rung `k` OR-merges `G_0, …, G_{k−1}`; `1 + #groups` rungs.
//! - [`LadderFamily::Growing`]: on `G*`, the first group of maximal size, rung
//!   `k ≥ 1` AND-merges its first `k + 1` members (sizes 2, 3, 4); rungs
//!   `min(|G*|, 4)` in total (4 for groups of size ≥ 4).
//! - [`LadderFamily::Absorption`]: with the hierarchy's parents in config
//!   order, rung `k` absorbs the first child of each of the first `k`
//!   parents (`MergeKind::Absorb`); `1 + #parents` rungs. One child per
//!   parent and rung, so that every absorption is lossless with `c = 1` and
//!   saves exactly `P(child)` of L0: two absorbed siblings present together
//!   would both carry the parent's direction.
//!
//! With the default config (groups `{0..3}`, `{4..7}`, `{8..11}`), AND rung 2
//! merges `{0,1,2,3}` and `{4,5,6,7}`; growing rung 2 merges `{0,1,2}`.
//!
//! ## Encoder
//! A faithful encoder exists only for orthonormal `V` and no AND merge (`M` and
//! the OR ladder): then `W_enc = W_decᵀ` and `x W_enc` equals the codes on
//! noiseless data. Elsewhere `encoder` is `None`.

use std::fmt;

use anyhow::{Result, bail, ensure};
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};
use serde::{Deserialize, Serialize};

use super::case::EvalCase;
use super::dgp::{ToyModel, ToySamples};
use super::ground_truth::GroundTruthOptions;
use crate::linalg::{dot, normalize};

/// The merge-ladder families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderFamily {
    /// AND merges of whole groups (rate tax).
    And,
    /// OR merges of whole groups (mixed unit).
    Or,
    /// AND merges of growing size 2, 3, 4 within one group.
    Growing,
    /// Children absorbed into their parents (hierarchy).
    Absorption,
}

impl LadderFamily {
    /// All families, in reporting order.
    pub const ALL: [LadderFamily; 4] = [
        LadderFamily::And,
        LadderFamily::Or,
        LadderFamily::Growing,
        LadderFamily::Absorption,
    ];

    /// Stable lower-case name (`and`, `or`, `growing`).
    pub fn name(self) -> &'static str {
        match self {
            LadderFamily::And => "and",
            LadderFamily::Or => "or",
            LadderFamily::Growing => "growing",
            LadderFamily::Absorption => "absorption",
        }
    }
}

impl fmt::Display for LadderFamily {
    /// `AND`, `OR`, `growing` (as in "on the OR ladder").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LadderFamily::And => "AND",
            LadderFamily::Or => "OR",
            LadderFamily::Growing => "growing",
            LadderFamily::Absorption => "absorption",
        })
    }
}

/// How a merged latent fires; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeKind {
    /// Fires when all members are present; members keep their own latents.
    And,
    /// Fires when any member is present; replaces the members' latents.
    Or,
    /// Members `[parent, child]`: the child's latent absorbs the parent
    /// where the child is present; see the module docs.
    Absorb,
}

/// One merge: a set of concepts folded into one latent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merge {
    /// Member concept indices (≥ 2, distinct).
    pub members: Vec<usize>,
    /// AND or OR.
    pub kind: MergeKind,
}

/// The monosemantic oracle `M`: latent `i` has decoder `v_i` and code
/// `z_i c_i`; encoder `Vᵀ` when `V` is orthonormal.
pub fn monosemantic(model: &ToyModel, samples: &ToySamples) -> EvalCase {
    let directions = model.directions().clone();
    EvalCase {
        encoder: model.is_orthonormal().then(|| directions.transpose()),
        decoder: directions.clone(),
        activations: samples.x.clone(),
        codes: samples.c.clone(),
        labels: samples.z.clone(),
        directions,
    }
}

/// Number of rungs of `family` on `model`, including rung 0 (`M`).
pub fn n_rungs(family: LadderFamily, model: &ToyModel) -> usize {
    let groups = model.groups();
    match family {
        LadderFamily::And | LadderFamily::Or => 1 + groups.len(),
        LadderFamily::Growing => growing_group(model).map_or(1, |g| g.members.len().min(4)),
        LadderFamily::Absorption => 1 + absorbable(model).len(),
    }
}

/// `(parent, first child)` per parent of the hierarchy, in config order.
fn absorbable(model: &ToyModel) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for h in &model.config().hierarchy {
        if !out.iter().any(|&(p, _)| p == h.parent) {
            out.push((h.parent, h.child));
        }
    }
    out
}

fn growing_group(model: &ToyModel) -> Option<&super::config::Group> {
    let max = model.groups().iter().map(|g| g.members.len()).max()?;
    model.groups().iter().find(|g| g.members.len() == max)
}

/// The merges that make rung `k` of `family` (empty for `k = 0`); see the
/// module docs for the exact groups.
pub fn ladder_merges(family: LadderFamily, model: &ToyModel, k: usize) -> Result<Vec<Merge>> {
    let rungs = n_rungs(family, model);
    ensure!(
        k < rungs,
        "{family} ladder has {rungs} rung(s) (0..{rungs}) on this model; rung {k} does not exist{}",
        if family == LadderFamily::Absorption && model.config().hierarchy.is_empty() {
            " (the model has no parent/child hierarchy)"
        } else if family != LadderFamily::Absorption && model.groups().is_empty() {
            " (the model has no co-occurrence groups)"
        } else {
            ""
        }
    );
    let groups = model.groups();
    Ok(match family {
        LadderFamily::And | LadderFamily::Or => groups[..k]
            .iter()
            .map(|g| Merge {
                members: g.members.clone(),
                kind: if family == LadderFamily::And {
                    MergeKind::And
                } else {
                    MergeKind::Or
                },
            })
            .collect(),
        LadderFamily::Growing => {
            if k == 0 {
                Vec::new()
            } else {
                let Some(g) = growing_group(model) else {
                    bail!("growing ladder needs a co-occurrence group");
                };
                vec![Merge {
                    members: g.members[..=k].to_vec(),
                    kind: MergeKind::And,
                }]
            }
        }
        LadderFamily::Absorption => absorbable(model)[..k]
            .iter()
            .map(|&(parent, child)| Merge {
                members: vec![parent, child],
                kind: MergeKind::Absorb,
            })
            .collect(),
    })
}

/// Rung `k` of `family` evaluated on `samples` (drawn from `model`).
pub fn ladder(
    family: LadderFamily,
    model: &ToyModel,
    samples: &ToySamples,
    k: usize,
) -> Result<EvalCase> {
    let merges = ladder_merges(family, model, k)?;
    merged_case(model, samples, &merges)
}

/// The oracle with the given disjoint `merges` applied to `M`; see the module
/// docs for codes, latent order and encoder.
pub fn merged_case(model: &ToyModel, samples: &ToySamples, merges: &[Merge]) -> Result<EvalCase> {
    let n = model.n_concepts();
    let d = model.d();
    ensure!(
        samples.z.n_cols == n && samples.x.cols == d,
        "samples have {} concepts and d = {}, the model {n} and {d}",
        samples.z.n_cols,
        samples.x.cols
    );
    if merges.is_empty() {
        return Ok(monosemantic(model, samples));
    }
    let mut owner: Vec<Option<usize>> = vec![None; n];
    for (m, g) in merges.iter().enumerate() {
        ensure!(g.members.len() >= 2, "merges[{m}] has fewer than 2 members");
        ensure!(
            g.kind != MergeKind::Absorb || g.members.len() == 2,
            "merges[{m}]: an absorption has exactly the members [parent, child]"
        );
        for &i in &g.members {
            ensure!(
                i < n,
                "merges[{m}] member {i} out of range for {n} concepts"
            );
            ensure!(
                owner[i].is_none(),
                "merges[{m}] member {i} is already merged; merges must be disjoint"
            );
            owner[i] = Some(m);
        }
    }
    let v = model.directions_f64();
    let vrow = |i: usize| &v[i * d..(i + 1) * d];
    // Merged directions u_m and projections g[m][i] = ⟨v_i, u_m⟩.
    let mut u: Vec<Vec<f64>> = Vec::with_capacity(merges.len());
    let mut proj: Vec<Vec<f64>> = Vec::with_capacity(merges.len());
    for (m, g) in merges.iter().enumerate() {
        let mut s = vec![0.0f64; d];
        for &i in &g.members {
            for (a, &b) in s.iter_mut().zip(vrow(i)) {
                *a += b;
            }
        }
        ensure!(
            normalize(&mut s) > 1e-12,
            "merges[{m}]: Σ v_i is zero, no merged direction"
        );
        proj.push((0..n).map(|i| dot(vrow(i), &s)).collect());
        u.push(s);
    }
    // Column of each concept latent and of each merged latent.
    let mut concept_col: Vec<Option<u32>> = vec![None; n];
    let mut merge_col: Vec<u32> = vec![0; merges.len()];
    let mut dec: Vec<f32> = Vec::new();
    let mut col = 0u32;
    for i in 0..n {
        match owner[i].map(|m| (m, &merges[m])) {
            Some((m, g)) if g.kind == MergeKind::Or => {
                if g.members.iter().min() == Some(&i) {
                    merge_col[m] = col;
                    dec.extend(u[m].iter().map(|&x| x as f32));
                    col += 1;
                }
            }
            // The child's slot holds the absorbing latent.
            Some((m, g)) if g.kind == MergeKind::Absorb && g.members[1] == i => {
                merge_col[m] = col;
                dec.extend(u[m].iter().map(|&x| x as f32));
                col += 1;
            }
            _ => {
                concept_col[i] = Some(col);
                dec.extend(model.directions().row(i));
                col += 1;
            }
        }
    }
    for (m, g) in merges.iter().enumerate() {
        if g.kind == MergeKind::And {
            merge_col[m] = col;
            dec.extend(u[m].iter().map(|&x| x as f32));
            col += 1;
        }
    }
    let d_sae = col as usize;
    let decoder = DenseMatrix::from_vec(d_sae, d, dec)?;

    let cv = samples.c.view();
    let mut codes = CsrMatrix::with_cols(d_sae);
    let mut present = vec![0.0f64; n]; // magnitude if present, else 0
    let mut here: Vec<usize> = Vec::with_capacity(n);
    let mut covered = vec![false; n];
    let mut entries: Vec<(u32, f32)> = Vec::with_capacity(d_sae);
    for r in 0..samples.c.n_rows {
        here.clear();
        for (i, c) in cv.row_iter(r) {
            present[i] = c as f64;
            here.push(i);
        }
        entries.clear();
        for (m, g) in merges.iter().enumerate() {
            let fires = match g.kind {
                MergeKind::And | MergeKind::Absorb => g.members.iter().all(|&i| present[i] != 0.0),
                MergeKind::Or => g.members.iter().any(|&i| present[i] != 0.0),
            };
            if fires {
                let a: f64 = g.members.iter().map(|&i| present[i] * proj[m][i]).sum();
                entries.push((merge_col[m], a as f32));
                for &i in &g.members {
                    covered[i] = true;
                }
            }
        }
        for &i in &here {
            if let Some(c) = concept_col[i]
                && !covered[i]
            {
                entries.push((c, present[i] as f32));
            }
        }
        entries.sort_unstable_by_key(|e| e.0);
        codes.push_row(entries.iter().copied());
        for &i in &here {
            present[i] = 0.0;
            covered[i] = false;
        }
        for g in merges {
            for &i in &g.members {
                covered[i] = false;
            }
        }
    }
    let faithful = model.is_orthonormal() && merges.iter().all(|g| g.kind == MergeKind::Or);
    Ok(EvalCase {
        encoder: faithful.then(|| decoder.transpose()),
        decoder,
        activations: samples.x.clone(),
        codes,
        labels: samples.z.clone(),
        directions: model.directions().clone(),
    })
}

/// Analytic L0 saving of AND merges and absorptions on these samples:
/// `Σ_G #(rows with all of G present) · (|G| − 1)`, counted from the labels
/// (for an absorption, the rows with the child present, since the child
/// implies the parent). OR merges are ignored.
pub fn and_l0_saving(samples: &ToySamples, merges: &[Merge]) -> u64 {
    let zv = samples.z.view();
    let mut total = 0u64;
    for r in 0..samples.z.n_rows {
        let idx = zv.row_indices(r);
        for g in merges.iter().filter(|g| g.kind != MergeKind::Or) {
            if g.members
                .iter()
                .all(|&i| idx.binary_search(&(i as u32)).is_ok())
            {
                total += g.members.len() as u64 - 1;
            }
        }
    }
    total
}

/// One rung of a verified ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungSummary {
    /// Rung index `k` (0 = `M`).
    pub rung: usize,
    /// The merges applied at this rung.
    pub merges: Vec<Merge>,
    /// Ground-truth polysemanticity of the rung on the samples.
    pub p_gt: Option<f64>,
    /// Total stored codes `Σ_t L0(t)`.
    pub total_l0: usize,
    /// `L0(M) − L0(rung)` measured on the samples.
    pub l0_saving: i64,
    /// [`and_l0_saving`] of the rung's merges (AND merges and absorptions).
    pub analytic_l0_saving: u64,
}

/// A ladder whose by-construction properties were checked on the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderReport {
    /// The family checked.
    pub family: LadderFamily,
    /// Rungs `0..n_rungs`, in order.
    pub rungs: Vec<RungSummary>,
}

/// Builds every rung of `family` on `samples` and asserts the spec's
/// by-construction properties, so that a config on which a ladder is not what
/// it claims to be (e.g. groups that never co-occur, `q = 0`) fails loudly:
/// - `P_gt` is defined on every rung and rises strictly from rung to rung;
/// - for AND-built families (AND, growing) and absorption, the measured L0
///   saving equals [`and_l0_saving`] exactly.
///
/// Errors name the family, the rung and both values.
pub fn verify_ladder(
    family: LadderFamily,
    model: &ToyModel,
    samples: &ToySamples,
    opts: &GroundTruthOptions,
) -> Result<LadderReport> {
    let rungs = n_rungs(family, model);
    ensure!(
        rungs >= 2,
        "{family} ladder has no rung beyond M on this model (it needs {})",
        if family == LadderFamily::Absorption {
            "a parent/child hierarchy"
        } else {
            "co-occurrence groups"
        }
    );
    let l0_m = samples.c.nnz() as i64;
    let mut out: Vec<RungSummary> = Vec::with_capacity(rungs);
    for k in 0..rungs {
        let merges = ladder_merges(family, model, k)?;
        let case = merged_case(model, samples, &merges)?;
        let p = case.ground_truth(opts)?.p_gt;
        let total_l0 = case.total_l0();
        let saving = l0_m - total_l0 as i64;
        let analytic = and_l0_saving(samples, &merges);
        let Some(pk) = p else {
            bail!("{family} ladder rung {k}: P_gt is undefined (no live latent in the samples)");
        };
        if let Some(prev) = out.last() {
            let pp = prev.p_gt.unwrap_or(f64::NAN);
            ensure!(
                pk > pp,
                "{family} ladder: P_gt did not rise from rung {} ({pp}) to rung {k} ({pk}); \
                 do the merged groups co-occur in these samples?",
                k - 1
            );
        }
        if family != LadderFamily::Or {
            ensure!(
                saving == analytic as i64,
                "{family} ladder rung {k}: L0 saving {saving} differs from the analytic {analytic}"
            );
        }
        out.push(RungSummary {
            rung: k,
            merges,
            p_gt: p,
            total_l0,
            l0_saving: saving,
            analytic_l0_saving: analytic,
        });
    }
    Ok(LadderReport { family, rungs: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::case::max_rel_diff;
    use crate::toy::config::{GroupsConfig, Magnitudes, ToyConfig};

    fn setup(cfg: &ToyConfig, n: usize) -> (ToyModel, ToySamples) {
        let model = ToyModel::new(cfg, 21).unwrap();
        let samples = model.sample(3, 0, n);
        (model, samples)
    }

    fn pgt(case: &EvalCase) -> f64 {
        case.validate().unwrap();
        case.ground_truth(&GroundTruthOptions::default())
            .unwrap()
            .p_gt
            .unwrap()
    }

    #[test]
    fn rungs_and_merges_follow_the_documented_ladders() {
        let (model, _) = setup(&ToyConfig::default(), 1);
        assert_eq!(n_rungs(LadderFamily::And, &model), 4);
        assert_eq!(n_rungs(LadderFamily::Or, &model), 4);
        assert_eq!(n_rungs(LadderFamily::Growing, &model), 4);
        let m = ladder_merges(LadderFamily::And, &model, 2).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].members, vec![4, 5, 6, 7]);
        let m = ladder_merges(LadderFamily::Growing, &model, 2).unwrap();
        assert_eq!(
            m,
            vec![Merge {
                members: vec![0, 1, 2],
                kind: MergeKind::And
            }]
        );
        let e = ladder_merges(LadderFamily::Or, &model, 4).unwrap_err();
        assert!(e.to_string().contains("rung 4 does not exist"), "{e}");
        let ind = model.with_config(&model.config().independent()).unwrap();
        assert_eq!(n_rungs(LadderFamily::Growing, &ind), 1);
        assert!(ladder_merges(LadderFamily::And, &ind, 1).is_err());
    }

    #[test]
    fn p_gt_rises_strictly_rung_by_rung_in_every_family() {
        for cfg in [
            ToyConfig::default(),
            // Superposition and varying magnitudes.
            ToyConfig {
                n_concepts: 24,
                d: 12,
                magnitudes: Magnitudes::Uniform {
                    low: 0.5,
                    high: 1.5,
                },
                ..ToyConfig::default()
            },
        ] {
            let (model, samples) = setup(&cfg, 4000);
            for family in LadderFamily::ALL {
                let mut prev = pgt(&ladder(family, &model, &samples, 0).unwrap());
                assert!(prev.abs() < 1e-9, "{family}: M has P_gt {prev}");
                for k in 1..n_rungs(family, &model) {
                    let cur = pgt(&ladder(family, &model, &samples, k).unwrap());
                    assert!(cur > prev + 1e-6, "{family} rung {k}: {cur} <= {prev}");
                    prev = cur;
                }
            }
        }
    }

    #[test]
    fn and_l0_saving_equals_the_analytic_count() {
        let (model, samples) = setup(&ToyConfig::default(), 5000);
        let m0 = monosemantic(&model, &samples).total_l0();
        assert_eq!(m0, samples.z.nnz());
        for family in [LadderFamily::And, LadderFamily::Growing] {
            for k in 1..n_rungs(family, &model) {
                let merges = ladder_merges(family, &model, k).unwrap();
                let case = ladder(family, &model, &samples, k).unwrap();
                let saving = (m0 - case.total_l0()) as u64;
                // Direct analytic count: rows where all of G are present, times |G| − 1.
                let zv = samples.z.view();
                let mut expect = 0u64;
                for g in &merges {
                    let all = (0..samples.len())
                        .filter(|&r| {
                            g.members
                                .iter()
                                .all(|&i| zv.row_indices(r).contains(&(i as u32)))
                        })
                        .count() as u64;
                    expect += all * (g.members.len() as u64 - 1);
                }
                assert_eq!(saving, expect, "{family} rung {k}");
                assert_eq!(and_l0_saving(&samples, &merges), expect);
                assert!(expect > 0);
            }
        }
    }

    #[test]
    fn and_merges_are_lossless_with_unit_magnitudes() {
        for cfg in [
            ToyConfig::default(),
            ToyConfig {
                n_concepts: 24,
                d: 12,
                ..ToyConfig::default()
            },
        ] {
            let (model, samples) = setup(&cfg, 3000);
            let clean = samples.noiseless(model.directions());
            for family in [LadderFamily::And, LadderFamily::Growing] {
                for k in 0..n_rungs(family, &model) {
                    let case = ladder(family, &model, &samples, k).unwrap();
                    let err = max_rel_diff(&case.reconstruction(), &clean);
                    assert!(err < 1e-6, "{family} rung {k}: {err}");
                }
            }
            // OR merges are lossy: a solo member is reconstructed by its projection.
            let or = ladder(LadderFamily::Or, &model, &samples, 1).unwrap();
            assert!(max_rel_diff(&or.reconstruction(), &clean) > 0.1);
        }
    }

    #[test]
    fn merged_codes_are_least_squares_projections() {
        let cfg = ToyConfig {
            magnitudes: Magnitudes::Uniform {
                low: 0.5,
                high: 1.5,
            },
            noise_sigma: 0.0,
            ..ToyConfig::default()
        };
        let (model, samples) = setup(&cfg, 2000);
        let clean = samples.noiseless(model.directions());
        let case = ladder(LadderFamily::And, &model, &samples, 1).unwrap();
        // Merged latent is the last one; its residual is orthogonal to u.
        let j = case.d_sae() - 1;
        let u = case.decoder.row(j);
        assert!((u.iter().map(|&x| x as f64 * x as f64).sum::<f64>() - 1.0).abs() < 1e-6);
        let recon = case.reconstruction();
        let mut checked = 0;
        for r in 0..samples.len() {
            let fired = case.codes.view().row_indices(r).contains(&(j as u32));
            if fired {
                let resid: f64 = (0..model.d())
                    .map(|k| (clean.row(r)[k] - recon.row(r)[k]) as f64 * u[k] as f64)
                    .sum();
                assert!(resid.abs() < 1e-5, "row {r}: ⟨residual, u⟩ = {resid}");
                // Code = Σ c_i ⟨v_i, u⟩ = (Σ_{i∈G} c_i) / 2.
                let csum: f64 = samples
                    .c
                    .view()
                    .row_iter(r)
                    .filter(|&(i, _)| i < 4)
                    .map(|(_, c)| c as f64)
                    .sum();
                let code = case
                    .codes
                    .view()
                    .row_iter(r)
                    .find(|&(c, _)| c == j)
                    .unwrap()
                    .1;
                // ⟨v_i, u⟩ = 1/‖Σ v‖ = 1/2 for 4 orthonormal members.
                assert!(
                    (code as f64 - csum / 2.0).abs() < 1e-5,
                    "row {r}: {code} vs {csum}/2"
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "{checked}");
    }

    #[test]
    fn faithful_encoders_exist_only_for_m_and_or_with_orthonormal_v() {
        let cfg = ToyConfig {
            noise_sigma: 0.0,
            ..ToyConfig::default()
        };
        let (model, samples) = setup(&cfg, 1500);
        for (family, k) in [
            (LadderFamily::And, 0),
            (LadderFamily::Or, 1),
            (LadderFamily::Or, 3),
        ] {
            let case = ladder(family, &model, &samples, k).unwrap();
            let enc = case.encoder.as_ref().expect("faithful encoder");
            let dense = case.codes.to_dense();
            for r in 0..samples.len() {
                for j in 0..case.d_sae() {
                    let e: f64 = (0..model.d())
                        .map(|k| case.activations.row(r)[k] as f64 * enc.row(k)[j] as f64)
                        .sum();
                    assert!(
                        (e - dense.row(r)[j] as f64).abs() < 1e-5,
                        "{family} {k} row {r} latent {j}"
                    );
                }
            }
        }
        assert!(
            ladder(LadderFamily::And, &model, &samples, 1)
                .unwrap()
                .encoder
                .is_none()
        );
        assert!(
            ladder(LadderFamily::Growing, &model, &samples, 1)
                .unwrap()
                .encoder
                .is_none()
        );
        let sup = ToyConfig {
            n_concepts: 40,
            d: 16,
            groups: GroupsConfig::None,
            ..cfg
        };
        let (m2, s2) = setup(&sup, 10);
        assert!(monosemantic(&m2, &s2).encoder.is_none());
    }

    #[test]
    fn monosemantic_oracle_recovers_everything() {
        let (model, samples) = setup(&ToyConfig::default(), 3000);
        let m = monosemantic(&model, &samples);
        m.validate().unwrap();
        let rec = m.recovery().unwrap();
        assert!((rec.mcc.unwrap() - 1.0).abs() < 1e-6);
        assert_eq!(rec.mean_precision, Some(1.0));
        assert_eq!(rec.mean_recall, Some(1.0));
        // The OR rung merging 4 concepts into one loses 3 concepts from the matching.
        let or = ladder(LadderFamily::Or, &model, &samples, 1).unwrap();
        assert_eq!(or.d_sae(), 13);
        let rec = or.recovery().unwrap();
        assert!(
            (rec.mcc.unwrap() - (12.0 + 0.5) / 16.0).abs() < 1e-6,
            "{:?}",
            rec.mcc
        );
    }

    #[test]
    fn verify_ladder_accepts_the_default_and_rejects_non_cooccurring_data() {
        let (model, samples) = setup(&ToyConfig::default(), 3000);
        for family in [LadderFamily::And, LadderFamily::Or, LadderFamily::Growing] {
            let rep =
                verify_ladder(family, &model, &samples, &GroundTruthOptions::default()).unwrap();
            assert_eq!(rep.rungs.len(), 4);
            assert_eq!(rep.rungs[0].l0_saving, 0);
        }
        // q = 0: the AND-merged latents never fire, so P_gt cannot rise.
        let (m0, s0) = setup(&ToyConfig::default().with_q_factor(0.0), 3000);
        let e =
            verify_ladder(LadderFamily::And, &m0, &s0, &GroundTruthOptions::default()).unwrap_err();
        assert!(e.to_string().contains("did not rise from rung 0"), "{e}");
        let ind = m0.with_config(&m0.config().independent()).unwrap();
        let e =
            verify_ladder(LadderFamily::Or, &ind, &s0, &GroundTruthOptions::default()).unwrap_err();
        assert!(e.to_string().contains("no rung beyond M"), "{e}");
        // No hierarchy: no absorption ladder, and the error says why.
        let e = verify_ladder(
            LadderFamily::Absorption,
            &model,
            &samples,
            &GroundTruthOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("parent/child hierarchy"), "{e}");
    }

    /// The absorption ladder on the default toy with two appended families
    /// (parents 16 and 19, children 17, 18 and 20, 21): rung k absorbs the
    /// first child of the first k parents; it saves exactly the rows on
    /// which those children are present (the analytic `P(child)` per
    /// absorbed child, counted on the sample), is lossless with `c = 1`,
    /// silences the parent's latent where the child is present, and raises
    /// `P_gt` rung by rung.
    #[test]
    fn absorption_ladder_saves_p_child_per_absorbed_child_losslessly() {
        let cfg = ToyConfig::default()
            .with_appended_families(2, 2, 0.5)
            .unwrap();
        assert_eq!(cfg.n_concepts, 22);
        let (model, samples) = setup(&cfg, 4000);
        assert_eq!(n_rungs(LadderFamily::Absorption, &model), 3);
        let m2 = ladder_merges(LadderFamily::Absorption, &model, 2).unwrap();
        assert_eq!(
            m2,
            vec![
                Merge {
                    members: vec![16, 17],
                    kind: MergeKind::Absorb
                },
                Merge {
                    members: vec![19, 20],
                    kind: MergeKind::Absorb
                },
            ]
        );
        let rep = verify_ladder(
            LadderFamily::Absorption,
            &model,
            &samples,
            &GroundTruthOptions::default(),
        )
        .unwrap();
        let rows_with = |c: u32| {
            let z = samples.z.view();
            (0..samples.z.n_rows)
                .filter(|&r| z.row_indices(r).contains(&c))
                .count() as i64
        };
        let (n17, n20) = (rows_with(17), rows_with(20));
        // P(child) = 0.1 · 0.5 = 0.05: about 200 of 4000 rows.
        assert!(
            (150..250).contains(&n17) && (150..250).contains(&n20),
            "{n17} {n20}"
        );
        assert_eq!(rep.rungs[1].l0_saving, n17);
        assert_eq!(rep.rungs[2].l0_saving, n17 + n20);
        assert_eq!(rep.rungs[2].analytic_l0_saving as i64, n17 + n20);
        let p: Vec<f64> = rep.rungs.iter().map(|r| r.p_gt.unwrap()).collect();
        assert!(p[0] < 1e-9 && p[0] < p[1] && p[1] < p[2], "{p:?}");

        let rung = ladder(LadderFamily::Absorption, &model, &samples, 1).unwrap();
        // Same number of latents as M: the absorbing latent keeps the child's slot.
        assert_eq!(rung.d_sae(), 22);
        let dec = rung.decoder.row(17);
        let v = model.directions();
        for (j, &got) in dec.iter().enumerate().take(model.d()) {
            let want = (v.row(16)[j] + v.row(17)[j]) / 2f32.sqrt();
            assert!((got - want).abs() < 1e-6);
        }
        // Lossless: the reconstruction equals M's (c = 1, orthonormal V).
        let m = monosemantic(&model, &samples);
        assert!(max_rel_diff(&rung.reconstruction(), &m.reconstruction()) < 1e-5);
        // The parent's latent (16) is silent exactly where child 17 is present.
        let (codes, z) = (rung.codes.view(), samples.z.view());
        for r in 0..samples.z.n_rows {
            let child = z.row_indices(r).contains(&17);
            let parent_fires = codes.row_iter(r).any(|(j, _)| j == 16);
            let parent_present = z.row_indices(r).contains(&16);
            assert_eq!(parent_fires, parent_present && !child, "row {r}");
            if child {
                let a = codes.row_iter(r).find(|&(j, _)| j == 17).unwrap().1;
                assert!((a - 2f32.sqrt()).abs() < 1e-5, "code {a}");
            }
        }
    }
}
