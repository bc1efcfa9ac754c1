//! `rdpbench eval` end to end: SAELens folders on an `.npy` activations
//! file with per-token labels, eval.json/eval.csv through the store, the
//! report section, `compare` of two eval runs, and refused inputs (exit 2,
//! the file or field named).

mod common;

use common::{Scratch, rdpbench, run};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/saelens")
}

/// A `.npy` of `i64` labels `[n]`: token `t` gets `t % 3`, every 7th none.
fn write_labels(path: &Path, n: usize) {
    let header = format!("{{'descr': '<i8', 'fortran_order': False, 'shape': ({n},), }}");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend(((header.len() + 1) as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.push(b'\n');
    for t in 0..n {
        let v: i64 = if t % 7 == 0 { -1 } else { (t % 3) as i64 };
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

fn eval(out: &Path, saes: &[&str], extra: &[&str]) -> (i32, String, String) {
    let mut cmd = rdpbench();
    cmd.arg("eval").arg("--out").arg(out);
    for s in saes {
        cmd.arg("--sae").arg(fixtures().join(s));
    }
    cmd.arg("--activations")
        .arg(fixtures().join("activations.npy"))
        .args(extra);
    run(&mut cmd)
}

#[test]
fn eval_writes_the_required_fields_metrics_with_intervals_and_a_report_section() {
    let s = Scratch::new("eval-cli");
    let labels = s.path().join("labels.npy");
    write_labels(&labels, 256);
    let out = s.path().join("out");
    let (code, stdout, stderr) = eval(
        &out,
        &["topk-rescale", "jumprelu-no-b-dec-in", "matching-pursuit"],
        &[
            "--labels",
            labels.to_str().unwrap(),
            "--metrics",
            "mean-firing-density,concept-purity,mean-max-decoder-cosine",
            "--resamples",
            "20",
            "--batch-tokens",
            "32",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("matching_pursuit"), "{stdout}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    assert_eq!(j["schema_version"], 1);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let saes = j["saes"].as_array().unwrap();
    assert_eq!(saes.len(), 3);
    for (sae, name) in saes
        .iter()
        .zip(["topk-rescale", "jumprelu-no-b-dec-in", "matching-pursuit"])
    {
        for f in [
            "architecture",
            "d_in",
            "d_sae",
            "n_tokens",
            "l0",
            "mse",
            "explained_variance",
            "dead_fraction",
        ] {
            assert!(!sae[f].is_null(), "{name}: {f} missing in {sae}");
        }
        assert_eq!(sae["n_tokens"], 256);
        let want = &expected["saes"][name];
        let rel = |k: &str| {
            let (a, b) = (sae[k].as_f64().unwrap(), want[k].as_f64().unwrap());
            (a - b).abs() / b.abs().max(1e-6)
        };
        assert!(rel("mse") < 1e-4 && rel("l0") < 1e-4, "{name}");
        assert!(rel("explained_variance") < 1e-4, "{name}");
        for id in [
            "mean-firing-density",
            "concept-purity",
            "mean-max-decoder-cosine",
        ] {
            let m = &sae["metrics"][id];
            let (v, lo, hi) = (
                m["value"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name} {id}: {m}")),
                m["ci_low"].as_f64().unwrap(),
                m["ci_high"].as_f64().unwrap(),
            );
            assert!(lo <= hi, "{name} {id}: {m}");
            if id == "mean-max-decoder-cosine" {
                // Reads the decoder only: the same on every resample.
                assert!(lo == v && hi == v, "{m}");
            }
        }
    }
    // The honoured cfg values are recorded.
    assert_eq!(saes[0]["cfg"]["rescale_acts_by_decoder_norm"], true);
    assert_eq!(saes[1]["cfg"]["apply_b_dec_to_input"], false);
    assert!(saes[2]["cfg"]["max_iterations"].is_null());
    let csv = std::fs::read_to_string(out.join("eval.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("concept-purity.ci_low")
    );
    let manifest = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(manifest.contains("eval.json") && manifest.contains("eval.csv"));

    // The report's section.
    let (code, _, stderr) = run(rdpbench().arg("report").arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Evaluated SAEs") && html.contains("concept-purity (not checked)"));

    // compare: the same run twice shows nothing; another SAE set shows notes.
    let out2 = s.path().join("out2");
    let (code, _, stderr) = eval(
        &out2,
        &["topk-rescale"],
        &["--no-metrics", "--batch-tokens", "32"],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(rdpbench().arg("compare").arg(&out).arg(&out2));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("eval:"), "{stdout}");
    assert!(stdout.contains("only in A"), "{stdout}");
}

#[test]
fn refused_inputs_exit_2_naming_the_field_or_file() {
    let s = Scratch::new("eval-cli-refused");
    let bad = s.path().join("mp");
    std::fs::create_dir_all(&bad).unwrap();
    for f in ["cfg.json", "sae_weights.safetensors"] {
        std::fs::copy(fixtures().join("matching-pursuit").join(f), bad.join(f)).unwrap();
    }
    let cfg = std::fs::read_to_string(bad.join("cfg.json"))
        .unwrap()
        .replace(
            "\"normalize_activations\": \"none\"",
            "\"normalize_activations\": \"batch_norm\"",
        );
    std::fs::write(bad.join("cfg.json"), cfg).unwrap();
    let mut cmd = rdpbench();
    cmd.arg("eval")
        .arg("--out")
        .arg(s.path().join("out"))
        .arg("--sae")
        .arg(&bad)
        .arg("--activations")
        .arg(fixtures().join("activations.npy"))
        .arg("--no-metrics");
    let (code, _, stderr) = run(&mut cmd);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("normalize_activations") && stderr.contains("batch_norm"),
        "{stderr}"
    );
    // Activations of the wrong width: both shapes named.
    let (code, _, stderr) = run(rdpbench()
        .arg("eval")
        .arg("--out")
        .arg(s.path().join("out"))
        .arg("--sae")
        .arg(fixtures().join("standard"))
        .arg("--activations")
        .arg(fixtures().join("standard").join("sae_weights.safetensors"))
        .arg("--key")
        .arg("W_enc")
        .arg("--no-metrics"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("d_in = 16") && stderr.contains("rows of 48"),
        "{stderr}"
    );
}
