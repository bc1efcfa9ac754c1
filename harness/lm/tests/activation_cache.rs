//! Activation cache on a tiny model and a tiny labelled corpus the test makes: shard
//! contents equal a direct forward, labels line up, a re-run resumes, a corrupted shard
//! is redone, and a cache made for another layer is refused.

mod common;

use common::{TINY, Tiny, tiny_gguf, tiny_weights};
use rdpbench_lm::activation_cache::{ExtractSettings, extract, read_manifest, read_shard};
use rdpbench_lm::corpus::{Document, LabelledCorpus};
use rdpbench_lm::dequant::GgmlType;
use rdpbench_lm::{BpeTokenizer, GgufFile, Llama};

/// Byte-level tokenizer over the 256 bytes (ids 0..=255 in GPT-2 char order) plus " t".
fn byte_tokenizer() -> BpeTokenizer {
    let chars: Vec<String> = (0..=255u8)
        .map(|b| {
            let printable = (b'!'..=b'~').contains(&b)
                || (0xA1..=0xAC).contains(&b)
                || (0xAE..=0xFF).contains(&b);
            let n = (0..b)
                .filter(|&x| {
                    !((b'!'..=b'~').contains(&x)
                        || (0xA1..=0xAC).contains(&x)
                        || (0xAE..=0xFF).contains(&x))
                })
                .count() as u32;
            if printable {
                char::from(b).to_string()
            } else {
                char::from_u32(256 + n).unwrap().to_string()
            }
        })
        .collect();
    let mut tokens = chars;
    tokens.push("Ġt".to_string());
    BpeTokenizer::new(tokens, &["Ġ t"], vec![false; 257], 0, 0, false).unwrap()
}

const MODEL: Tiny = Tiny { vocab: 257, ..TINY };

fn corpus() -> LabelledCorpus {
    let docs = [
        "a cat sat",
        "to the top",
        "hi",
        "the tall tree stood",
        "x y z",
    ];
    LabelledCorpus {
        name: "tiny".into(),
        documents: docs
            .iter()
            .enumerate()
            .map(|(i, t)| Document {
                id: format!("d{i}"),
                text: t.to_string(),
                doc_label: Some((i % 2) as u32),
                // Label each word by its index mod 3.
                word_labels: t
                    .split(' ')
                    .scan(0usize, |at, w| {
                        let span = *at..*at + w.len();
                        *at += w.len() + 1;
                        Some(span)
                    })
                    .enumerate()
                    .map(|(k, s)| (s, (k % 3) as u32))
                    .collect(),
            })
            .collect(),
        token_label_names: vec!["w0".into(), "w1".into(), "w2".into()],
        doc_label_names: vec!["even".into(), "odd".into()],
    }
}

#[test]
fn extract_resume_and_verify() {
    let dir = std::env::temp_dir().join(format!("rdpbench-lm-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let model_file = dir.join("tiny.gguf");
    let w = tiny_weights(MODEL, 21, false);
    std::fs::write(&model_file, tiny_gguf(MODEL, &w, GgmlType::F32)).unwrap();
    let model = Llama::from_gguf(&GgufFile::read(&model_file).unwrap()).unwrap();
    let tok = byte_tokenizer();
    let corpus = corpus();
    let cache = dir.join("cache");
    let settings = ExtractSettings {
        layer: 1,
        seq_len: 4,
        batch: 3,
        shard_tokens: 12,
        max_tokens: None,
    };

    let r = extract(&model, &tok, &model_file, &corpus, &settings, &cache).unwrap();
    let total: usize = corpus
        .documents
        .iter()
        .map(|d| tok.encode(&d.text).len())
        .sum();
    assert_eq!(r.tokens_written, total);
    assert_eq!(r.shards_verified, 0);
    let m = read_manifest(&cache).unwrap();
    assert!(m.complete);
    assert_eq!(m.n_tokens, total);
    assert!(m.shards.len() >= 2, "shard_tokens 12 splits {total} tokens");
    assert_eq!(m.shards.last().unwrap().doc_end, corpus.documents.len());

    // Every row equals a direct forward of its window; labels line up.
    for (i, s) in m.shards.iter().enumerate() {
        let shard = read_shard(&cache, &m, i).unwrap();
        let mut row = 0;
        for doc in s.doc_start..s.doc_end {
            let d = &corpus.documents[doc];
            let enc = tok.encode_with_offsets(&d.text);
            let ids: Vec<u32> = enc.iter().map(|e| e.0).collect();
            for (wi, window) in ids.chunks(settings.seq_len).enumerate() {
                let out = model.forward(&[window.to_vec()], Some(1), false).unwrap();
                let direct = out
                    .residual
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                for p in 0..window.len() {
                    let r = row + p;
                    assert_eq!(shard.token_ids[r], window[p]);
                    assert_eq!(shard.doc_index[r] as usize, doc);
                    assert_eq!(shard.position[r] as usize, p);
                    assert_eq!(shard.doc_label[r], (doc % 2) as i32);
                    let got = &shard.activations[r * MODEL.d..(r + 1) * MODEL.d];
                    let want = &direct[p * MODEL.d..(p + 1) * MODEL.d];
                    let e = got
                        .iter()
                        .zip(want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f32::max);
                    assert!(e < 1e-5, "doc {doc} window {wi} pos {p}: diff {e}");
                    // Token label: word index (mod 3) of the word its first visible byte is in.
                    // A whitespace-only token has none (-1).
                    let k = wi * settings.seq_len + p;
                    let at = enc[k].1;
                    let end = enc.get(k + 1).map_or(d.text.len(), |e| e.1);
                    let want = match d.text[at..end].find(|c: char| c != ' ') {
                        None => -1,
                        Some(v) => (d.text[..at + v].matches(' ').count() % 3) as i32,
                    };
                    assert_eq!(shard.token_label[r], want, "doc {doc} token at byte {at}");
                }
                row += window.len();
            }
        }
        assert_eq!(row, shard.n_tokens);
    }

    // Re-run: everything verifies, nothing is recomputed.
    let r2 = extract(&model, &tok, &model_file, &corpus, &settings, &cache).unwrap();
    assert_eq!(
        (r2.shards_verified, r2.shards_written, r2.tokens_written),
        (m.shards.len(), 0, 0)
    );

    // Corrupt the second shard: it and every later one are redone, bytes identical.
    let second = cache.join(&m.shards[1].file);
    let good = std::fs::read(&second).unwrap();
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    std::fs::write(&second, bad).unwrap();
    let r3 = extract(&model, &tok, &model_file, &corpus, &settings, &cache).unwrap();
    assert_eq!(r3.shards_verified, 1);
    assert_eq!(r3.shards_written, m.shards.len() - 1);
    assert_eq!(std::fs::read(&second).unwrap(), good);
    assert_eq!(read_manifest(&cache).unwrap(), m);

    // Another layer into the same folder is refused.
    let other = ExtractSettings {
        layer: 0,
        ..settings.clone()
    };
    let e = extract(&model, &tok, &model_file, &corpus, &other, &cache).unwrap_err();
    assert!(
        e.to_string()
            .contains("another model, corpus, layer or window"),
        "{e}"
    );

    // A token limit stops after the document that reaches it.
    let limited = dir.join("limited");
    let lim = ExtractSettings {
        max_tokens: Some(10),
        ..settings
    };
    let r4 = extract(&model, &tok, &model_file, &corpus, &lim, &limited).unwrap();
    assert!(r4.tokens_total >= 10 && r4.tokens_total < total);
    assert!(read_manifest(&limited).unwrap().complete);
    std::fs::remove_dir_all(&dir).unwrap();
}
