//! Hyperparameters of one training run, shared by every architecture. Each
//! architecture reads the fields it needs (documented per field) and
//! declares its defaults in its `SaeSpec::default_hyperparameters`; the host
//! merges a user's values over those. Unknown fields are errors.

use serde::{Deserialize, Serialize};

/// One SAE training run. Every random choice flows from `seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Number of latents `d_sae`.
    pub d_sae: usize,
    /// Rows per optimiser step.
    pub batch_size: usize,
    /// Optimiser steps (the run reads `steps · batch_size` training rows).
    pub steps: u64,
    /// Peak learning rate of AdamW.
    pub lr: f64,
    /// Linear warm-up steps from 0 to `lr`.
    pub lr_warmup_steps: u64,
    /// Fraction of the run, at its end, over which the rate decays linearly to 0.
    pub lr_decay_fraction: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub adam_eps: f64,
    /// AdamW decoupled weight decay (0: plain Adam, as SAELens).
    pub weight_decay: f64,
    /// Seed of the parameter initialisation.
    pub seed: u64,
    /// Rescale decoder rows to unit norm after every step (the usual gauge fix;
    /// the architecture's sparsity terms then see unit-norm directions).
    pub normalize_decoder: bool,
    /// A latent that has not fired on the last this-many training rows is dead.
    pub dead_after_rows: u64,
    /// AuxK loss (Gao et al. 2024) coefficient, for architectures that use it
    /// (TopK, BatchTopK, Matryoshka): the `aux_k` largest pre-activations of
    /// dead latents reconstruct the residual `x − x̂`.
    pub aux_k_coefficient: f64,
    /// `k_aux`; 0 means `d_in / 2`.
    pub aux_k: usize,
    /// Active latents per row (TopK: rounded to an integer), mean active
    /// latents per row (BatchTopK, Matryoshka: `round(k · batch)` per batch).
    pub k: f64,
    /// L1 coefficient `λ` of ReLU (standard) and Gated SAEs.
    pub l1_coefficient: f64,
    /// L0 coefficient of JumpReLU SAEs.
    pub l0_coefficient: f64,
    /// Initial JumpReLU threshold.
    pub jumprelu_init_threshold: f64,
    /// Width `ε` of the rectangle kernel of the JumpReLU straight-through estimator.
    pub jumprelu_bandwidth: f64,
    /// BatchTopK / Matryoshka: momentum of the running inference threshold
    /// (exponential average of the smallest selected activation per batch).
    pub threshold_momentum: f64,
    /// Matryoshka nested prefix sizes (ascending, each `< d_sae`; `d_sae` is
    /// always the last). Empty: `d_sae/8, d_sae/4, d_sae/2`.
    pub matryoshka_prefixes: Vec<usize>,
    /// Training rows held out (the first rows streamed) for the periodic
    /// rate/distortion report; never trained on.
    pub eval_rows: usize,
    /// Report held-out rate/distortion every this many steps (0: only at the end).
    pub eval_every: u64,
    /// Report training loss every this many steps.
    pub log_every: u64,
    /// Write a SAELens checkpoint folder every this many steps (0: never).
    pub checkpoint_every: u64,
    /// Where checkpoints go (`<dir>/step_<n>/`); required when `checkpoint_every > 0`.
    pub checkpoint_dir: Option<String>,
    /// `cpu` or `cuda` (`cuda:N`); CUDA needs the `cuda` feature.
    pub device: String,
    /// Hyperparameters an architecture declares in its `SaeSpec` that have
    /// no field above (filled by [`TrainConfig::from_json_for`]; read them
    /// with [`TrainConfig::extra_f64`]). This is how a new architecture adds
    /// its own knobs without changing this struct.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            d_sae: 64,
            batch_size: 1024,
            steps: 1000,
            lr: 1e-3,
            lr_warmup_steps: 0,
            lr_decay_fraction: 0.2,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_eps: 1e-8,
            weight_decay: 0.0,
            seed: 0,
            normalize_decoder: true,
            dead_after_rows: 20_000,
            aux_k_coefficient: 1.0 / 32.0,
            aux_k: 0,
            k: 4.0,
            l1_coefficient: 0.3,
            l0_coefficient: 0.5,
            jumprelu_init_threshold: 0.1,
            jumprelu_bandwidth: 0.5,
            threshold_momentum: 0.99,
            matryoshka_prefixes: Vec::new(),
            eval_rows: 2048,
            eval_every: 0,
            log_every: 50,
            checkpoint_every: 0,
            checkpoint_dir: None,
            device: "cpu".to_string(),
            extra: serde_json::Map::new(),
        }
    }
}

impl TrainConfig {
    /// Parses a JSON object (missing fields take the defaults above).
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error_free(de)
    }

    /// Parses a training config for an architecture: each key that `spec`
    /// declares as a hyperparameter but this struct has no field for goes to
    /// [`extra`](Self::extra) (checked against its declaration; a missing one
    /// takes its declared default); every other key must be a field here.
    pub fn from_json_for(text: &str, spec: &rdpbench_api::SaeSpec) -> anyhow::Result<Self> {
        let mut value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| anyhow::anyhow!("training config: {e}"))?;
        let obj = value
            .as_object_mut()
            .ok_or_else(|| anyhow::anyhow!("training config: expected a JSON object"))?;
        let fields = match serde_json::to_value(Self::default()) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => unreachable!("TrainConfig serializes to an object"),
        };
        let mut extra = serde_json::Map::new();
        for h in &spec.hyperparameters {
            if fields.contains_key(&h.name) || h.name == "extra" {
                continue;
            }
            let v = obj.remove(&h.name).unwrap_or_else(|| h.default.clone());
            h.check(&v)
                .map_err(|e| anyhow::anyhow!("training config: {e}"))?;
            extra.insert(h.name.clone(), v);
        }
        let mut config = Self::from_json(&value.to_string())?;
        config.extra.extend(extra);
        Ok(config)
    }

    /// The architecture-declared hyperparameter `name` from
    /// [`extra`](Self::extra), as a number.
    pub fn extra_f64(&self, name: &str) -> anyhow::Result<f64> {
        self.extra.get(name).and_then(|v| v.as_f64()).ok_or_else(|| {
            anyhow::anyhow!(
                "training config: `{name}` is not a numeric hyperparameter declared by this architecture"
            )
        })
    }

    /// Learning rate at `step` (warm-up, constant, linear decay).
    pub fn lr_at(&self, step: u64) -> f64 {
        let warm = if self.lr_warmup_steps > 0 && step < self.lr_warmup_steps {
            (step + 1) as f64 / self.lr_warmup_steps as f64
        } else {
            1.0
        };
        let decay_steps = (self.lr_decay_fraction.clamp(0.0, 1.0) * self.steps as f64) as u64;
        let decay_start = self.steps.saturating_sub(decay_steps);
        let decay = if decay_steps > 0 && step >= decay_start {
            (self.steps - step) as f64 / decay_steps as f64
        } else {
            1.0
        };
        self.lr * warm * decay
    }

    /// `k` rounded to a whole number of latents per row (at least 1), for TopK.
    pub fn k_per_row(&self) -> usize {
        (self.k.round() as usize).max(1)
    }

    /// Matryoshka prefixes, resolved (ascending, ending with `d_sae`).
    pub fn prefixes(&self) -> Vec<usize> {
        let mut p: Vec<usize> = if self.matryoshka_prefixes.is_empty() {
            vec![self.d_sae / 8, self.d_sae / 4, self.d_sae / 2]
        } else {
            self.matryoshka_prefixes.clone()
        };
        p.retain(|&m| m > 0 && m < self.d_sae);
        p.push(self.d_sae);
        p.sort_unstable();
        p.dedup();
        p
    }

    /// Checks ranges; errors name the field.
    pub fn validate(&self, d_in: usize) -> anyhow::Result<()> {
        use anyhow::ensure;
        ensure!(d_in > 0, "the data source has d_in = 0");
        ensure!(self.d_sae > 0, "training config: `d_sae` must be > 0");
        ensure!(
            self.batch_size > 0,
            "training config: `batch_size` must be > 0"
        );
        ensure!(
            self.lr > 0.0 && self.lr.is_finite(),
            "training config: `lr` must be > 0"
        );
        ensure!(
            self.k > 0.0 && self.k <= self.d_sae as f64,
            "training config: `k` = {} must be in (0, d_sae = {}]",
            self.k,
            self.d_sae
        );
        ensure!(
            self.checkpoint_every == 0 || self.checkpoint_dir.is_some(),
            "training config: `checkpoint_every` > 0 needs `checkpoint_dir`"
        );
        ensure!(
            self.jumprelu_bandwidth > 0.0,
            "training config: `jumprelu_bandwidth` must be > 0"
        );
        ensure!(
            self.jumprelu_init_threshold > 0.0,
            "training config: `jumprelu_init_threshold` must be > 0"
        );
        Ok(())
    }
}

fn serde_path_to_error_free(
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
) -> anyhow::Result<TrainConfig> {
    let c = TrainConfig::deserialize(de).map_err(|e| anyhow::anyhow!("training config: {e}"))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_api::sae::{Hyperparameter, SaeSpec, ValueType};

    fn spec() -> SaeSpec {
        SaeSpec {
            id: "x".into(),
            hyperparameters: vec![
                Hyperparameter::new("l1_coefficient", ValueType::Float, 0.3, "").min(0.0),
                Hyperparameter::new("warmup", ValueType::Int, 10, "").min(0.0),
            ],
            ..SaeSpec::default()
        }
    }

    #[test]
    fn declared_extra_hyperparameters_are_parsed_checked_and_defaulted() {
        let c =
            TrainConfig::from_json_for(r#"{"warmup": 5, "l1_coefficient": 0.1}"#, &spec()).unwrap();
        assert_eq!(c.extra_f64("warmup").unwrap(), 5.0);
        assert_eq!(c.l1_coefficient, 0.1);
        let c = TrainConfig::from_json_for("{}", &spec()).unwrap();
        assert_eq!(c.extra_f64("warmup").unwrap(), 10.0);
        let e = TrainConfig::from_json_for(r#"{"warmup": -1}"#, &spec()).unwrap_err();
        assert!(
            e.to_string().contains("`warmup` = -1 is out of range"),
            "{e}"
        );
        // Undeclared unknown keys are still errors.
        let e = TrainConfig::from_json_for(r#"{"wramup": 1}"#, &spec()).unwrap_err();
        assert!(e.to_string().contains("unknown field `wramup`"), "{e}");
        // Extras survive a round trip (the resume state stores the config).
        let back = TrainConfig::from_json(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(c.extra_f64("nope").is_err());
    }
}
