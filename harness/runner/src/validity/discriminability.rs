//! Discriminability: how far a score separates the population's
//! configurations relative to reseed noise, as a one-way ANOVA F ratio.
//!
//! Groups are configurations `g` (architecture × sparsity × co-occurrence
//! level); the members of a group are its seeds' SAEs with a defined score
//! `m_gs`. With `G` groups holding at least one defined score, `n_g` scores in
//! group `g`, `N = Σ n_g`, group means `m̄_g` and grand mean `m̄`:
//!
//! ```text
//! MS_between = Σ_g n_g (m̄_g − m̄)² / (G − 1)
//! MS_within  = Σ_g Σ_s (m_gs − m̄_g)² / (N − G)
//! F          = MS_between / MS_within
//! ```
//!
//! `F ≈ 1` when configurations differ no more than reseeding the same
//! configuration does; `F ≫ 1` when the score tells configurations apart
//! (under pure noise, `F ~ F(G−1, N−G)`). This is the "signal over reseed
//! noise" reading of benchmark reliability (arXiv 2605.18229). Undefined
//! (with a reason) when `G < 2`, when no configuration has two defined
//! scores (`N = G`, no noise estimate), or when `MS_within = 0` (no reseed
//! noise: `F` is infinite, or `0/0` for a constant score).

use rdpbench_schema::results::validity::Discriminability;

/// The F ratio of `groups` (one slice of defined scores per configuration;
/// empty slices are ignored).
pub fn discriminability(groups: &[Vec<f64>]) -> Discriminability {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let g = groups.len();
    let n: usize = groups.iter().map(|v| v.len()).sum();
    let mut out = Discriminability {
        f_ratio: None,
        ms_between: None,
        ms_within: None,
        n_configs: g,
        n_values: n,
        reason: None,
    };
    if g < 2 {
        out.reason = Some(format!(
            "{g} configuration(s) with a defined score; separation needs at least 2"
        ));
        return out;
    }
    if n == g {
        out.reason = Some(
            "no configuration has two seeds with a defined score: no reseed noise estimate".into(),
        );
        return out;
    }
    let grand = groups.iter().flat_map(|v| v.iter()).sum::<f64>() / n as f64;
    let (mut ss_between, mut ss_within) = (0.0, 0.0);
    for v in &groups {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        ss_between += v.len() as f64 * (m - grand) * (m - grand);
        ss_within += v.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    }
    let ms_between = ss_between / (g - 1) as f64;
    let ms_within = ss_within / (n - g) as f64;
    out.ms_between = Some(ms_between);
    out.ms_within = Some(ms_within);
    if ms_within > 0.0 {
        out.f_ratio = Some(ms_between / ms_within);
    } else {
        out.reason = Some(if ms_between > 0.0 {
            "no reseed noise (every configuration's seeds agree exactly): F is infinite".into()
        } else {
            "the score is constant over the population".into()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_f_ratio() {
        // Means 2 and 6, grand mean 4: SS_b = 2·4 + 2·4 = 16 over 1 df;
        // SS_w = 1 + 1 + 1 + 1 = 4 over N − G = 2 df: F = 16 / 2 = 8.
        let d = discriminability(&[vec![1.0, 3.0], vec![5.0, 7.0]]);
        assert_eq!(d.ms_between, Some(16.0));
        assert_eq!(d.ms_within, Some(2.0));
        assert_eq!(d.f_ratio, Some(8.0));
        assert_eq!((d.n_configs, d.n_values), (2, 4));
    }

    #[test]
    fn unequal_groups_and_empty_groups() {
        // Groups {0, 2}, {4}, {} (ignored): grand mean 2; means 1 and 4;
        // SS_b = 2·1 + 1·4 = 6 (1 df); SS_w = 1 + 1 = 2 (N − G = 1): F = 6 / 2 = 3.
        let d = discriminability(&[vec![0.0, 2.0], vec![4.0], vec![]]);
        assert_eq!(d.f_ratio, Some(3.0));
        assert_eq!(d.n_configs, 2);
    }

    #[test]
    fn identical_configurations_give_f_zero_and_shifts_do_not_matter() {
        let d = discriminability(&[vec![1.0, 3.0], vec![1.0, 3.0]]);
        assert_eq!(d.f_ratio, Some(0.0));
        let a = discriminability(&[vec![1.0, 3.0, 2.0], vec![5.0, 8.0, 6.0]]);
        let b = discriminability(&[vec![101.0, 103.0, 102.0], vec![105.0, 108.0, 106.0]]);
        assert!((a.f_ratio.unwrap() - b.f_ratio.unwrap()).abs() < 1e-9);
    }

    #[test]
    fn undefined_cases_carry_reasons() {
        let one = discriminability(&[vec![1.0, 2.0]]);
        assert!(one.f_ratio.is_none() && one.reason.unwrap().contains("at least 2"));
        let single_seed = discriminability(&[vec![1.0], vec![2.0]]);
        assert!(single_seed.reason.unwrap().contains("reseed noise"));
        let exact = discriminability(&[vec![1.0, 1.0], vec![2.0, 2.0]]);
        assert!(exact.f_ratio.is_none() && exact.reason.unwrap().contains("infinite"));
        let constant = discriminability(&[vec![1.0, 1.0], vec![1.0, 1.0]]);
        assert!(constant.reason.unwrap().contains("constant"));
    }
}
