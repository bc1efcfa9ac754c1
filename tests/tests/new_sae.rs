//! An out-of-tree SAE architecture, as a user makes one: `rdpbench new sae`
//! scaffolds a standalone crate outside the workspace, `cargo build` builds
//! it, and the host finds it through `RDPBENCH_PLUGIN_PATH` only. With no
//! change to the host it trains (`rdpbench train`), is saved as a SAELens
//! folder, is reloaded (a rerun resumes from the folder), and feeds
//! `rdpbench validity`.

mod common;

use common::{Scratch, build_dir, rdpbench, run};
use std::path::Path;
use std::process::Command;

/// The workspace root (this crate lives in `tests/`).
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

const CONFIG: &str = r#"
[plugins]
build_dir = false

[train]
architectures = ["wobbly"]
widths = [8]
seeds = [0]
steps = 60
batch_size = 128
eval_every = 0
eval_samples = 512

[train.sparsity]
wobbly = [0.05]

[validity]
architectures = ["wobbly"]
q_factors = [0.0, 1.0]
seeds = [0]
d_sae = 8
steps = 60
batch_size = 128
eval_samples = 512
bootstrap_resamples = 50

[validity.sparsity]
wobbly = [0.02, 0.2]
"#;

#[test]
fn an_out_of_tree_sae_plugin_trains_saves_reloads_and_feeds_validity() {
    // Outside the workspace's folder tree, as a user's crate would be.
    let s = Scratch(std::env::temp_dir().join(format!("rdpbench-new-sae-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(s.path());
    std::fs::create_dir_all(s.path()).unwrap();

    // Scaffold a standalone crate outside the workspace.
    let (code, _, stderr) = run(rdpbench()
        .args(["new", "sae", "wobbly", "--dir"])
        .arg(s.path()));
    assert_eq!(code, 0, "{stderr}");
    let krate = s.path().join("sae-wobbly");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    // Standalone: rdpbench crates by a path relative to the crate, no
    // absolute path baked in (so the pair can move together).
    assert!(
        manifest.contains("rdpbench-sdk = { path = \"../"),
        "relative path: {manifest}"
    );
    let root = std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
    assert!(
        !manifest.contains(&*format!("\"{}", root.display())),
        "no absolute path: {manifest}"
    );
    assert!(stderr.contains("RDPBENCH_PLUGIN_PATH"), "{stderr}");
    // A user names the package as they like; this name also keeps the
    // library out of the build folder's `librdpbench_sae_*` scan.
    std::fs::write(
        krate.join("Cargo.toml"),
        manifest.replace(
            "name = \"rdpbench-sae-wobbly\"",
            "name = \"oot-sae-wobbly\"",
        ),
    )
    .unwrap();

    // Build it with cargo, out of tree. The workspace's lock file and target
    // folder are shared so that its dependencies are not compiled again.
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        krate.join("Cargo.lock"),
    )
    .unwrap();
    let target = build_dir()
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = format!(
        "{}oot_sae_wobbly.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    );
    let plugins = s.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::rename(build_dir().join(&lib), plugins.join(&lib)).unwrap();
    // The metric validity scores, from the workspace build (build_dir = false
    // below: the host sees only this folder).
    let oracle = common::lib("rdpbench_metric_oracle_pgt");
    std::fs::copy(&oracle, plugins.join(oracle.file_name().unwrap())).unwrap();

    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let results = s.path().join("results");
    let host = |args: &[&str]| {
        let mut c = rdpbench();
        c.env("RDPBENCH_PLUGIN_PATH", &plugins)
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .arg("--out")
            .arg(&results);
        run(&mut c)
    };

    // Found through RDPBENCH_PLUGIN_PATH, with its declarations.
    let mut list = rdpbench();
    list.env("RDPBENCH_PLUGIN_PATH", &plugins)
        .arg("--config")
        .arg(&cfg)
        .args(["plugins", "list", "--json"]);
    let (code, stdout, stderr) = run(&mut list);
    assert_eq!(code, 0, "{stderr}");
    let specs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let text = specs.to_string();
    assert!(
        text.contains("\"wobbly\"") && text.contains("l1_coefficient"),
        "{stdout}"
    );

    // Trains and saves a SAELens folder.
    let (code, stdout, stderr) = host(&["train"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wobbly-w8-l1_0.05-s0"), "{stdout}");
    let folder = results.join("saes").join("wobbly-w8-l1_0.05-s0");
    let sae_cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("cfg.json")).unwrap()).unwrap();
    assert_eq!(sae_cfg["d_sae"], 8);
    assert!(folder.join("sae_weights.safetensors").is_file());

    // Reloads: a rerun finds the finished folder and does not retrain.
    let (code, stdout, stderr) = host(&["train"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("resumed"), "{stdout}");

    // Feeds validity: the population is trained, saved, reloaded and scored.
    let (code, _, stderr) = host(&["validity", "--metrics", "oracle-p-gt"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("validity.json")).unwrap())
            .unwrap();
    let rows = v["population"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2, "2 sparsities x 2 co-occurrence levels");
    assert!(rows.iter().all(|r| r["architecture"] == "wobbly"), "{v}");
    assert!(rows.iter().all(|r| r["p_gt"].is_number()), "{v}");
}
