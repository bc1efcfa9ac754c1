//! The plugin host survives bad plugins: each failure is one clear message
//! naming the file and the reason, and the good plugins still load and run.

mod common;

use common::{Scratch, lib, rdpbench, run};
use rdpbench_plugin_host::{PluginErrorKind, PluginSearch, PluginSet};
use rdpbench_sdk::{CsrMatrix, DenseMatrix, Metric, MetricInput};
use std::path::Path;

/// A plugin folder holding one good plugin and one of each kind of bad file.
fn bad_plugin_folder() -> Scratch {
    let s = Scratch::new("plugins");
    let ext = std::env::consts::DLL_EXTENSION;
    let copy = |stem: &str, as_name: &str| {
        std::fs::copy(lib(stem), s.path().join(format!("{as_name}.{ext}"))).unwrap();
    };
    copy("rdpbench_metric_template", "a_template");
    copy("rdpbench_metric_template", "b_template_again");
    copy("test_plugin_nosymbol", "c_nosymbol");
    copy("test_plugin_wrong_abi", "d_wrong_abi");
    copy("test_plugin_panics", "e_panics");
    copy("test_plugin_nan", "f_nan");
    std::fs::write(
        s.path().join(format!("g_not_a_library.{ext}")),
        "just text\n",
    )
    .unwrap();
    std::fs::write(
        s.path().join("README.txt"),
        "not a library extension: ignored\n",
    )
    .unwrap();
    s
}

fn codes_and_labels() -> (CsrMatrix, CsrMatrix) {
    let codes = CsrMatrix::from_dense(
        &DenseMatrix::from_vec(3, 2, vec![1.0, 0.0, 1.0, 0.0, 0.0, 2.0])
            .unwrap()
            .view(),
    );
    let mut labels = CsrMatrix::from_dense(
        &DenseMatrix::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
            .unwrap()
            .view(),
    );
    labels.values.clear();
    (codes, labels)
}

fn input<'a>(codes: &'a CsrMatrix, labels: &'a CsrMatrix) -> MetricInput<'a> {
    MetricInput {
        n_tokens: 3,
        d_in: 0,
        d_sae: 2,
        n_concepts: 2,
        decoder: None,
        encoder: None,
        activations: None,
        codes: Some(codes.view()),
        labels: Some(labels.view()),
        concept_directions: None,
        config: "{}",
        per_latent: true,
    }
}

fn error_for<'a>(set: &'a PluginSet, file: &str) -> &'a rdpbench_plugin_host::PluginError {
    set.errors
        .iter()
        .find(|e| {
            e.path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(file)
        })
        .unwrap_or_else(|| panic!("no error recorded for {file}: {:#?}", set.errors))
}

/// A file that looks like a library but the loader rejects (here a
/// truncated ELF header; in practice often a missing dependency such as
/// `libcuda.so.1`) gets the loader's own reason, not just "dlopen failed".
#[test]
fn a_library_the_loader_rejects_is_reported_with_the_loaders_reason() {
    let s = Scratch::new("plugins-loader-reason");
    let ext = std::env::consts::DLL_EXTENSION;
    let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
    bytes.resize(24, 0);
    std::fs::write(s.path().join(format!("h_truncated.{ext}")), bytes).unwrap();
    let set = PluginSet::discover(&PluginSearch {
        dirs: vec![s.path().to_path_buf()],
        ..Default::default()
    });
    let e = error_for(&set, "h_truncated");
    assert_eq!(e.kind, PluginErrorKind::NotALibrary);
    let reason = e
        .message
        .strip_prefix("not a loadable shared library: ")
        .unwrap_or_else(|| panic!("{e}"));
    assert!(
        reason.len() > "dlopen failed".len() && reason.contains("h_truncated"),
        "the loader's reason is missing: {e}"
    );
}

#[test]
fn every_bad_file_is_one_clear_error_and_good_plugins_still_run() {
    let folder = bad_plugin_folder();
    let set = PluginSet::discover(&PluginSearch {
        dirs: vec![folder.path().to_path_buf()],
        ..Default::default()
    });

    let e = error_for(&set, "b_template_again");
    assert_eq!(e.kind, PluginErrorKind::IdCollision);
    assert!(
        e.message.contains("label-entropy") && e.message.contains("a_template"),
        "{e}"
    );

    let e = error_for(&set, "c_nosymbol");
    assert_eq!(e.kind, PluginErrorKind::NotAPlugin);
    assert!(e.message.contains("rdpbench_plugin_entry"), "{e}");

    let e = error_for(&set, "d_wrong_abi");
    assert_eq!(e.kind, PluginErrorKind::AbiMismatch);
    assert!(
        e.message.contains("version 999") && e.message.contains("version 1"),
        "{e}"
    );

    let e = error_for(&set, "e_panics");
    assert_eq!(e.kind, PluginErrorKind::Failed);
    assert!(e.message.contains("spec() exploded on purpose"), "{e}");

    let e = error_for(&set, "g_not_a_library");
    assert_eq!(e.kind, PluginErrorKind::NotALibrary);
    assert_eq!(set.errors.len(), 5, "{:#?}", set.errors);

    // Every error names its file.
    for e in &set.errors {
        assert!(
            e.to_string().contains(&*folder.path().to_string_lossy()),
            "{e}"
        );
    }

    let ids: Vec<&str> = set.metrics.iter().map(|m| m.id()).collect();
    assert_eq!(ids, ["label-entropy", "panics-in-compute", "returns-nan"]);

    let (codes, labels) = codes_and_labels();
    let x = input(&codes, &labels);

    let err = set
        .metric("panics-in-compute")
        .unwrap()
        .compute(&x)
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("panicked") && msg.contains("compute() exploded on purpose"),
        "{msg}"
    );
    assert!(msg.contains("e_panics"), "names the file: {msg}");

    let err = set.metric("returns-nan").unwrap().compute(&x).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("NaN") && msg.contains("f_nan"), "{msg}");

    // The host survived both, and the good plugin gives the hand-computed answer.
    let v = set.metric("label-entropy").unwrap().compute(&x).unwrap();
    assert!((v.as_value().unwrap() - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn plugin_call_matches_direct_call_bit_for_bit() {
    let mut set = PluginSet::default();
    set.load_file(&lib("rdpbench_metric_template"));
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let (codes, labels) = codes_and_labels();
    let x = input(&codes, &labels);
    let via_plugin = set.metric("label-entropy").unwrap().compute(&x).unwrap();
    // The template's examples are declared in its spec; the ABI carries them intact.
    let spec = set.metric("label-entropy").unwrap().spec();
    assert_eq!(spec.examples.len(), 3);
    match via_plugin {
        rdpbench_sdk::MetricOutput::Value { value, per_latent } => {
            assert_eq!(value, 2.0 / 3.0);
            assert_eq!(per_latent, Some(vec![Some(2.0), Some(1.0)]));
        }
        other => panic!("{other:?}"),
    }
}

fn write_config(dir: &Path, plugin_dir: &Path) -> std::path::PathBuf {
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[plugins]\npaths = [{:?}]\nbuild_dir = false\n",
            plugin_dir.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn cli_lists_good_plugins_and_exits_3_naming_each_bad_file() {
    let folder = bad_plugin_folder();
    let cfg_dir = Scratch::new("cfg");
    let cfg = write_config(cfg_dir.path(), folder.path());
    let (code, stdout, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args(["plugins", "list"]));
    assert_eq!(code, 3, "plugin errors exit 3\n{stderr}");
    assert!(stdout.contains("label-entropy"), "{stdout}");
    for f in [
        "b_template_again",
        "c_nosymbol",
        "d_wrong_abi",
        "e_panics",
        "g_not_a_library",
    ] {
        assert_eq!(
            stderr.lines().filter(|l| l.contains(f)).count(),
            1,
            "exactly one message for {f}:\n{stderr}"
        );
    }
}

#[test]
fn cli_lists_the_template_from_the_build_folder() {
    let (code, stdout, stderr) = run(rdpbench().args(["plugins", "list", "--json"]));
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let m = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["spec"]["id"] == "label-entropy")
        .expect("template listed");
    assert_eq!(m["spec"]["orientation"], "higher_is_more_polysemantic");
    assert_eq!(m["spec"]["inputs"], serde_json::json!(["codes", "labels"]));
    // Test plugins in the build folder are not picked up there.
    assert!(!stdout.contains("returns-nan"));
}

#[test]
fn cli_config_typo_exits_2_naming_file_and_field() {
    let dir = Scratch::new("typo");
    let cfg = dir.path().join("typo.toml");
    std::fs::write(&cfg, "[plugins]\nbuild_dri = true\n").unwrap();
    let (code, _, stderr) = run(rdpbench()
        .arg("--config")
        .arg(&cfg)
        .args(["plugins", "list"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("typo.toml") && stderr.contains("build_dri"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{stderr}"
    );
}

#[test]
fn cli_inspect_prints_the_declaration_or_the_reason() {
    let (code, stdout, _) = run(rdpbench()
        .args(["plugins", "inspect"])
        .arg(lib("rdpbench_metric_template")));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("abi version: 1") && stdout.contains("\"id\": \"label-entropy\""),
        "{stdout}"
    );
    let (code, _, stderr) = run(rdpbench()
        .args(["plugins", "inspect"])
        .arg(lib("test_plugin_wrong_abi")));
    assert_eq!(code, 3);
    assert!(stderr.contains("version 999"), "{stderr}");
}
