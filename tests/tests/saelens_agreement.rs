//! `rdpbench eval` agrees with SAELens 6.x on folders written by SAELens.
//!
//! tests/fixtures/saelens/ is written by scripts/saelens-fixtures.py with
//! the real sae-lens 6.54.12: one folder per architecture x function-changing
//! cfg field, `activations.safetensors`/`.npy`, and `expected.json` with
//! SAELens's own evals numbers (`get_sparsity_and_variance_metrics`, batches
//! of 32 tokens). Each test evaluates one folder with rdpbench and asserts
//! agreement within 1e-4 relative on L0, MSE and explained variance (and the
//! other core numbers); the refusal tests assert that a field or file that
//! cannot be honoured is named.

mod common;

use common::lib;
use rdpbench_plugin_host::PluginSet;
use rdpbench_runner::eval::core_numbers_of;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/saelens")
}

fn plugins() -> PluginSet {
    let mut set = PluginSet::default();
    for stem in [
        "rdpbench_sae_relu",
        "rdpbench_sae_topk",
        "rdpbench_sae_jumprelu",
        "rdpbench_sae_gated",
        "rdpbench_sae_matching_pursuit",
    ] {
        set.load_file(&lib(stem));
    }
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn close(name: &str, field: &str, ours: f64, theirs: f64) {
    let scale = ours.abs().max(theirs.abs()).max(1e-6);
    assert!(
        (ours - theirs).abs() / scale < 1e-4,
        "{name}: {field} rdpbench {ours} vs SAELens {theirs}"
    );
}

/// Evaluates the folder `name` (chunks of 50 tokens: not a multiple of the
/// 32-token batches) and compares every core number with SAELens's.
fn agrees(name: &str) {
    let exp = expected();
    let want = &exp["saes"][name];
    assert!(want.is_object(), "no expected numbers for {name}");
    let batch = exp["batch_tokens"].as_u64().unwrap() as usize;
    for file in ["activations.safetensors", "activations.npy"] {
        let got = core_numbers_of(
            &plugins(),
            &fixtures().join(name),
            &fixtures().join(file),
            batch,
            50,
        )
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let w = |k: &str| want[k].as_f64().unwrap_or_else(|| panic!("{name}: no {k}"));
        assert_eq!(got.n_tokens as u64, exp["n_tokens"].as_u64().unwrap());
        close(name, "l0", got.l0, w("l0"));
        close(name, "mse", got.mse, w("mse"));
        close(
            name,
            "explained_variance",
            got.explained_variance.unwrap(),
            w("explained_variance"),
        );
        close(
            name,
            "explained_variance_legacy",
            got.explained_variance_legacy.unwrap(),
            w("explained_variance_legacy"),
        );
        close(name, "l1", got.l1, w("l1"));
        close(name, "cossim", got.cossim.unwrap(), w("cossim"));
        close(name, "l2_norm_in", got.l2_norm_in, w("l2_norm_in"));
        close(name, "l2_norm_out", got.l2_norm_out, w("l2_norm_out"));
        close(name, "l2_ratio", got.l2_ratio, w("l2_ratio"));
        close(
            name,
            "relative_reconstruction_bias",
            got.relative_reconstruction_bias.unwrap(),
            w("relative_reconstruction_bias"),
        );
        let density: Vec<f64> = want["feature_density"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.feature_density.len(), density.len());
        for (j, (a, b)) in got.feature_density.iter().zip(&density).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "{name}: latent {j} density {a} vs {b}"
            );
        }
    }
}

macro_rules! agreement {
    ($($test:ident => $folder:literal,)*) => {
        $(
            #[test]
            fn $test() {
                agrees($folder);
            }
        )*
    };
}

agreement! {
    standard => "standard",
    normalize_activations_layer_norm => "standard-layer-norm",
    normalize_activations_constant_norm_rescale => "standard-constant-norm-rescale",
    normalize_activations_expected_average_only_in => "standard-expected-average",
    normalize_activations_covariance_whitening => "standard-covariance-whitening",
    apply_b_dec_to_input_false => "standard-no-b-dec-in",
    topk => "topk",
    topk_rescale_acts_by_decoder_norm => "topk-rescale",
    topk_rescale_with_layer_norm => "topk-rescale-layer-norm",
    abstopk => "abstopk",
    abstopk_rescale_acts_by_decoder_norm => "abstopk-rescale",
    jumprelu_threshold => "jumprelu",
    jumprelu_apply_b_dec_to_input_false => "jumprelu-no-b-dec-in",
    gated => "gated",
    batchtopk_saved_as_jumprelu => "batchtopk",
    matryoshka_saved_as_jumprelu => "matryoshka",
    matching_pursuit => "matching-pursuit",
    matching_pursuit_residual_threshold => "matching-pursuit-residual-threshold",
    matching_pursuit_max_iterations => "matching-pursuit-max-iterations",
    matching_pursuit_stop_on_duplicate_support_false => "matching-pursuit-no-duplicate-stop",
    matching_pursuit_apply_b_dec_to_input_false => "matching-pursuit-no-b-dec-in",
}

/// A copy of fixture `name` in a scratch folder, with `edit` applied to its
/// cfg.json and the files in `drop` removed.
fn edited(name: &str, tag: &str, edit: impl Fn(&mut serde_json::Value), drop: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("rdpbench-agreement-{}", std::process::id()))
        .join(format!("{name}-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixtures().join(name)).unwrap() {
        let e = e.unwrap();
        if !drop.contains(&e.file_name().to_str().unwrap()) {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    let cfg_path = dir.join("cfg.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    dir
}

fn eval_error(dir: &Path) -> String {
    let acts = fixtures().join("activations.npy");
    format!(
        "{:#}",
        core_numbers_of(&plugins(), dir, &acts, 32, 64).unwrap_err()
    )
}

fn mse_of(dir: &Path) -> f64 {
    let acts = fixtures().join("activations.npy");
    core_numbers_of(&plugins(), dir, &acts, 32, 64).unwrap().mse
}

/// Each field changes the numbers: without it (its default instead) the
/// SAE computes something else, so agreement above is not by accident.
#[test]
fn every_honoured_field_changes_the_result() {
    let exp = expected();
    let cases: [(&str, &str, serde_json::Value); 7] = [
        (
            "standard-layer-norm",
            "normalize_activations",
            "none".into(),
        ),
        (
            "standard-constant-norm-rescale",
            "normalize_activations",
            "none".into(),
        ),
        ("standard-no-b-dec-in", "apply_b_dec_to_input", true.into()),
        ("topk-rescale", "rescale_acts_by_decoder_norm", false.into()),
        ("jumprelu-no-b-dec-in", "apply_b_dec_to_input", true.into()),
        (
            "matching-pursuit-max-iterations",
            "max_iterations",
            serde_json::Value::Null,
        ),
        (
            "matching-pursuit-residual-threshold",
            "residual_threshold",
            0.01.into(),
        ),
    ];
    for (name, field, default) in cases {
        let dir = edited(
            name,
            &format!("default-{field}"),
            |c| c[field] = default.clone(),
            &[],
        );
        let theirs = exp["saes"][name]["mse"].as_f64().unwrap();
        let ours = mse_of(&dir);
        assert!(
            (ours - theirs).abs() / theirs > 1e-3,
            "{name}: `{field}` at its default gives the same mse {ours}"
        );
    }
}

#[test]
fn a_scaler_normalisation_without_its_file_is_refused_naming_both() {
    let dir = edited(
        "standard-expected-average",
        "no-scaler",
        |_| {},
        &["activation_scaler.json"],
    );
    let e = eval_error(&dir);
    assert!(
        e.contains("normalize_activations") && e.contains("activation_scaler.json"),
        "{e}"
    );
    let dir = edited(
        "standard-covariance-whitening",
        "no-whitening",
        |_| {},
        &["activation_whitening.safetensors"],
    );
    let e = eval_error(&dir);
    assert!(
        e.contains("covariance_whitening") && e.contains("activation_whitening.safetensors"),
        "{e}"
    );
}

#[test]
fn an_unknown_normalisation_is_refused_naming_the_field() {
    let dir = edited(
        "standard",
        "batch-norm",
        |c| c["normalize_activations"] = "batch_norm".into(),
        &[],
    );
    let e = eval_error(&dir);
    assert!(
        e.contains("`normalize_activations`") && e.contains("batch_norm"),
        "{e}"
    );
}

#[test]
fn a_half_precision_dtype_is_refused_naming_the_field() {
    let dir = edited("jumprelu", "bf16", |c| c["dtype"] = "bfloat16".into(), &[]);
    let e = eval_error(&dir);
    assert!(e.contains("`dtype`") && e.contains("bfloat16"), "{e}");
}

#[test]
fn a_mistyped_architecture_field_is_refused_naming_it() {
    let dir = edited(
        "topk-rescale",
        "str",
        |c| c["rescale_acts_by_decoder_norm"] = "yes".into(),
        &[],
    );
    let e = eval_error(&dir);
    assert!(e.contains("rescale_acts_by_decoder_norm"), "{e}");
    let dir = edited(
        "matching-pursuit",
        "str",
        |c| c["max_iterations"] = "3".into(),
        &[],
    );
    let e = eval_error(&dir);
    assert!(e.contains("max_iterations"), "{e}");
    let dir = edited(
        "abstopk",
        "no-k",
        |c| {
            c.as_object_mut().unwrap().remove("k");
        },
        &[],
    );
    let e = eval_error(&dir);
    assert!(e.contains("`k`") && e.contains("cfg.json"), "{e}");
}

#[test]
fn a_missing_tensor_and_an_unknown_architecture_are_refused_naming_them() {
    let dir = edited(
        "gated",
        "arch",
        |c| c["architecture"] = "temporal".into(),
        &[],
    );
    let e = eval_error(&dir);
    assert!(e.contains("temporal") && e.contains("cfg.json"), "{e}");
    let dir = edited(
        "matching-pursuit",
        "no-weights",
        |_| {},
        &["sae_weights.safetensors"],
    );
    let e = eval_error(&dir);
    assert!(e.contains("sae_weights.safetensors"), "{e}");
}
