//! `rdpbench game` end to end (CONDITIONS.md §7): the oracle `P_gt` plugin is
//! ungameable by construction, a metric the edits can fool is shown
//! gameable with its sequence, and the search is deterministic for a seed.

mod common;

use common::{Scratch, lib, rdpbench, run};
use serde_json::Value;

#[test]
fn oracle_is_ungameable_a_fooled_metric_is_gameable_and_runs_repeat_exactly() {
    let s = Scratch::new("game");
    let plugins = s.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for stem in [
        "rdpbench_metric_oracle_pgt",
        "rdpbench_metric_concept_entropy",
    ] {
        let src = lib(stem);
        std::fs::copy(&src, plugins.join(src.file_name().unwrap())).unwrap();
    }
    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(
        &cfg,
        "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\n[game]\nn_samples = 800\nevaluations = 60\n",
    )
    .unwrap();
    let game = |out: &str| {
        let out = s.path().join(out);
        let (code, stdout, stderr) = run(rdpbench()
            .arg("--config")
            .arg(&cfg)
            .arg("game")
            .arg("--out")
            .arg(&out));
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("| metric | OR step |"), "{stdout}");
        let bytes = std::fs::read(out.join("game.json")).unwrap();
        (out, bytes)
    };
    let (out, bytes) = game("a");
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    let metric = |id: &str| {
        json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let oracle = metric("oracle-p-gt");
    assert_eq!(oracle["gameable"], false, "{oracle}");
    for start in oracle["starts"].as_array().unwrap() {
        let best = &start["best"];
        assert!(best["improvement"].as_f64().unwrap() <= 1e-9, "{start}");
        assert!(
            best["p_gt_after"].as_f64().unwrap() >= start["p_gt_before"].as_f64().unwrap() - 1e-9
        );
        assert!(start["evaluations"].as_u64().unwrap() <= 60);
    }
    let entropy = metric("concept-entropy");
    assert_eq!(entropy["gameable"], true, "{entropy}");
    assert!(entropy["best_in_steps"].as_f64().unwrap() > 0.25);
    assert!(out.join("game.md").exists());
    // Same seed, same bytes.
    let (_, again) = game("b");
    assert!(bytes == again, "game.json differs between two runs");
}
