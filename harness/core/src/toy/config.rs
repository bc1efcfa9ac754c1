//! Configuration of the toy data-generating process (CONDITIONS.md §1).
//!
//! A [`ToyConfig`] is plain data (TOML/JSON via serde, unknown fields rejected,
//! every field optional with the documented default). [`ToyConfig::resolve`]
//! validates it and turns it into per-concept marginals and explicit groups;
//! errors name the offending field, e.g. `groups.groups[1].q`.
//!
//! The concept directions depend only on `(seed, n_concepts, d, directions)`,
//! never on the presence parameters, so the variants built by
//! [`ToyConfig::independent`], [`ToyConfig::with_q_factor`] and
//! [`ToyConfig::with_scaled_marginals`] share their directions with the
//! original for a given seed.

use anyhow::{Result, bail, ensure};
use serde::{Deserialize, Serialize};

/// Slack allowed in probability feasibility checks (`q + Σ(p_i − q) ≤ 1 + EPS`).
const FEASIBILITY_EPS: f64 = 1e-12;

/// Toy DGP configuration. `Default` is the benchmark's standard toy:
///
/// - `n_concepts = 16`, `d = 32`: orthonormal directions (no superposition);
/// - constant marginals `p = 0.1`;
/// - three co-occurrence groups of size 4, `{0,1,2,3}`, `{4,5,6,7}`,
///   `{8,9,10,11}`, with `q = p/2 = 0.05` (the spec's default `q = p/2`; size 4
///   so that the growing ladder 2→3→4 runs on the same data); concepts 12–15
///   independent;
/// - no hierarchy;
/// - constant magnitudes `c = 1` (merges are lossless);
/// - noise `σ = 0.01` (keeps the activation covariance full rank while leaving
///   the signal-to-noise ratio at about 30 dB per present concept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToyConfig {
    /// Number of concepts `n`.
    pub n_concepts: usize,
    /// Observation dimension `d`.
    pub d: usize,
    /// How the directions `V: [n, d]` are drawn.
    pub directions: DirectionsConfig,
    /// Marginal presence probabilities `p_i`.
    pub marginals: Marginals,
    /// Co-occurrence groups (the main knob).
    pub groups: GroupsConfig,
    /// Parent/child pairs: the child is present only when its parent is.
    pub hierarchy: Vec<ParentChild>,
    /// Magnitudes `c_i > 0` of present concepts.
    pub magnitudes: Magnitudes,
    /// Standard deviation `σ` of the isotropic Gaussian observation noise.
    pub noise_sigma: f64,
}

impl Default for ToyConfig {
    fn default() -> Self {
        Self {
            n_concepts: 16,
            d: 32,
            directions: DirectionsConfig::default(),
            marginals: Marginals::Constant { p: 0.1 },
            groups: GroupsConfig::Generated {
                count: 3,
                size: 4,
                q_factor: 0.5,
            },
            hierarchy: Vec::new(),
            magnitudes: Magnitudes::Constant { value: 1.0 },
            noise_sigma: 0.01,
        }
    }
}

/// Direction geometry. With `n ≤ d` the directions are the first `n` rows of a
/// Haar-random orthogonal matrix (orthonormal). With `n > d` (superposition)
/// they are i.i.d. uniform unit vectors, then optionally pushed apart by
/// `push_apart_steps` steps of gradient descent on the frame potential
/// `Σ_{i≠j} ⟨v_i, v_j⟩²` (step `v_i ← normalize(v_i − rate · Σ_{j≠i} ⟨v_i, v_j⟩ v_j)`,
/// all rows updated simultaneously; deterministic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectionsConfig {
    /// Push-apart iterations in superposition (default 0: plain random unit vectors).
    pub push_apart_steps: usize,
    /// Step size of the push-apart iteration (default 0.1).
    pub push_apart_rate: f64,
}

impl Default for DirectionsConfig {
    fn default() -> Self {
        Self {
            push_apart_steps: 0,
            push_apart_rate: 0.1,
        }
    }
}

/// Marginal presence probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Marginals {
    /// `p_i = p` for every concept.
    Constant {
        /// The common marginal.
        p: f64,
    },
    /// Zipf-like over `[p_min, p_max]`, in concept-index order:
    /// `p_i = p_min + (p_max − p_min) · ((i+1)^{−s} − n^{−s}) / (1 − n^{−s})`,
    /// so `p_0 = p_max`, `p_{n−1} = p_min` and the decay follows the power law
    /// `(i+1)^{−s}` (`s = exponent`; `s = 0` or `n = 1` gives `p_i = p_max`).
    Zipf {
        /// Marginal of the last concept.
        p_min: f64,
        /// Marginal of concept 0.
        p_max: f64,
        /// Power-law exponent `s ≥ 0`.
        exponent: f64,
    },
}

/// Co-occurrence groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupsConfig {
    /// Every concept is independent.
    None,
    /// Explicit groups.
    Explicit {
        /// The groups, pairwise disjoint.
        groups: Vec<GroupSpec>,
    },
    /// `count` groups of `size` consecutive concepts, `{0..size}`,
    /// `{size..2·size}`, …, each with `q = q_factor · min_{i∈G} p_i`.
    Generated {
        /// Number of groups.
        count: usize,
        /// Members per group (≥ 2).
        size: usize,
        /// `q / min p_i`, in `[0, 1]`.
        q_factor: f64,
    },
}

/// One explicit co-occurrence group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Member concept indices (at least 2, distinct, `< n_concepts`).
    pub members: Vec<usize>,
    /// Probability that all members fire together.
    pub q: f64,
}

/// A parent/child pair: `z_child = 1 ⇒ z_parent = 1`.
///
/// The child fires with probability `p_child / p_parent` when the parent is
/// present, so its marginal is `p_child` (requires `p_child ≤ p_parent`).
/// With `p_given_parent` set, the child's marginal is instead
/// `p_parent · p_given_parent` (whatever `marginals` says for it), so that a
/// hierarchy can be added to constant marginals. A child must not belong to
/// a group, be a child twice, or be a parent itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentChild {
    /// Parent concept index.
    pub parent: usize,
    /// Child concept index.
    pub child: usize,
    /// `P(child | parent)` in `(0, 1]`; unset: `p_child / p_parent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_given_parent: Option<f64>,
}

/// Magnitude distribution of a present concept (drawn independently per
/// concept and sample).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Magnitudes {
    /// `c_i = value` (use 1 for lossless merges).
    Constant {
        /// The magnitude, > 0.
        value: f64,
    },
    /// `c_i ~ U[low, high)`, `0 < low ≤ high`.
    Uniform {
        /// Lower end, > 0.
        low: f64,
        /// Upper end, ≥ `low`.
        high: f64,
    },
    /// `c_i = exp(mu + sigma · N(0,1))`.
    LogNormal {
        /// Mean of `ln c`.
        mu: f64,
        /// Standard deviation of `ln c`, ≥ 0.
        sigma: f64,
    },
}

/// A resolved co-occurrence group: all members fire together with probability
/// `q`; member `i` fires alone with probability `p_i − q`; none otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Member concept indices, in the order given (generated groups ascending).
    pub members: Vec<usize>,
    /// Joint probability `P(all members present)`.
    pub q: f64,
}

/// A validated configuration: per-concept marginals and explicit groups.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedConfig {
    /// `p_i`, `[n_concepts]`.
    pub marginals: Vec<f64>,
    /// Disjoint groups.
    pub groups: Vec<Group>,
}

fn check_prob(field: &str, p: f64) -> Result<()> {
    ensure!(
        p.is_finite() && p > 0.0 && p <= 1.0,
        "{field} = {p} must be a probability in (0, 1]"
    );
    Ok(())
}

impl ToyConfig {
    /// Per-concept marginals `p_i` (`[n_concepts]`), validated.
    pub fn marginal_probabilities(&self) -> Result<Vec<f64>> {
        let n = self.n_concepts;
        match self.marginals {
            Marginals::Constant { p } => {
                check_prob("marginals.p", p)?;
                Ok(vec![p; n])
            }
            Marginals::Zipf {
                p_min,
                p_max,
                exponent,
            } => {
                check_prob("marginals.p_min", p_min)?;
                check_prob("marginals.p_max", p_max)?;
                ensure!(
                    p_min <= p_max,
                    "marginals.p_min = {p_min} exceeds marginals.p_max = {p_max}"
                );
                ensure!(
                    exponent.is_finite() && exponent >= 0.0,
                    "marginals.exponent = {exponent} must be finite and >= 0"
                );
                let tail = (n as f64).powf(-exponent);
                Ok((0..n)
                    .map(|i| {
                        if n == 1 || tail == 1.0 {
                            p_max
                        } else {
                            let r = ((i as f64 + 1.0).powf(-exponent) - tail) / (1.0 - tail);
                            p_min + (p_max - p_min) * r
                        }
                    })
                    .collect())
            }
        }
    }

    /// Validates everything and returns marginals and explicit groups.
    ///
    /// Checks: `n_concepts ≥ 1`, `d ≥ 1`; probabilities in `(0, 1]`; groups of
    /// ≥ 2 distinct in-range members, pairwise disjoint, with `0 ≤ q ≤ min p_i`
    /// and `q + Σ_{i∈G}(p_i − q) ≤ 1`; hierarchy pairs in range, child not in a
    /// group, not repeated, not itself a parent, `p_child ≤ p_parent`;
    /// magnitudes positive and finite; `noise_sigma ≥ 0`; push-apart rate > 0.
    pub fn resolve(&self) -> Result<ResolvedConfig> {
        let n = self.n_concepts;
        ensure!(n >= 1, "n_concepts must be at least 1");
        ensure!(self.d >= 1, "d must be at least 1");
        ensure!(
            self.noise_sigma.is_finite() && self.noise_sigma >= 0.0,
            "noise_sigma = {} must be finite and >= 0",
            self.noise_sigma
        );
        let rate = self.directions.push_apart_rate;
        ensure!(
            rate.is_finite() && rate > 0.0,
            "directions.push_apart_rate = {rate} must be finite and > 0"
        );
        match self.magnitudes {
            Magnitudes::Constant { value } => ensure!(
                value.is_finite() && value > 0.0,
                "magnitudes.value = {value} must be finite and > 0"
            ),
            Magnitudes::Uniform { low, high } => ensure!(
                low.is_finite() && high.is_finite() && low > 0.0 && low <= high,
                "magnitudes: need 0 < low <= high, got low = {low}, high = {high}"
            ),
            Magnitudes::LogNormal { mu, sigma } => ensure!(
                mu.is_finite() && sigma.is_finite() && sigma >= 0.0,
                "magnitudes: need finite mu and sigma >= 0, got mu = {mu}, sigma = {sigma}"
            ),
        }
        let mut p = self.marginal_probabilities()?;
        for (k, h) in self.hierarchy.iter().enumerate() {
            if let Some(c) = h.p_given_parent {
                ensure!(
                    c.is_finite() && c > 0.0 && c <= 1.0,
                    "hierarchy[{k}].p_given_parent = {c} must lie in (0, 1]"
                );
                ensure!(
                    h.parent < n && h.child < n,
                    "hierarchy[{k}]: parent {} / child {} out of range for n_concepts = {n}",
                    h.parent,
                    h.child
                );
                p[h.child] = p[h.parent] * c;
            }
        }

        let (groups, field): (Vec<Group>, &str) = match &self.groups {
            GroupsConfig::None => (Vec::new(), "groups"),
            GroupsConfig::Explicit { groups } => (
                groups
                    .iter()
                    .map(|g| Group {
                        members: g.members.clone(),
                        q: g.q,
                    })
                    .collect(),
                "groups.groups",
            ),
            GroupsConfig::Generated {
                count,
                size,
                q_factor,
            } => {
                let (count, size, q_factor) = (*count, *size, *q_factor);
                ensure!(size >= 2, "groups.size = {size} must be at least 2");
                ensure!(
                    count.checked_mul(size).is_some_and(|t| t <= n),
                    "groups: count·size = {count}·{size} exceeds n_concepts = {n}"
                );
                ensure!(
                    q_factor.is_finite() && (0.0..=1.0).contains(&q_factor),
                    "groups.q_factor = {q_factor} must lie in [0, 1]"
                );
                let gs = (0..count)
                    .map(|g| {
                        let members: Vec<usize> = (g * size..(g + 1) * size).collect();
                        let pmin = members.iter().map(|&i| p[i]).fold(f64::INFINITY, f64::min);
                        Group {
                            members,
                            q: q_factor * pmin,
                        }
                    })
                    .collect();
                (gs, "groups (generated)")
            }
        };

        let mut owner: Vec<Option<usize>> = vec![None; n];
        for (gi, g) in groups.iter().enumerate() {
            let f = format!("{field}[{gi}]");
            ensure!(
                g.members.len() >= 2,
                "{f}.members has {} member(s); a group needs at least 2",
                g.members.len()
            );
            for &m in &g.members {
                ensure!(
                    m < n,
                    "{f}.members contains {m}, out of range for n_concepts = {n}"
                );
                if let Some(other) = owner[m] {
                    if other == gi {
                        bail!("{f}.members lists concept {m} twice");
                    }
                    bail!(
                        "{f}.members contains concept {m}, already in {field}[{other}]; groups must be disjoint"
                    );
                }
                owner[m] = Some(gi);
            }
            let (pmin, argmin) = g
                .members
                .iter()
                .map(|&i| (p[i], i))
                .fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });
            ensure!(
                g.q.is_finite() && g.q >= 0.0,
                "{f}.q = {} must be finite and >= 0",
                g.q
            );
            ensure!(
                g.q <= pmin + FEASIBILITY_EPS,
                "{f}.q = {} exceeds min p_i = {pmin} (concept {argmin}): infeasible, need q <= min p_i",
                g.q
            );
            let total = g.q + g.members.iter().map(|&i| p[i] - g.q).sum::<f64>();
            ensure!(
                total <= 1.0 + FEASIBILITY_EPS,
                "{f}: q + Σ(p_i − q) = {total} exceeds 1 (q = {}, members {:?}): infeasible",
                g.q,
                g.members
            );
        }

        let mut is_child = vec![false; n];
        let parents: Vec<usize> = self.hierarchy.iter().map(|h| h.parent).collect();
        for (k, h) in self.hierarchy.iter().enumerate() {
            let f = format!("hierarchy[{k}]");
            ensure!(
                h.parent < n && h.child < n,
                "{f}: parent {} / child {} out of range for n_concepts = {n}",
                h.parent,
                h.child
            );
            ensure!(
                h.parent != h.child,
                "{f}: parent and child are both {}",
                h.child
            );
            ensure!(
                owner[h.child].is_none(),
                "{f}.child = {} belongs to a co-occurrence group; a child must be otherwise independent",
                h.child
            );
            ensure!(
                !is_child[h.child],
                "{f}.child = {} is a child twice",
                h.child
            );
            ensure!(
                !parents.contains(&h.child),
                "{f}.child = {} is also a parent; chains are not supported",
                h.child
            );
            ensure!(
                p[h.child] <= p[h.parent] + FEASIBILITY_EPS,
                "{f}: p_child = {} exceeds p_parent = {} (child {}, parent {}): infeasible",
                p[h.child],
                p[h.parent],
                h.child,
                h.parent
            );
            is_child[h.child] = true;
        }
        Ok(ResolvedConfig {
            marginals: p,
            groups,
        })
    }

    /// The model with `families` parent/child families appended, for the
    /// absorption ladder: each family is a new parent concept with
    /// `children` new child concepts (`P(child | parent) = p_given_parent`),
    /// all independent of the groups; the existing concepts keep their
    /// indices. `None` (nothing to add) when the model already has a
    /// hierarchy, `families` or `children` is 0, the marginals are not
    /// constant (appending concepts would move a Zipf law), or the new
    /// concepts would not fit orthonormally in `d` where the model is
    /// orthonormal now.
    pub fn with_appended_families(
        &self,
        families: usize,
        children: usize,
        p_given_parent: f64,
    ) -> Option<Self> {
        if !self.hierarchy.is_empty()
            || families == 0
            || children == 0
            || !matches!(self.marginals, Marginals::Constant { .. })
        {
            return None;
        }
        let extra = families.checked_mul(children + 1)?;
        let n = self.n_concepts.checked_add(extra)?;
        if self.n_concepts <= self.d && n > self.d {
            return None;
        }
        let mut hierarchy = Vec::with_capacity(families * children);
        for f in 0..families {
            let parent = self.n_concepts + f * (children + 1);
            for c in 1..=children {
                hierarchy.push(ParentChild {
                    parent,
                    child: parent + c,
                    p_given_parent: Some(p_given_parent),
                });
            }
        }
        Some(Self {
            n_concepts: n,
            hierarchy,
            ..self.clone()
        })
    }

    /// The same model without co-occurrence groups (every concept independent
    /// at the same marginals; hierarchy, magnitudes, noise and directions kept).
    pub fn independent(&self) -> Self {
        Self {
            groups: GroupsConfig::None,
            ..self.clone()
        }
    }

    /// The same groups with `q = factor · min_{i∈G} p_i` (for explicit groups
    /// too), e.g. `0.9` for the spec's C8 co-occurring data.
    pub fn with_q_factor(&self, factor: f64) -> Self {
        let groups = match &self.groups {
            GroupsConfig::None => GroupsConfig::None,
            GroupsConfig::Generated { count, size, .. } => GroupsConfig::Generated {
                count: *count,
                size: *size,
                q_factor: factor,
            },
            GroupsConfig::Explicit { groups } => {
                let p = self.marginal_probabilities().unwrap_or_default();
                GroupsConfig::Explicit {
                    groups: groups
                        .iter()
                        .map(|g| {
                            let pmin = g
                                .members
                                .iter()
                                .filter_map(|&i| p.get(i).copied())
                                .fold(f64::INFINITY, f64::min);
                            GroupSpec {
                                members: g.members.clone(),
                                q: if pmin.is_finite() { factor * pmin } else { g.q },
                            }
                        })
                        .collect(),
                }
            }
        };
        Self {
            groups,
            ..self.clone()
        }
    }

    /// All marginals multiplied by `factor` (e.g. 2 for C11's `p` vs `2p`).
    /// Explicit groups' `q` scale too, so `q / p` is preserved; generated groups
    /// keep their `q_factor`.
    pub fn with_scaled_marginals(&self, factor: f64) -> Self {
        let marginals = match self.marginals {
            Marginals::Constant { p } => Marginals::Constant { p: p * factor },
            Marginals::Zipf {
                p_min,
                p_max,
                exponent,
            } => Marginals::Zipf {
                p_min: p_min * factor,
                p_max: p_max * factor,
                exponent,
            },
        };
        let groups = match &self.groups {
            GroupsConfig::Explicit { groups } => GroupsConfig::Explicit {
                groups: groups
                    .iter()
                    .map(|g| GroupSpec {
                        members: g.members.clone(),
                        q: g.q * factor,
                    })
                    .collect(),
            },
            other => other.clone(),
        };
        Self {
            marginals,
            groups,
            ..self.clone()
        }
    }

    /// Replaces the groups by `count` generated groups of `size` consecutive
    /// concepts with `q = q_factor · min p_i`.
    pub fn with_generated_groups(&self, count: usize, size: usize, q_factor: f64) -> Self {
        Self {
            groups: GroupsConfig::Generated {
                count,
                size,
                q_factor,
            },
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_resolves_to_the_documented_model() {
        let r = ToyConfig::default().resolve().unwrap();
        assert_eq!(r.marginals, vec![0.1; 16]);
        assert_eq!(r.groups.len(), 3);
        assert_eq!(r.groups[1].members, vec![4, 5, 6, 7]);
        assert!((r.groups[2].q - 0.05).abs() < 1e-15);
    }

    #[test]
    fn zipf_marginals_hit_both_ends_and_follow_the_power_law() {
        let cfg = ToyConfig {
            n_concepts: 4,
            marginals: Marginals::Zipf {
                p_min: 0.01,
                p_max: 0.2,
                exponent: 1.0,
            },
            groups: GroupsConfig::None,
            ..ToyConfig::default()
        };
        let p = cfg.marginal_probabilities().unwrap();
        // r_i = (1/(i+1) − 1/4) / (3/4): 1, 1/3, 1/9, 0.
        let expect = [0.2, 0.01 + 0.19 / 3.0, 0.01 + 0.19 / 9.0, 0.01];
        for (a, b) in p.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15, "{p:?}");
        }
    }

    #[test]
    fn toml_round_trip_and_unknown_fields_are_rejected() {
        let text = r#"
            n_concepts = 8
            d = 4
            noise_sigma = 0.0
            marginals = { kind = "constant", p = 0.2 }
            magnitudes = { kind = "uniform", low = 0.5, high = 1.5 }
            [groups]
            kind = "explicit"
            groups = [ { members = [0, 1], q = 0.1 }, { members = [2, 3, 4], q = 0.05 } ]
            [[hierarchy]]
            parent = 5
            child = 6
        "#;
        let cfg: ToyConfig = toml::from_str(text).unwrap();
        assert_eq!(cfg.n_concepts, 8);
        assert_eq!(cfg.directions, DirectionsConfig::default());
        let r = cfg.resolve().unwrap();
        assert_eq!(r.groups[1].members, vec![2, 3, 4]);
        let back: ToyConfig = toml::from_str(&toml::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        let err = toml::from_str::<ToyConfig>("n_concept = 3").unwrap_err();
        assert!(err.to_string().contains("n_concept"), "{err}");
        let err = toml::from_str::<ToyConfig>("marginals = { kind = \"constant\", q = 0.1 }")
            .unwrap_err();
        assert!(err.to_string().contains('q'), "{err}");
    }

    fn explicit(groups: Vec<(Vec<usize>, f64)>) -> ToyConfig {
        ToyConfig {
            n_concepts: 6,
            d: 8,
            groups: GroupsConfig::Explicit {
                groups: groups
                    .into_iter()
                    .map(|(members, q)| GroupSpec { members, q })
                    .collect(),
            },
            ..ToyConfig::default()
        }
    }

    fn err_of(cfg: &ToyConfig) -> String {
        cfg.resolve().unwrap_err().to_string()
    }

    #[test]
    fn infeasible_configs_name_the_field_and_value() {
        let e = err_of(&explicit(vec![(vec![0, 1], 0.05), (vec![2, 3], 0.2)]));
        assert!(
            e.contains("groups.groups[1].q = 0.2") && e.contains("min p_i"),
            "{e}"
        );
        let cfg = ToyConfig {
            marginals: Marginals::Constant { p: 0.4 },
            ..explicit(vec![(vec![0, 1, 2], 0.05)])
        };
        // 0.05 + 3·0.35 = 1.1 > 1
        let e = err_of(&cfg);
        assert!(
            e.contains("groups.groups[0]") && e.contains("exceeds 1"),
            "{e}"
        );
        let e = err_of(&explicit(vec![(vec![0, 1], 0.05), (vec![1, 2], 0.05)]));
        assert!(
            e.contains("groups.groups[1]") && e.contains("disjoint"),
            "{e}"
        );
        let e = err_of(&explicit(vec![(vec![0, 9], 0.05)]));
        assert!(e.contains("groups.groups[0].members contains 9"), "{e}");
        let e = err_of(&explicit(vec![(vec![0], 0.05)]));
        assert!(e.contains("at least 2"), "{e}");
        let e = err_of(&ToyConfig {
            marginals: Marginals::Constant { p: 1.5 },
            ..ToyConfig::default()
        });
        assert!(e.contains("marginals.p = 1.5"), "{e}");
        let e = err_of(&ToyConfig::default().with_generated_groups(5, 4, 0.5));
        assert!(e.contains("count·size"), "{e}");
        let e = err_of(&ToyConfig {
            hierarchy: vec![ParentChild {
                p_given_parent: None,
                parent: 12,
                child: 1,
            }],
            ..ToyConfig::default()
        });
        assert!(e.contains("hierarchy[0].child = 1"), "{e}");
        let e = err_of(&ToyConfig {
            magnitudes: Magnitudes::Uniform {
                low: 0.0,
                high: 1.0,
            },
            ..ToyConfig::default()
        });
        assert!(e.contains("magnitudes"), "{e}");
        let e = err_of(&ToyConfig {
            noise_sigma: -1.0,
            ..ToyConfig::default()
        });
        assert!(e.contains("noise_sigma"), "{e}");
    }

    #[test]
    fn variants_change_only_presence_parameters() {
        let base = ToyConfig::default();
        let ind = base.independent().resolve().unwrap();
        assert!(ind.groups.is_empty());
        assert_eq!(ind.marginals, vec![0.1; 16]);
        let q9 = base.with_q_factor(0.9).resolve().unwrap();
        assert!(q9.groups.iter().all(|g| (g.q - 0.09).abs() < 1e-15));
        let double = base.with_scaled_marginals(2.0).resolve().unwrap();
        assert_eq!(double.marginals, vec![0.2; 16]);
        assert!((double.groups[0].q - 0.1).abs() < 1e-15);
        let ex = explicit(vec![(vec![0, 1], 0.02)]).with_q_factor(0.9);
        match ex.groups {
            GroupsConfig::Explicit { groups } => assert!((groups[0].q - 0.09).abs() < 1e-15),
            other => panic!("{other:?}"),
        }
    }
}
