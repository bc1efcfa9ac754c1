//! The pure-C example plugin of docs/plugin-abi.md (`tests/c-plugin/c_mean_code.c`),
//! built with `cc` (or `$CC`) against `plugins/abi/include/rdpbench.h`,
//! inspected and checked through the harness.

mod common;

use common::{Scratch, rdpbench, run};
use rdpbench_sdk::Metric;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Builds the example into `dir`; returns the library's path.
fn build_c_plugin(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let lib = dir.join(format!(
        "{}c_mean_code.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    ));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args([
            "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I",
        ])
        .arg(root.join("plugins/abi/include"))
        .arg("-o")
        .arg(&lib)
        .arg(root.join("tests/c-plugin/c_mean_code.c"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{cc}` (a C compiler is required): {e}"));
    assert!(
        out.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

#[test]
fn the_c_example_plugin_loads_computes_and_is_checked() {
    let s = Scratch::new("c-plugin");
    let lib = build_c_plugin(s.path());

    // Loaded by the host: its declared examples hold (mean of 1, 2, 3 = 2;
    // nothing stored: undefined).
    let mut set = rdpbench_plugin_host::PluginSet::default();
    set.load_file(&lib);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let metric = set.metric("c-mean-code").expect("c-mean-code loaded");
    assert_eq!(set.libraries[0].sdk_version(), "c-example 1");
    assert_eq!(metric.spec().examples.len(), 2);
    assert_eq!(rdpbench_sdk::testing::check_examples(metric).unwrap(), 2);

    let (code, stdout, stderr) = run(rdpbench().args(["plugins", "inspect"]).arg(&lib));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"id\": \"c-mean-code\""), "{stdout}");

    let cfg = s.path().join("rdpbench.toml");
    std::fs::write(&cfg, "[plugins]\nbuild_dir = false\n").unwrap();
    let out = s.path().join("out");
    let (code, stdout, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args(["check", "--plugin"])
        .arg(&lib)
        .args([
            "--conditions",
            "C3,C4,C10",
            "--seeds",
            "0",
            "--no-shrink",
            "--out",
        ])
        .arg(&out));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap();
    let m = &json["metrics"][0];
    assert_eq!(m["spec"]["id"], "c-mean-code");
    let status = |c: &str| {
        m["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["condition"] == c)
            .map(|r| r["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    // The mean of the stored values ignores latent order, is defined (or
    // explicitly undefined) everywhere, and moves when latents are rescaled.
    assert_eq!(status("C3"), "pass");
    assert_eq!(status("C10"), "pass");
    assert_eq!(status("C4"), "fail");
}
