//! `rdpbench validity` end to end on a tiny population (TopK at two `k`,
//! two co-occurrence levels, two seeds, 150 steps): the oracle `P_gt` metric
//! ranks the SAEs exactly as the ground truth does (ρ = 1), a metric that
//! ignores its input has an undefined ρ, a metric that always fails is
//! counted as errors, the stored file loads back, a second run reuses every
//! SAE (no retraining) and writes a byte-identical file, and the CLI prints
//! the table (the CLI loads the workspace's own plugins only).

mod common;

use common::Scratch;
use rdpbench_plugin_host::PluginSet;
use rdpbench_runner::progress::Silent;
use rdpbench_runner::validity::{SaeScore, VALIDITY_FILE, ValidityRun, compute_validity};
use rdpbench_schema::config::Config;
use rdpbench_store::{ResultDir, Stage};

/// The validity stage into the results folder `out`, as the CLI runs it.
fn run_validity(
    config: &Config,
    plugins: &PluginSet,
    out: &std::path::Path,
    jobs: usize,
) -> anyhow::Result<ValidityRun> {
    common::in_stage(out, Stage::Validity, |w| {
        let sweep = w.dir_for_tool(ResultDir::ValiditySaes)?;
        let run = compute_validity(config, plugins, &sweep, jobs, &mut Silent)?;
        w.adopt_tree(ResultDir::ValiditySaes)?;
        Ok((run.clone(), run, rdpbench_reports::validity::exporters()))
    })
}
use std::path::Path;

const TINY: &str = r#"
[validity]
architectures = ["topk"]
q_factors = [0.0, 1.0]
seeds = [0, 1]
d_sae = 16
steps = 150
eval_samples = 1024
bootstrap_resamples = 200

[validity.sparsity]
topk = [1.0, 3.0]
"#;

fn config() -> Config {
    Config::from_layers(Some((Path::new("tiny.toml"), TINY))).unwrap()
}

fn plugins() -> PluginSet {
    let mut set = PluginSet::default();
    for stem in [
        "rdpbench_sae_topk",
        "rdpbench_metric_oracle_pgt",
        "rdpbench_metric_decoder_cosine",
        "test_plugin_noop",
        "test_plugin_nan",
    ] {
        set.load_file(&common::lib(stem));
    }
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set
}

fn without_trained_flags(mut run: ValidityRun) -> ValidityRun {
    for r in &mut run.population {
        r.trained = false;
    }
    run
}

#[test]
fn tiny_population_end_to_end() {
    let scratch = Scratch::new("validity");
    let out = scratch.path();
    let config = config();
    let plugins = plugins();

    let run = run_validity(&config, &plugins, out, 2).unwrap();
    assert_eq!(run.population.len(), 2 * 2 * 2);
    assert!(run.population.iter().all(|r| r.trained));
    let [lo, hi] = run.p_gt_range().expect("P_gt defined");
    eprintln!("P_gt range {lo} – {hi}");
    assert!(hi > lo, "the population must span P_gt");

    // The oracle computes P_gt from the same codes: identical scores, ρ = 1.
    let oracle = run.metric("oracle-p-gt").unwrap();
    assert!(oracle.oracle);
    for (s, r) in oracle.scores.iter().zip(&run.population) {
        assert_eq!(s.value(), r.p_gt, "{}", r.sae_id);
    }
    assert_eq!(oracle.rho.rho, Some(1.0));
    assert_eq!(oracle.rho.ci, Some([1.0, 1.0]));

    // Ignores the SAE (returns N): constant, nothing to rank.
    let noop = run.metric("noop").unwrap();
    assert_eq!(noop.n_defined, run.population.len());
    assert_eq!(noop.rho.rho, None);
    assert!(noop.rho.reason.as_ref().unwrap().contains("constant"));
    assert_eq!(noop.discriminability.f_ratio, None);

    // Always NaN: errors counted, never numbers.
    let nan = run.metric("returns-nan").unwrap();
    assert_eq!(nan.n_errors, run.population.len());
    assert!(
        nan.scores
            .iter()
            .all(|s| matches!(s, SaeScore::Error { .. }))
    );
    assert_eq!(nan.rho.rho, None);

    let cos = run.metric("mean-max-decoder-cosine").unwrap();
    let rho = cos
        .rho
        .rho
        .expect("decoder cosine varies over trained SAEs");
    assert!((-1.0..=1.0).contains(&rho));
    let f = cos.discriminability.f_ratio.expect("reseed noise exists");
    assert!(f >= 0.0);

    // Stored, loadable, and the exports exist.
    let stored = std::fs::read(out.join(VALIDITY_FILE)).unwrap();
    let loaded = ValidityRun::load(out).unwrap();
    assert_eq!(loaded, without_trained_flags(run.clone()));
    let csv = std::fs::read_to_string(out.join("validity.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + run.metrics.len() * run.population.len()
    );
    assert!(
        std::fs::read_to_string(out.join("validity.md"))
            .unwrap()
            .contains("oracle-p-gt")
    );

    // Resume: nothing is retrained, the results are byte-identical.
    let again = run_validity(&config, &plugins, out, 1).unwrap();
    assert!(again.population.iter().all(|r| !r.trained));
    assert_eq!(std::fs::read(out.join(VALIDITY_FILE)).unwrap(), stored);

    // The CLI on the same folder: resumes, prints the table on stdout.
    let cfg_path = out.join("tiny.toml");
    std::fs::write(&cfg_path, TINY).unwrap();
    let (code, stdout, stderr) = common::run(
        common::rdpbench()
            .arg("--config")
            .arg(&cfg_path)
            .args([
                "validity",
                "--metrics",
                "oracle-p-gt,mean-max-decoder-cosine",
                "--out",
            ])
            .arg(out),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("0 trained, 8 reused"), "{stderr}");
    assert!(
        stdout.contains("| `oracle-p-gt` (oracle) | 1.000 |"),
        "{stdout}"
    );
}

#[test]
fn bad_validity_config_names_the_field() {
    let err = Config::from_layers(Some((Path::new("v.toml"), "[validity]\nseedz = [1]\n")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("validity") && err.contains("seedz"), "{err}");
}
