//! all-MiniLM-L6-v2 (from `scripts/fetch-real-data.sh`) against Hugging Face: WordPiece
//! ids and byte offsets, and the hidden state after every layer, from the committed
//! fixture `tests/fixtures/minilm_hf.json` (written by `scripts/check-wordpiece-vs-hf.sh`,
//! provenance inside). Each test skips with a message when the model is not fetched.
//!
//! With `RDPBENCH_MINILM_HF_REFERENCE` set to the folder the script writes
//! (`target/minilm-hf`), two more checks run: every Brown passage's tokens, and the full
//! hidden states (all 384 dims) of the fixture sentences.

use rdpbench_lm::activation_model::{ActivationModel, MiniLm};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Fixture {
    provenance: String,
    wordpiece: Vec<Case>,
    forward: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    offsets: Vec<[usize; 2]>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    /// With `[CLS]` and `[SEP]`.
    ids: Vec<u32>,
    layers: Vec<LayerSummary>,
}

#[derive(Deserialize)]
struct LayerSummary {
    head8: Vec<Vec<f32>>,
    sum: Vec<f64>,
    l2: Vec<f64>,
}

fn model() -> Option<MiniLm> {
    let dir = MiniLm::default_dir();
    if !MiniLm::weights_file(&dir).exists() {
        eprintln!(
            "skipped: {} not found (run scripts/fetch-real-data.sh)",
            dir.display()
        );
        return None;
    }
    Some(MiniLm::load_dir(&dir).expect("loading MiniLM"))
}

fn fixture() -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_hf.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f: Fixture = serde_json::from_str(&text).unwrap();
    assert!(f.provenance.contains("tokenizers=="));
    f
}

fn check_tokens(m: &MiniLm, text: &str, ids: &[u32], offsets: &[[usize; 2]]) -> Result<(), String> {
    let got = m.encode(text);
    let got_ids: Vec<u32> = got.iter().map(|t| t.id).collect();
    let got_off: Vec<[usize; 2]> = got.iter().map(|t| [t.bytes.start, t.bytes.end]).collect();
    if got_ids != ids {
        let at = got_ids
            .iter()
            .zip(ids)
            .position(|(a, b)| a != b)
            .unwrap_or(got_ids.len().min(ids.len()));
        return Err(format!(
            "ids differ at token {at}: ours {:?}, HF {:?}",
            &got_ids[at..(at + 5).min(got_ids.len())],
            &ids[at..(at + 5).min(ids.len())]
        ));
    }
    if got_off != offsets {
        let at = got_off
            .iter()
            .zip(offsets)
            .position(|(a, b)| a != b)
            .unwrap();
        return Err(format!(
            "offsets differ at token {at}: ours {:?}, HF {:?}",
            got_off[at], offsets[at]
        ));
    }
    Ok(())
}

#[test]
fn wordpiece_matches_hf_tokenizers() {
    let Some(m) = model() else { return };
    let f = fixture();
    let mut bad = Vec::new();
    for c in &f.wordpiece {
        if let Err(e) = check_tokens(&m, &c.text, &c.ids, &c.offsets) {
            bad.push(format!("{:?}: {e}", c.text));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} strings differ:\n{}",
        bad.len(),
        f.wordpiece.len(),
        bad.join("\n")
    );
    eprintln!(
        "wordpiece: {} strings identical to HF tokenizers (ids and byte offsets)",
        f.wordpiece.len()
    );
}

#[test]
fn hidden_states_match_hf_transformers() {
    let Some(m) = model() else { return };
    let f = fixture();
    let ids: Vec<Vec<u32>> = f.forward.iter().map(|s| s.ids.clone()).collect();
    for s in &f.forward {
        let mut want = vec![m.tokenizer.cls_id];
        want.extend(m.encode(&s.text).iter().map(|t| t.id));
        want.push(m.tokenizer.sep_id);
        assert_eq!(want, s.ids, "{:?}", s.text);
    }
    let mut worst = 0f32;
    for l in 0..m.n_layers() {
        // The same padded batch as the reference.
        let out = m.hidden_after(&ids, l).unwrap().to_vec3::<f32>().unwrap();
        for (b, s) in f.forward.iter().enumerate() {
            let want = &s.layers[l];
            for (p, row) in out[b].iter().take(s.ids.len()).enumerate() {
                let e = row[..8]
                    .iter()
                    .zip(&want.head8[p])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                worst = worst.max(e);
                assert!(
                    e < 1e-4,
                    "layer {l} sentence {b} token {p}: max abs diff {e}"
                );
                let sum: f64 = row.iter().map(|&x| x as f64).sum();
                let l2 = row.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
                assert!(
                    (sum - want.sum[p]).abs() < 1e-3,
                    "layer {l} token {p}: sum {sum} vs {}",
                    want.sum[p]
                );
                assert!(
                    (l2 - want.l2[p]).abs() < 1e-3 * want.l2[p],
                    "layer {l} token {p}: l2 {l2} vs {}",
                    want.l2[p]
                );
            }
        }
    }
    eprintln!("forward: max abs diff over the fixture's first 8 dims, all layers: {worst:.3e}");
}

fn reference_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("RDPBENCH_MINILM_HF_REFERENCE")?);
    Some(dir)
}

#[derive(Deserialize)]
struct BrownRef {
    tokenizers: String,
    passages: Vec<BrownPassage>,
}

#[derive(Deserialize)]
struct BrownPassage {
    id: String,
    text: String,
    ids: Vec<u32>,
    offsets: Vec<[usize; 2]>,
}

#[derive(Deserialize)]
struct ForwardRef {
    sentences: Vec<FullSentence>,
}

#[derive(Deserialize)]
struct FullSentence {
    ids: Vec<u32>,
    /// `[layer][token][d]`.
    layers: Vec<Vec<Vec<f32>>>,
}

#[test]
fn brown_tokens_match_hf_reference() {
    let Some(dir) = reference_dir() else {
        eprintln!(
            "skipped: RDPBENCH_MINILM_HF_REFERENCE not set (scripts/check-wordpiece-vs-hf.sh sets it)"
        );
        return;
    };
    let Some(m) = model() else { return };
    let path = dir.join("brown_wordpiece.json");
    let r: BrownRef = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut bad = Vec::new();
    let mut tokens = 0;
    for p in &r.passages {
        tokens += p.ids.len();
        if let Err(e) = check_tokens(&m, &p.text, &p.ids, &p.offsets) {
            bad.push(format!("{}: {e}", p.id));
        }
    }
    eprintln!(
        "brown: {} of {} passages ({tokens} tokens) identical to tokenizers=={}",
        r.passages.len() - bad.len(),
        r.passages.len(),
        r.tokenizers
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn full_hidden_states_match_hf_reference() {
    let Some(dir) = reference_dir() else {
        eprintln!(
            "skipped: RDPBENCH_MINILM_HF_REFERENCE not set (scripts/check-wordpiece-vs-hf.sh sets it)"
        );
        return;
    };
    let Some(m) = model() else { return };
    let r: ForwardRef =
        serde_json::from_str(&std::fs::read_to_string(dir.join("forward.json")).unwrap()).unwrap();
    let ids: Vec<Vec<u32>> = r.sentences.iter().map(|s| s.ids.clone()).collect();
    for l in 0..m.n_layers() {
        let out = m.hidden_after(&ids, l).unwrap().to_vec3::<f32>().unwrap();
        let mut worst = 0f32;
        let mut scale = 0f32;
        for (b, s) in r.sentences.iter().enumerate() {
            for (p, want) in s.layers[l].iter().enumerate() {
                for (a, w) in out[b][p].iter().zip(want) {
                    worst = worst.max((a - w).abs());
                    scale = scale.max(w.abs());
                }
            }
        }
        eprintln!(
            "layer {l}: max abs diff {worst:.3e} (max |value| {scale:.2}), all {} dims",
            m.d_model()
        );
        assert!(worst < 1e-4, "layer {l}: max abs diff {worst}");
    }
}
