//! Activation cache through the generic [`ActivationModel`] path with a tiny BERT and a
//! tiny WordPiece vocabulary the test makes: every stored row is a text token of a
//! `[CLS] window [SEP]` forward (special-token rows are not stored, positions start at
//! 1), labels follow WordPiece byte offsets, the manifest records the model kind, and a
//! cache made by another model is refused.

mod common_bert;

use common_bert::{tiny_config, tiny_weights, tokenizer_json};
use rdpbench_lm::activation_cache::{ExtractSettings, extract_with, read_manifest, read_shard};
use rdpbench_lm::activation_model::{ActivationModel, MiniLm};
use rdpbench_lm::corpus::{Document, LabelledCorpus};
use rdpbench_lm::{Bert, WordPieceTokenizer};

const VOCAB: [&str; 16] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "##s", "a", ".", "dog",
    "ran", "un", "##der",
];

fn corpus() -> LabelledCorpus {
    // Word labels: 0 = determiner, 1 = noun, 2 = other (punctuation unlabelled).
    let docs: [(&str, &[u32]); 4] = [
        ("The cats sat on the mats.", &[0, 1, 2, 2, 0, 1]),
        ("A dog ran under a cat", &[0, 1, 2, 2, 0, 1]),
        ("cat", &[1]),
        (
            "the dog sat on a mat. The cat ran.",
            &[0, 1, 2, 2, 0, 1, 0, 1, 2],
        ),
    ];
    LabelledCorpus {
        name: "tiny-wp".into(),
        documents: docs
            .iter()
            .enumerate()
            .map(|(i, (text, labels))| {
                // Words are maximal alphabetic runs, labelled in order.
                let mut spans = Vec::new();
                let mut start = None;
                for (k, c) in text.char_indices().chain([(text.len(), ' ')]) {
                    match (c.is_alphabetic(), start) {
                        (true, None) => start = Some(k),
                        (false, Some(s)) => {
                            spans.push(s..k);
                            start = None;
                        }
                        _ => {}
                    }
                }
                assert_eq!(spans.len(), labels.len(), "{text}");
                Document {
                    id: format!("d{i}"),
                    text: text.to_string(),
                    doc_label: Some(i as u32 % 2),
                    word_labels: spans.into_iter().zip(labels.iter().copied()).collect(),
                }
            })
            .collect(),
        token_label_names: vec!["det".into(), "noun".into(), "other".into()],
        doc_label_names: vec!["even".into(), "odd".into()],
    }
}

fn tiny_minilm(seed: u64) -> (MiniLm, Vec<u8>) {
    let c = tiny_config(VOCAB.len());
    let bytes = tiny_weights(&c, seed).to_safetensors();
    let bert = Bert::from_bytes(c, &bytes, "tiny").unwrap();
    let tokenizer = WordPieceTokenizer::from_json(&tokenizer_json(&VOCAB)).unwrap();
    (MiniLm { bert, tokenizer }, bytes)
}

#[test]
fn minilm_cache_rows_are_text_tokens_of_framed_windows() {
    let dir = std::env::temp_dir().join(format!("rdpbench-lm-minilm-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (model, bytes) = tiny_minilm(17);
    let weights = dir.join("model.safetensors");
    std::fs::write(&weights, &bytes).unwrap();
    let corpus = corpus();
    let settings = ExtractSettings {
        layer: 1,
        seq_len: 4,
        batch: 2,
        shard_tokens: 8,
        max_tokens: None,
    };
    let cache = dir.join("cache");
    let r = extract_with(&model, &weights, &corpus, &settings, &cache).unwrap();
    let total: usize = corpus
        .documents
        .iter()
        .map(|d| model.encode(&d.text).len())
        .sum();
    assert_eq!(r.tokens_written, total);
    let m = read_manifest(&cache).unwrap();
    assert_eq!(m.model, "minilm");
    assert_eq!(m.d_model, 16);
    assert!(m.complete && m.shards.len() >= 2);

    let d = m.d_model;
    for (i, s) in m.shards.iter().enumerate() {
        let shard = read_shard(&cache, &m, i).unwrap();
        let mut row = 0;
        for doc in s.doc_start..s.doc_end {
            let text = &corpus.documents[doc].text;
            let toks = model.encode(text);
            assert!(
                !toks.iter().any(|t| t.id == model.tokenizer.unk_id),
                "{text}"
            );
            for (w, chunk) in toks.chunks(settings.seq_len).enumerate() {
                let mut framed = vec![model.tokenizer.cls_id];
                framed.extend(chunk.iter().map(|t| t.id));
                framed.push(model.tokenizer.sep_id);
                let direct = model
                    .hidden_after(&[framed], 1)
                    .unwrap()
                    .to_vec3::<f32>()
                    .unwrap();
                for (p, tok) in chunk.iter().enumerate() {
                    let r = row + p;
                    assert_eq!(shard.token_ids[r], tok.id);
                    assert_eq!(shard.doc_index[r] as usize, doc);
                    assert_eq!(shard.position[r] as usize, p + 1, "after [CLS]");
                    let got = &shard.activations[r * d..(r + 1) * d];
                    let e = got
                        .iter()
                        .zip(&direct[0][p + 1])
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f32::max);
                    assert!(e < 1e-5, "doc {doc} window {w} token {p}: diff {e}");
                    // Label: that of the word holding the token's first byte; "." has none.
                    let piece = &text[tok.bytes.clone()];
                    let want = if piece == "." {
                        -1
                    } else {
                        let word = text[..tok.bytes.start]
                            .split(|c: char| !c.is_alphabetic())
                            .filter(|w| !w.is_empty())
                            .count()
                            - usize::from(text[..tok.bytes.start].ends_with(char::is_alphabetic));
                        let doc_labels: Vec<i32> = corpus.documents[doc]
                            .word_labels
                            .iter()
                            .map(|(_, l)| *l as i32)
                            .collect();
                        doc_labels[word]
                    };
                    assert_eq!(shard.token_label[r], want, "doc {doc} piece {piece:?}");
                }
                row += chunk.len();
            }
        }
        assert_eq!(row, shard.n_tokens);
    }
    // "cats" is cat ##s: both pieces carry the noun label.
    let s0 = read_shard(&cache, &m, 0).unwrap();
    let cat = VOCAB.iter().position(|v| *v == "cat").unwrap() as u32;
    let plural = VOCAB.iter().position(|v| *v == "##s").unwrap() as u32;
    let k = s0
        .token_ids
        .windows(2)
        .position(|w| w == [cat, plural])
        .unwrap();
    assert_eq!((s0.token_label[k], s0.token_label[k + 1]), (1, 1));

    // Re-run resumes with nothing to do.
    let again = extract_with(&model, &weights, &corpus, &settings, &cache).unwrap();
    assert_eq!(
        (again.shards_written, again.shards_verified),
        (0, m.shards.len())
    );

    // Another model into the same folder (other weights) is refused...
    let (other, other_bytes) = tiny_minilm(18);
    let other_file = dir.join("other.safetensors");
    std::fs::write(&other_file, &other_bytes).unwrap();
    let e = extract_with(&other, &other_file, &corpus, &settings, &cache).unwrap_err();
    assert!(e.to_string().contains("another model"), "{e}");
    // ...and so is a manifest of another model kind with the same weights file.
    let mut relabelled = read_manifest(&cache).unwrap();
    relabelled.model = "smollm2".into();
    std::fs::write(
        cache.join("manifest.json"),
        serde_json::to_vec_pretty(&relabelled).unwrap(),
    )
    .unwrap();
    let e = extract_with(&model, &weights, &corpus, &settings, &cache).unwrap_err();
    assert!(e.to_string().contains("model 'smollm2'"), "{e}");

    // A window that does not fit 24 positions with [CLS] and [SEP] is refused up front.
    let too_long = ExtractSettings {
        seq_len: 23,
        ..settings
    };
    let e = extract_with(&model, &weights, &corpus, &too_long, &dir.join("long")).unwrap_err();
    assert!(e.to_string().contains("at most 24"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
