//! The population's training jobs: `[validity]` expanded into
//! [`TrainJob`]s of the training sweep (so training, SAELens saving and
//! resume are the sweep's), one per architecture × sparsity × co-occurrence
//! level × seed.

use crate::train::{TrainJob, TrainSettings, jobs};
use anyhow::Result;
use rdpbench_schema::settings::ValiditySettings;

/// A training job and the configuration it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationJob {
    pub job: TrainJob,
    pub q_factor: f64,
    /// Index of `(architecture, sparsity, q_factor)` in enumeration order.
    pub config_index: usize,
}

/// The jobs in a fixed order: q_factor, then architecture, then sparsity,
/// then seed (seeds of one configuration are adjacent). Ids are the sweep's
/// `{arch}-w{d_sae}-{sparsity}-s{seed}` prefixed with `q{q_factor}-`, so the
/// population's SAEs share one folder without colliding.
pub fn population_jobs(
    settings: &ValiditySettings,
    knob_of: &dyn Fn(&str) -> Result<String>,
) -> Result<Vec<PopulationJob>> {
    settings.validate()?;
    let mut out = Vec::new();
    let mut config_index = 0;
    for &q_factor in &settings.q_factors {
        let toy = settings.toy.with_q_factor(q_factor);
        for arch in &settings.architectures {
            let levels = settings.sparsity[arch].clone();
            let train = TrainSettings {
                architectures: vec![arch.clone()],
                widths: vec![settings.d_sae],
                sparsity: [(arch.clone(), levels)].into(),
                seeds: settings.seeds.clone(),
                toy_seed: settings.toy_seed,
                steps: settings.steps,
                batch_size: settings.batch_size,
                lr: settings.lr,
                eval_every: 0,
                eval_samples: settings.eval_samples,
                hyperparameters: settings.hyperparameters.clone(),
            };
            // `jobs` enumerates width × sparsity × seed for one architecture:
            // consecutive runs of `seeds.len()` jobs share a configuration.
            for (i, mut job) in jobs(&train, &toy, knob_of)?.into_iter().enumerate() {
                job.id = format!("q{q_factor}-{}", job.id);
                out.push(PopulationJob {
                    job,
                    q_factor,
                    config_index: config_index + i / settings.seeds.len(),
                });
            }
            config_index += settings.sparsity[arch].len();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Sparsity;
    use std::collections::BTreeMap;

    /// The knobs the in-tree plugins declare (the tests load no plugin).
    fn knob(arch: &str) -> Result<String> {
        Ok(match arch {
            "topk" => "k",
            "relu" => "l1_coefficient",
            "jumprelu" => "l0_coefficient",
            other => anyhow::bail!("no plugin `{other}`"),
        }
        .to_string())
    }

    #[test]
    fn population_is_the_full_product_with_unique_ids_and_configs() {
        let s = ValiditySettings {
            architectures: vec!["topk".into(), "relu".into()],
            sparsity: BTreeMap::from([("topk".into(), vec![1.0, 2.0]), ("relu".into(), vec![0.1])]),
            q_factors: vec![0.0, 1.0],
            seeds: vec![3, 4],
            ..ValiditySettings::default()
        };
        let jobs = population_jobs(&s, &knob).unwrap();
        assert_eq!(jobs.len(), 2 * (2 + 1) * 2);
        let ids: std::collections::BTreeSet<&str> =
            jobs.iter().map(|j| j.job.id.as_str()).collect();
        assert_eq!(ids.len(), jobs.len(), "ids are unique");
        assert_eq!(jobs[0].job.id, "q0-topk-w16-k1-s3");
        assert_eq!(jobs[0].job.sparsity, Sparsity::new("k", 1.0));
        assert_eq!(jobs[4].job.sparsity, Sparsity::new("l1_coefficient", 0.1));
        // Seeds of one configuration share its index; 6 configurations.
        let configs: Vec<usize> = jobs.iter().map(|j| j.config_index).collect();
        assert_eq!(configs, vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // The co-occurrence level reaches the toy config the SAE trains on.
        assert_ne!(jobs[0].job.toy, jobs[6].job.toy);
        assert_eq!(jobs[6].q_factor, 1.0);
    }

    #[test]
    fn missing_sparsity_entries_and_bad_levels_are_named() {
        let mut s = ValiditySettings::default();
        s.sparsity.remove("relu");
        let err = population_jobs(&s, &knob).unwrap_err().to_string();
        assert!(
            err.contains("[validity].sparsity") && err.contains("relu"),
            "{err}"
        );
        let s = ValiditySettings {
            q_factors: vec![1.5],
            ..ValiditySettings::default()
        };
        let err = population_jobs(&s, &knob).unwrap_err().to_string();
        assert!(err.contains("q_factors[0]"), "{err}");
    }
}
