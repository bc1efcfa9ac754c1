//! Known features planted into a synthetic heavy-tailed background (issue
//! #22; no download): recovery at zero co-occurrence and the fall of the
//! restricted `P_gt` with the planted magnitude (a sanity check), and
//! `rdpbench planted` end to end on a tiny configuration: R2 rises, the
//! oracle's ladder verdicts survive planting, a rerun reuses every SAE and
//! writes a byte-identical planted.json.

mod common;

use common::Scratch;
use rdpbench_plugin_host::PluginSet;
use rdpbench_runner::planted::population::{planted_jobs, train_and_evaluate};
use rdpbench_runner::planted::{Background, BackgroundSource, PlantedRun, Trend};
use rdpbench_runner::progress::Silent;
use rdpbench_schema::config::Config;
use std::path::Path;

/// A tiny planted setting: the standard toy (16 concepts in d = 32, no
/// hierarchy, whose absorption would be polysemanticity of its own) at zero
/// co-occurrence, TopK k = 2 with 32 latents, on a 64-dimensional background.
const SANITY: &str = r#"
[validity]
architectures = ["topk"]
q_factors = [0.0]
seeds = [0]
[validity.sparsity]
topk = [2.0]
[validity.toy]
hierarchy = []

[planted]
synthetic_rows = 10000
synthetic_d = 64
train_rows = 8000
eval_rows = 2000
d_sae = 32
steps = 800
"#;

#[test]
fn planted_concepts_are_recovered_and_p_gt_falls_as_the_magnitude_grows() {
    let scratch = Scratch::new("planted-sanity");
    let base = Config::from_layers(Some((Path::new("sanity.toml"), SANITY))).unwrap();
    let mut plugins = PluginSet::default();
    plugins.load_file(&common::lib("rdpbench_sae_topk"));
    assert!(plugins.errors.is_empty(), "{:?}", plugins.errors);
    let mut results = Vec::new();
    for magnitude in [0.3, 1.0, 4.0] {
        let mut config = base.clone();
        config.planted.magnitude = magnitude;
        let s = &config.planted;
        let bg =
            Background::load(&BackgroundSource::Synthetic { seed: 0 }, s, &config.real).unwrap();
        // Heavy tails: the synthetic background is not Gaussian-like.
        assert!(bg.info.stats.max_over_median > 3.0, "{:?}", bg.info.stats);
        let planting = bg.planting(32, s.subspace, s).unwrap();
        let jobs = planted_jobs(&config.validity, s, &plugins).unwrap();
        let dir = scratch.path().join(format!("m{magnitude}"));
        let saes =
            train_and_evaluate(&plugins, &jobs, &bg, &planting, s, &dir, &mut Silent).unwrap();
        let row = &saes[0].row;
        eprintln!(
            "magnitude {magnitude}: MCC {:?}, P_gt planted {:?}, planted/background latents {}/{}, EV {:?}",
            row.mcc,
            row.planted.p_gt,
            row.planted.n_planted,
            row.planted.n_background,
            row.explained_variance
        );
        results.push((magnitude, row.mcc.unwrap(), row.planted.p_gt.unwrap()));
    }
    let (_, mcc_small, p_small) = results[0];
    let (_, mcc_big, p_big) = results[2];
    assert!(mcc_big > 0.9, "MCC {mcc_big} at magnitude 4");
    assert!(mcc_big > mcc_small, "{results:?}");
    assert!(
        p_big < p_small,
        "P_gt must fall as the magnitude grows: {results:?}"
    );
    assert!(p_big < 0.1, "P_gt {p_big} at magnitude 4 should be near 0");
}

/// `rdpbench planted` at a size a test can afford.
const TINY: &str = r#"
[validity]
architectures = ["topk"]
q_factors = [0.0, 1.0]
seeds = [0, 1]
steps = 150
eval_samples = 1024
bootstrap_resamples = 200
[validity.sparsity]
topk = [1.0, 3.0]

[check]
seeds = [0]
n_samples = 1000
bootstrap_resamples = 200

[planted]
synthetic_rows = 6000
synthetic_d = 128
train_rows = 4000
eval_rows = 1500
d_sae = 32
steps = 300
bootstrap_resamples = 200
r2_q_factors = [0.0, 0.5, 1.0]
r2_seeds = [0, 1]
background_d_sae = 16
background_sparsity = 4.0
"#;

#[test]
fn rdpbench_planted_end_to_end_and_resumed() {
    let scratch = Scratch::new("planted-cli");
    let cfg = scratch.path().join("tiny.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let out = scratch.path().join("out");
    let planted = |extra: &[&str]| {
        let mut cmd = common::rdpbench();
        cmd.arg("--config")
            .arg(&cfg)
            .arg("planted")
            .arg("--out")
            .arg(&out);
        cmd.args([
            "--metrics",
            "oracle-p-gt,mean-max-decoder-cosine",
            "-j",
            "2",
        ]);
        cmd.args(extra);
        common::run(&mut cmd)
    };
    let (code, stdout, stderr) = planted(&[]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("## R2"), "{stdout}");
    let run = PlantedRun::load(&out).unwrap();
    assert_eq!(run.background.kind, "synthetic");
    assert_eq!(run.r2.rows.len(), 3 * 2);
    assert_eq!(run.population.len(), 2 * 2 * 2);
    // R2 on the background: more co-occurrence, more polysemantic TopK SAEs.
    let means: Vec<f64> = run.r2.mean_by_q.iter().map(|m| m.unwrap()).collect();
    assert!(means[2] > means[0], "{means:?}");
    assert_eq!(run.r2.trend, Trend::Rises, "{:?}", run.r2.slope);
    // Both metrics have a planted ρ row and a toy ρ (computed here).
    assert_eq!(run.transfer.len(), 2);
    assert!(run.toy_validity_source.starts_with("computed"));
    let oracle = run.transfer.iter().find(|m| m.id == "oracle-p-gt").unwrap();
    assert!(oracle.toy.as_ref().unwrap().rho == Some(1.0));
    assert_eq!(oracle.scores.len(), run.population.len());
    // Ladders: the rungs keep their toy P_gt once the background's own
    // latents are set aside; the oracle's verdicts do not change.
    for r in &run.ladders.rungs {
        let (toy, planted) = (r.toy_p_gt.unwrap(), r.planted.p_gt.unwrap());
        assert!((toy - planted).abs() < 1e-6, "{r:?}");
        // The background code's live latents are set aside, not counted.
        assert!(r.planted.n_background >= 1, "{r:?}");
        assert!(r.planted.background_firing_share > 0.0, "{r:?}");
    }
    let oracle_ladders = run
        .ladders
        .metrics
        .iter()
        .find(|m| m.id == "oracle-p-gt")
        .unwrap();
    assert!(!oracle_ladders.verdicts.is_empty());
    assert!(
        oracle_ladders.verdicts.iter().all(|v| v.same()),
        "{oracle_ladders:?}"
    );

    // Rerun: every SAE reused, planted.json byte-identical.
    let first = std::fs::read(out.join("planted.json")).unwrap();
    let (code, _, stderr) = planted(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("(0 trained"), "{stderr}");
    assert_eq!(first, std::fs::read(out.join("planted.json")).unwrap());

    // The HTML report gains the section: the transfer chart and the R2 curve.
    let mut report = common::rdpbench();
    report.arg("report").arg(&out);
    let (code, _, stderr) = common::run(&mut report);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for needle in [
        "Planted features",
        "planted-transfer",
        "planted-r2",
        "oracle-p-gt",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }

    // A bad subspace name is a usage error naming the choices.
    let (code, _, stderr) = planted(&["--subspace", "sideways"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("low-variance"), "{stderr}");
}
