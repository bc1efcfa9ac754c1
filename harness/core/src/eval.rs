//! Evaluating a metric on an [`EvalCase`]: the host's side of the contract.
//!
//! The harness passes a metric exactly the inputs it declares
//! ([`metric_input`]), checks that what comes back is finite or explicitly
//! undefined ([`evaluate`]), and restricts cases to resampled rows for the
//! paired bootstrap ([`take_rows`]).

use crate::toy::EvalCase;
use anyhow::{Result, bail};
use rdpbench_sdk::{CsrMatrix, DenseMatrix, Input, Metric, MetricInput, MetricOutput, MetricSpec};
use serde::Serialize;

/// One evaluation's outcome, oriented so that higher = more polysemantic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Score {
    Value { value: f64 },
    Undefined { reason: String },
}

impl Score {
    pub fn value(&self) -> Option<f64> {
        match self {
            Score::Value { value } => Some(*value),
            Score::Undefined { .. } => None,
        }
    }

    /// The metric's reason, where it declared itself undefined.
    pub fn undefined_reason(&self) -> Option<&str> {
        match self {
            Score::Value { .. } => None,
            Score::Undefined { reason } => Some(reason),
        }
    }
}

/// Whether the metric can be evaluated on `case`: an encoder-reading metric
/// needs a case with a faithful encoder.
pub fn applicable(spec: &MetricSpec, case: &EvalCase) -> bool {
    !spec.reads(Input::Encoder) || case.encoder.is_some()
}

/// Whether the metric reads anything that has one row per token; if not,
/// resampling rows cannot change its value.
pub fn reads_rows(spec: &MetricSpec) -> bool {
    spec.reads(Input::Activations) || spec.reads(Input::Codes) || spec.reads(Input::Labels)
}

/// The [`MetricInput`] for `case` holding only the inputs `spec` declares.
pub fn metric_input<'a>(spec: &MetricSpec, case: &'a EvalCase) -> MetricInput<'a> {
    let has = |i| spec.reads(i);
    MetricInput {
        n_tokens: case.n_tokens(),
        d_in: case.d_in(),
        d_sae: case.d_sae(),
        n_concepts: case.labels.n_cols,
        decoder: has(Input::Decoder).then(|| case.decoder.view()),
        encoder: if has(Input::Encoder) {
            case.encoder.as_ref().map(DenseMatrix::view)
        } else {
            None
        },
        activations: has(Input::Activations).then(|| case.activations.view()),
        codes: has(Input::Codes).then(|| case.codes.view()),
        labels: has(Input::Labels).then(|| case.labels.view()),
        concept_directions: has(Input::ConceptDirections).then(|| case.directions.view()),
        config: "{}",
        per_latent: false,
    }
}

/// Evaluates `metric` on `case` and orients the result. A non-finite value
/// is an error (never a silent NaN); an explicit "undefined" is a result.
pub fn evaluate(metric: &dyn Metric, spec: &MetricSpec, case: &EvalCase) -> Result<Score> {
    if !applicable(spec, case) {
        bail!(
            "metric `{}` reads an encoder but this case has none",
            spec.id
        );
    }
    match metric.compute(&metric_input(spec, case))? {
        MetricOutput::Value { value, .. } if value.is_finite() => Ok(Score::Value {
            value: spec.orientation.orient(value),
        }),
        MetricOutput::Value { value, .. } => bail!(
            "metric `{}` returned {value}: return a finite value or MetricOutput::Undefined",
            spec.id
        ),
        MetricOutput::Undefined { reason } => Ok(Score::Undefined { reason }),
    }
}

fn take_dense_rows(m: &DenseMatrix, rows: &[usize]) -> DenseMatrix {
    let mut data = Vec::with_capacity(rows.len() * m.cols);
    for &r in rows {
        data.extend_from_slice(m.row(r));
    }
    DenseMatrix {
        rows: rows.len(),
        cols: m.cols,
        data,
    }
}

fn take_csr_rows(m: &CsrMatrix, rows: &[usize]) -> CsrMatrix {
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    indptr.push(0u64);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    for &r in rows {
        let (a, b) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
        indices.extend_from_slice(&m.indices[a..b]);
        if !m.values.is_empty() {
            values.extend_from_slice(&m.values[a..b]);
        }
        indptr.push(indices.len() as u64);
    }
    CsrMatrix {
        n_rows: rows.len(),
        n_cols: m.n_cols,
        indptr,
        indices,
        values,
    }
}

/// `case` restricted to `rows` (with repetition, in that order). Only the
/// per-row inputs `spec` reads are copied; the others are left empty with
/// the right number of columns, since the metric never sees them.
pub fn take_rows(case: &EvalCase, rows: &[usize], spec: &MetricSpec) -> EvalCase {
    let empty_dense = |cols| DenseMatrix {
        rows: rows.len(),
        cols,
        data: Vec::new(),
    };
    EvalCase {
        decoder: case.decoder.clone(),
        encoder: case.encoder.clone(),
        activations: if spec.reads(Input::Activations) {
            take_dense_rows(&case.activations, rows)
        } else {
            empty_dense(case.activations.cols)
        },
        codes: if spec.reads(Input::Codes) {
            take_csr_rows(&case.codes, rows)
        } else {
            CsrMatrix::with_cols(case.codes.n_cols)
        },
        labels: if spec.reads(Input::Labels) {
            take_csr_rows(&case.labels, rows)
        } else {
            CsrMatrix::with_cols(case.labels.n_cols)
        },
        directions: case.directions.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpbench_sdk::Orientation;

    fn spec(inputs: Vec<Input>, orientation: Orientation) -> MetricSpec {
        MetricSpec {
            id: "t".into(),
            version: "1".into(),
            description: String::new(),
            citation: String::new(),
            orientation,
            inputs,
            examples: vec![],
        }
    }

    fn case() -> EvalCase {
        let codes = CsrMatrix::from_dense(
            &DenseMatrix::from_vec(3, 2, vec![1.0, 0.0, 0.0, 2.0, 3.0, 4.0])
                .unwrap()
                .view(),
        );
        EvalCase {
            decoder: DenseMatrix::from_vec(2, 2, vec![1.0, 0.0, 0.0, 1.0]).unwrap(),
            encoder: None,
            activations: DenseMatrix::from_vec(3, 2, vec![1.0, 0.0, 0.0, 2.0, 3.0, 4.0]).unwrap(),
            labels: codes.clone(),
            codes,
            directions: DenseMatrix::from_vec(2, 2, vec![1.0, 0.0, 0.0, 1.0]).unwrap(),
        }
    }

    #[test]
    fn only_declared_inputs_are_passed() {
        let c = case();
        let s = spec(vec![Input::Codes], Orientation::HigherIsMorePolysemantic);
        let x = metric_input(&s, &c);
        assert!(x.codes.is_some());
        assert!(x.decoder.is_none() && x.activations.is_none() && x.labels.is_none());
        assert!(x.concept_directions.is_none() && x.encoder.is_none());
        assert_eq!((x.n_tokens, x.d_in, x.d_sae), (3, 2, 2));
    }

    #[test]
    fn take_rows_repeats_and_reorders_rows() {
        let c = case();
        let s = spec(
            vec![Input::Codes, Input::Activations],
            Orientation::HigherIsMorePolysemantic,
        );
        let t = take_rows(&c, &[2, 0, 2], &s);
        assert_eq!(t.activations.data, vec![3.0, 4.0, 1.0, 0.0, 3.0, 4.0]);
        assert_eq!(t.codes.to_dense().data, vec![3.0, 4.0, 1.0, 0.0, 3.0, 4.0]);
        assert_eq!(t.labels.n_rows, 0, "labels not declared, not copied");
    }

    struct Const(f64);
    impl Metric for Const {
        fn spec(&self) -> MetricSpec {
            spec(vec![Input::Codes], Orientation::HigherIsLessPolysemantic)
        }
        fn compute(&self, _: &MetricInput<'_>) -> Result<MetricOutput> {
            Ok(MetricOutput::value(self.0))
        }
    }

    #[test]
    fn evaluate_orients_and_rejects_nan() {
        let c = case();
        let m = Const(2.5);
        assert_eq!(evaluate(&m, &m.spec(), &c).unwrap().value(), Some(-2.5));
        let m = Const(f64::NAN);
        let err = evaluate(&m, &m.spec(), &c).unwrap_err().to_string();
        assert!(err.contains("NaN"), "{err}");
    }
}
