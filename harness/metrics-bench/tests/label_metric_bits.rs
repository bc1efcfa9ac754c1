//! Bit-for-bit regression of the five label-statistics metrics
//! (concept-entropy, concept-purity, js-separability, top-activation-purity,
//! feature-absorption) on seeded inputs.
//!
//! The recorded bits were printed by this test on the code *before* the
//! metrics' per-latent label statistics moved into one shared helper
//! (`rdpbench_kernels::label_stats`); the refactor must not change a bit of
//! any value or per-latent score. Inputs: small seeded workloads
//! (`rdpbench_metrics_bench::workload`, parent/child labels, so tokens carry
//! 0-4 labels and feature absorption is defined), each as generated, with
//! every 5th stored code made negative (not a firing), and with the code
//! values dropped (pattern-only: every stored entry fires). One input spans
//! several token chunks (> 32768 tokens).
//!
//! To re-record after an intended change: run
//! `cargo test -p rdpbench-metrics-bench --test label_metric_bits -- --nocapture`
//! and copy the printed table.

use rdpbench_metrics_bench::workload::{Workload, WorkloadSpec};
use rdpbench_sdk::{CsrMatrix, CsrView, Metric, MetricInput, MetricOutput};

/// `(input, metric id, value bits, per-latent digest)`; the digest is
/// FNV-1a over each per-latent score's bits (`u64::MAX` for "no score"),
/// 0 when the metric returns no per-latent scores. An undefined output
/// records `u64::MAX` as its value bits.
#[rustfmt::skip]
const RECORDED: &[(&str, &str, u64, u64)] = &[
    ("s1", "concept-entropy", 0x402a5a97ed4a2919, 0x5ac1e31994027269),
    ("s1", "concept-purity", 0x3fcda1df987d91d8, 0x8f96e2ea4b36464a),
    ("s1", "js-separability", 0x3fc42ae7e0d496d6, 0xae234870fa8103f3),
    ("s1", "top-activation-purity", 0x3fd6b1e653c0b50d, 0xb598db05789c2c23),
    ("s1", "feature-absorption", 0x0000000000000000, 0x0000000000000000),
    ("s1-neg", "concept-entropy", 0x402928614ac7ba75, 0x052fd83ba020524a),
    ("s1-neg", "concept-purity", 0x3fce4afee6e84a99, 0xdcf6857dea642f8a),
    ("s1-neg", "js-separability", 0x3fc22c6c2294e7d5, 0x6785965ffca2b181),
    ("s1-neg", "top-activation-purity", 0x3fd827eac20d4349, 0x42e51d041fcad1fd),
    ("s1-neg", "feature-absorption", 0x3fc3b13b13b13b14, 0x0000000000000000),
    ("s1-pattern", "concept-entropy", 0x402a5a97ed4a2919, 0x5ac1e31994027269),
    ("s1-pattern", "concept-purity", 0x3fcda1df987d91d8, 0x8f96e2ea4b36464a),
    ("s1-pattern", "js-separability", 0x3fc084cc802d6d21, 0x6a9ac0353d786777),
    ("s1-pattern", "top-activation-purity", 0x3fcda1df987d91d8, 0x8f96e2ea4b36464a),
    ("s1-pattern", "feature-absorption", 0x0000000000000000, 0x0000000000000000),
    ("s2", "concept-entropy", 0x4029e278cbe6d019, 0xdf008d8141464b5a),
    ("s2", "concept-purity", 0x3fcd226f1cd38dbd, 0x461b5dbf9bc1bb73),
    ("s2", "js-separability", 0x3fc4345a7c1d9d4c, 0xb9f58b9dbcbc3f88),
    ("s2", "top-activation-purity", 0x3fd762bdec5f5455, 0xfb0c1fdf8eb524f6),
    ("s2", "feature-absorption", 0x0000000000000000, 0x0000000000000000),
    ("s2-neg", "concept-entropy", 0x4028b3a423e4ee7b, 0x791ced6df09ca44d),
    ("s2-neg", "concept-purity", 0x3fce031d5bc7480b, 0xdcfab880d4bc2216),
    ("s2-neg", "js-separability", 0x3fc23b6f8fc44f6a, 0x48de53fc1c6f23f4),
    ("s2-neg", "top-activation-purity", 0x3fd895545473def4, 0x17edf81908c1ea68),
    ("s2-neg", "feature-absorption", 0x3fc31f44a3f08d84, 0x0000000000000000),
    ("s2-pattern", "concept-entropy", 0x4029e278cbe6d019, 0xdf008d8141464b5a),
    ("s2-pattern", "concept-purity", 0x3fcd226f1cd38dbd, 0x461b5dbf9bc1bb73),
    ("s2-pattern", "js-separability", 0x3fc0afee26cf0198, 0xc01c86e520c59caf),
    ("s2-pattern", "top-activation-purity", 0x3fcd226f1cd38dbd, 0x461b5dbf9bc1bb73),
    ("s2-pattern", "feature-absorption", 0x0000000000000000, 0x0000000000000000),
    ("large", "concept-entropy", 0x402d6edca36e9d98, 0xf06ce4000386b659),
    ("large", "concept-purity", 0x3fc75269c3093937, 0x4ce67617d54a4fcd),
    ("large", "js-separability", 0x3fc04b219afa1233, 0x1c782371a1671ff2),
    ("large", "top-activation-purity", 0x3fccc1067ec062ef, 0x9de0a7cf99807d59),
    ("large", "feature-absorption", 0x0000000000000000, 0x0000000000000000),
];

fn metrics() -> Vec<Box<dyn Metric>> {
    vec![
        Box::new(rdpbench_metric_concept_entropy::ConceptEntropy),
        Box::new(rdpbench_metric_concept_purity::ConceptPurity),
        Box::new(rdpbench_metric_js_separability::JsSeparability),
        Box::new(rdpbench_metric_top_activation_purity::TopActivationPurity),
        Box::new(rdpbench_metric_feature_absorption::FeatureAbsorption),
    ]
}

fn inputs() -> Vec<(String, CsrMatrix, CsrMatrix)> {
    let small = |seed| WorkloadSpec {
        n_tokens: 3000,
        d_sae: 512,
        d_in: 4,
        k: 12,
        n_parents: 6,
        children_per_parent: 3,
        p_parent: 0.05,
        p_child: 0.04,
        seed,
    };
    let mut out = Vec::new();
    for (name, spec) in [
        ("s1", small(1)),
        ("s2", small(2)),
        (
            "large",
            WorkloadSpec {
                n_tokens: 40_000,
                d_sae: 300,
                k: 6,
                ..small(3)
            },
        ),
    ] {
        let w = Workload::generate(spec).unwrap();
        let mut negated = w.codes.clone();
        negated.values.iter_mut().step_by(5).for_each(|v| *v = -*v);
        let mut pattern = w.codes.clone();
        pattern.values.clear();
        out.push((name.to_string(), w.codes, w.labels.clone()));
        if name != "large" {
            out.push((format!("{name}-neg"), negated, w.labels.clone()));
            out.push((format!("{name}-pattern"), pattern, w.labels));
        }
    }
    out
}

fn run(metric: &dyn Metric, codes: CsrView<'_>, labels: CsrView<'_>) -> (u64, u64) {
    let input = MetricInput {
        n_tokens: codes.n_rows,
        d_in: 0,
        d_sae: codes.n_cols,
        n_concepts: labels.n_cols,
        decoder: None,
        encoder: None,
        activations: None,
        codes: Some(codes),
        labels: Some(labels),
        concept_directions: None,
        config: "{}",
        per_latent: true,
    };
    match metric.compute(&input).unwrap() {
        MetricOutput::Value { value, per_latent } => {
            let digest = per_latent.map_or(0, |scores| {
                scores.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, s| {
                    let bits = s.map_or(u64::MAX, f64::to_bits);
                    (h ^ bits).wrapping_mul(0x0100_0000_01b3)
                })
            });
            (value.to_bits(), digest)
        }
        other => {
            assert!(other.as_value().is_none(), "{other:?}");
            (u64::MAX, 0)
        }
    }
}

#[test]
fn label_metrics_keep_their_recorded_bits() {
    let mut got = Vec::new();
    for (name, codes, labels) in inputs() {
        for m in metrics() {
            let (value, digest) = run(m.as_ref(), codes.view(), labels.view());
            got.push((name.clone(), m.spec().id, value, digest));
        }
    }
    for (name, id, value, digest) in &got {
        eprintln!("    ({name:?}, {id:?}, {value:#018x}, {digest:#018x}),");
    }
    let want: Vec<(String, String, u64, u64)> = RECORDED
        .iter()
        .map(|&(n, m, v, d)| (n.to_string(), m.to_string(), v, d))
        .collect();
    assert_eq!(got, want);
}
