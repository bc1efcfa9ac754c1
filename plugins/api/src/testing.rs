//! Checks a plugin's own `cargo test` can run without the host.
//!
//! [`check_examples`] replays the worked examples a metric declares in its
//! spec; [`check_sae_spec`] checks what an SAE architecture declares. The necessary conditions (C1-C11) need toy models and live in
//! `rdpbench_core::testing`.

use crate::data::{CsrMatrix, DenseMatrix};
use crate::metric::{Example, Input, Metric, MetricInput, MetricOutput};
use anyhow::{Context, Result, bail, ensure};

/// Relative tolerance for declared example values.
pub const EXAMPLE_RTOL: f64 = 1e-6;

fn dense(rows: &[Vec<f32>], what: &str) -> Result<DenseMatrix> {
    let n = rows.len();
    let d = rows.first().map_or(0, |r| r.len());
    ensure!(
        rows.iter().all(|r| r.len() == d),
        "example `{what}` has rows of different lengths"
    );
    DenseMatrix::from_vec(n, d, rows.concat())
}

/// Owned data of one example, in the shapes a [`MetricInput`] borrows.
#[derive(Debug)]
pub struct ExampleData {
    pub decoder: Option<DenseMatrix>,
    pub encoder: Option<DenseMatrix>,
    pub activations: Option<DenseMatrix>,
    pub codes: Option<CsrMatrix>,
    pub labels: Option<CsrMatrix>,
    pub concept_directions: Option<DenseMatrix>,
}

impl ExampleData {
    pub fn from_example(ex: &Example) -> Result<Self> {
        let d = |m: &Option<Vec<Vec<f32>>>, what| m.as_deref().map(|r| dense(r, what)).transpose();
        Ok(Self {
            decoder: d(&ex.decoder, "decoder")?,
            encoder: d(&ex.encoder, "encoder")?,
            activations: d(&ex.activations, "activations")?,
            codes: d(&ex.codes, "codes")?.map(|m| CsrMatrix::from_dense(&m.view())),
            labels: d(&ex.labels, "labels")?.map(|m| {
                let mut c = CsrMatrix::from_dense(&m.view());
                c.values.clear();
                c
            }),
            concept_directions: d(&ex.concept_directions, "concept_directions")?,
        })
    }

    /// A [`MetricInput`] holding only the inputs in `inputs`.
    pub fn input<'a>(&'a self, inputs: &[Input]) -> MetricInput<'a> {
        let has = |i: Input| inputs.contains(&i);
        let n_tokens = self
            .activations
            .as_ref()
            .map(|m| m.rows)
            .or(self.codes.as_ref().map(|c| c.n_rows))
            .or(self.labels.as_ref().map(|c| c.n_rows))
            .unwrap_or(0);
        let d_sae = self
            .decoder
            .as_ref()
            .map(|m| m.rows)
            .or(self.codes.as_ref().map(|c| c.n_cols))
            .or(self.encoder.as_ref().map(|m| m.cols))
            .unwrap_or(0);
        let d_in = self
            .decoder
            .as_ref()
            .map(|m| m.cols)
            .or(self.activations.as_ref().map(|m| m.cols))
            .unwrap_or(0);
        MetricInput {
            n_tokens,
            d_in,
            d_sae,
            n_concepts: self.labels.as_ref().map_or(0, |c| c.n_cols),
            decoder: self
                .decoder
                .as_ref()
                .filter(|_| has(Input::Decoder))
                .map(|m| m.view()),
            encoder: self
                .encoder
                .as_ref()
                .filter(|_| has(Input::Encoder))
                .map(|m| m.view()),
            activations: self
                .activations
                .as_ref()
                .filter(|_| has(Input::Activations))
                .map(|m| m.view()),
            codes: self
                .codes
                .as_ref()
                .filter(|_| has(Input::Codes))
                .map(|c| c.view()),
            labels: self
                .labels
                .as_ref()
                .filter(|_| has(Input::Labels))
                .map(|c| c.view()),
            concept_directions: self
                .concept_directions
                .as_ref()
                .filter(|_| has(Input::ConceptDirections))
                .map(|m| m.view()),
            config: "{}",
            per_latent: true,
        }
    }
}

/// Runs every example the metric declares and checks the declared answer.
/// Fails when the spec declares no example, so that a one-line test
/// `check_examples(&MyMetric).unwrap()` always checks something.
pub fn check_examples(metric: &dyn Metric) -> Result<usize> {
    let spec = metric.spec();
    spec.validate()?;
    if spec.examples.is_empty() {
        bail!("metric {:?} declares no examples", spec.id);
    }
    for (k, ex) in spec.examples.iter().enumerate() {
        let ctx = || format!("metric {:?}, example {k} ({})", spec.id, ex.description);
        let data = ExampleData::from_example(ex).with_context(ctx)?;
        let out = metric
            .compute(&data.input(&spec.inputs))
            .with_context(ctx)?;
        match (ex.expected, &out) {
            (Some(want), MetricOutput::Value { value, .. }) => {
                let tol = EXAMPLE_RTOL * want.abs().max(value.abs()).max(1e-12);
                ensure!(
                    (value - want).abs() <= tol,
                    "{}: expected {want}, got {value}",
                    ctx()
                );
            }
            (None, MetricOutput::Undefined { .. }) => {}
            (Some(want), MetricOutput::Undefined { reason }) => {
                bail!("{}: expected {want}, got undefined ({reason})", ctx())
            }
            (None, MetricOutput::Value { value, .. }) => {
                bail!("{}: expected undefined, got {value}", ctx())
            }
        }
    }
    Ok(spec.examples.len())
}

/// Runs `metric` on dense `codes` `[n_tokens][d_sae]` and 0/1 `labels`
/// `[n_tokens][n_concepts]`, giving it only those two inputs (what a
/// codes-and-labels metric's property tests need).
pub fn compute_on_codes_and_labels(
    metric: &dyn Metric,
    codes: Vec<Vec<f32>>,
    labels: Vec<Vec<f32>>,
) -> Result<MetricOutput> {
    let ex = Example {
        codes: Some(codes),
        labels: Some(labels),
        ..Example::default()
    };
    let data = ExampleData::from_example(&ex)?;
    metric.compute(&data.input(&[Input::Codes, Input::Labels]))
}

/// A fixed, irregular codes/labels pair for property tests, from
/// `h(a, b) = (37a + 11b + ab) mod 7`: 30 tokens; 4 latents, latent `j`
/// active on token `t` iff `h(t, j) < 3`, with value `h(t, j + 9) + 0.5`;
/// 3 concepts, concept `c` present iff `h(t + 3, c) < 2`.
pub fn hashed_codes_and_labels() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let h = |a: usize, b: usize| (a * 37 + b * 11 + a * b) % 7;
    let codes = (0..30)
        .map(|t| {
            (0..4)
                .map(|j| {
                    if h(t, j) < 3 {
                        h(t, j + 9) as f32 + 0.5
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let labels = (0..30)
        .map(|t| {
            (0..3)
                .map(|c| if h(t + 3, c) < 2 { 1.0 } else { 0.0 })
                .collect()
        })
        .collect();
    (codes, labels)
}

/// Checks an SAE architecture's declaration against itself and against the
/// plugin's own config parser: the spec is consistent ([`SaeSpec::validate`]),
/// it declares its hyperparameters and a sparsity knob among them, the
/// declared defaults pass [`SaeSpec::validate_hyperparameters`], and
/// `parse_config` (the plugin's training-config parser) accepts the declared
/// defaults as a complete config, and accepts each range's bounds too.
///
/// SDK-trained plugins call `rdpbench_train::testing::check_architecture`,
/// which passes the SDK's parser and also trains a tiny SAE.
pub fn check_sae_spec(
    spec: &crate::sae::SaeSpec,
    parse_config: impl Fn(&str) -> Result<()>,
) -> Result<()> {
    spec.validate()?;
    let id = &spec.id;
    ensure!(
        !spec.hyperparameters.is_empty(),
        "`{id}` declares no hyperparameters"
    );
    let knob = spec
        .sparsity_knob
        .as_deref()
        .with_context(|| format!("`{id}` declares no sparsity knob"))?;
    ensure!(
        spec.hyperparameter(knob).is_some(),
        "`{id}`: sparsity knob `{knob}` is not among its hyperparameters"
    );
    spec.validate_hyperparameters(&spec.default_hyperparameters)?;
    let defaults = spec.default_hyperparameters.to_string();
    parse_config(&defaults).with_context(|| {
        format!("`{id}`: its own config parser refuses its declared defaults {defaults}")
    })?;
    // Each finite inclusive bound of a numeric hyperparameter is a value the
    // declaration allows, so the parser must take it too.
    for h in &spec.hyperparameters {
        let Some(r) = h.range else { continue };
        if !matches!(
            h.kind,
            crate::sae::ValueType::Int | crate::sae::ValueType::Float
        ) {
            continue;
        }
        for (bound, exclusive) in [(r.min, r.min_exclusive), (r.max, r.max_exclusive)] {
            let Some(b) = bound.filter(|_| !exclusive) else {
                continue;
            };
            let mut config = spec.default_hyperparameters.clone();
            config[h.name.as_str()] = match h.kind {
                crate::sae::ValueType::Int => serde_json::json!(b as i64),
                _ => serde_json::json!(b),
            };
            spec.validate_hyperparameters(&config)?;
            parse_config(&config.to_string()).with_context(|| {
                format!(
                    "`{id}`: its own config parser refuses `{}` = {b}, which its range allows",
                    h.name
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod helper_tests {
    use super::*;
    use crate::sae::{Hyperparameter, SaeSpec, ValueType};

    fn spec() -> SaeSpec {
        let hyperparameters =
            vec![Hyperparameter::new("l1_coefficient", ValueType::Float, 0.3, "").min(0.0)];
        SaeSpec {
            id: "s".into(),
            saelens_architecture: "standard".into(),
            default_hyperparameters: Hyperparameter::defaults(&hyperparameters),
            hyperparameters,
            sparsity_knob: Some("l1_coefficient".into()),
            ..SaeSpec::default()
        }
    }

    #[test]
    fn check_sae_spec_runs_the_parser_on_defaults_and_bounds() {
        let seen = std::cell::RefCell::new(Vec::new());
        check_sae_spec(&spec(), |json| {
            seen.borrow_mut().push(json.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            *seen.borrow(),
            [r#"{"l1_coefficient":0.3}"#, r#"{"l1_coefficient":0.0}"#]
        );
        // A parser that refuses the lower bound is caught.
        let e = check_sae_spec(&spec(), |json| {
            ensure!(!json.contains("0.0"), "l1 must be > 0");
            Ok(())
        })
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("refuses `l1_coefficient` = 0"),
            "{e:#}"
        );
        let mut no_knob = spec();
        no_knob.sparsity_knob = None;
        let e = check_sae_spec(&no_knob, |_| Ok(())).unwrap_err();
        assert_eq!(e.to_string(), "`s` declares no sparsity knob");
    }

    #[test]
    fn hashed_codes_and_labels_has_the_documented_shape() {
        let (codes, labels) = hashed_codes_and_labels();
        assert_eq!((codes.len(), codes[0].len()), (30, 4));
        assert_eq!((labels.len(), labels[0].len()), (30, 3));
        // h(0, 0) = 0 < 3: latent 0 fires on token 0 with h(0, 9) + 0.5 = 99 mod 7 + 0.5.
        assert_eq!(codes[0][0], (99 % 7) as f32 + 0.5);
        let active: usize = codes.iter().flatten().filter(|v| **v > 0.0).count();
        assert!(active > 30 && active < 90, "{active} of 120 active");
    }
}
