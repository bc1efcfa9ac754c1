//! Byte-level BPE: hand-derived encodings on a tiny vocabulary, the pre-tokenizer's
//! pieces, round trips, and (when fetched) the real SmolLM2 vocabulary.

mod common;

use common::SplitMix;
use rdpbench_lm::{BpeTokenizer, GgufFile, real_data};

/// GPT-2 byte → char table, written out independently of the crate's.
fn byte_char(b: u8) -> char {
    let mut n = 0u32;
    for x in 0..=255u8 {
        let printable =
            (b'!'..=b'~').contains(&x) || (0xA1..=0xAC).contains(&x) || (0xAE..=0xFF).contains(&x);
        if x == b {
            return if printable {
                char::from(x)
            } else {
                char::from_u32(256 + n).unwrap()
            };
        }
        if !printable {
            n += 1;
        }
    }
    unreachable!()
}

/// Vocabulary: 0 = control `<|endoftext|>`, 1..=256 = bytes 0..=255, then merged tokens.
fn tiny() -> BpeTokenizer {
    let mut tokens = vec!["<|endoftext|>".to_string()];
    tokens.extend((0..=255u8).map(|b| byte_char(b).to_string()));
    for t in ["Ġt", "he", "Ġthe", "in", "Ġin"] {
        tokens.push(t.to_string());
    }
    let mut control = vec![false; tokens.len()];
    control[0] = true;
    BpeTokenizer::new(
        tokens,
        &["Ġ t", "h e", "Ġt he", "i n", "Ġ in"],
        control,
        0,
        0,
        false,
    )
    .unwrap()
}

fn byte_id(b: u8) -> u32 {
    b as u32 + 1
}

#[test]
fn byte_table_is_gpt2s() {
    assert_eq!(byte_char(b' '), 'Ġ');
    assert_eq!(byte_char(b'\n'), 'Ċ');
    assert_eq!(byte_char(0), 'Ā');
    assert_eq!(byte_char(b'A'), 'A');
}

#[test]
fn hand_derived_encodings() {
    let tok = tiny();
    // "the": t,h,e → (h,e) rank 1 → t,he; (t,he) is no merge.
    assert_eq!(tok.encode("the"), vec![byte_id(b't'), 258]);
    // " the": Ġ,t,h,e → Ġt,h,e → Ġt,he → Ġthe.
    assert_eq!(tok.encode(" the"), vec![259]);
    // " in the": pieces " in", " the" → Ġin, Ġthe.
    assert_eq!(tok.encode(" in the"), vec![261, 259]);
    // Digits are single pieces; "é" is two bytes.
    assert_eq!(
        tok.encode("42é"),
        vec![byte_id(b'4'), byte_id(b'2'), byte_id(0xC3), byte_id(0xA9)]
    );
    assert_eq!(
        tok.decode(&[0, 259, 261]),
        " the in",
        "control token skipped"
    );
}

#[test]
fn bytes_missing_from_the_vocabulary_are_dropped() {
    // Like SmolLM2 (no single-byte token for 0x04): such bytes are skipped, not fatal.
    let mut tokens = vec!["<|endoftext|>".to_string()];
    tokens.extend(
        (0..=255u8)
            .filter(|&b| b != 4)
            .map(|b| byte_char(b).to_string()),
    );
    let tok = BpeTokenizer::new(tokens, &[], vec![false; 256], 0, 0, false).unwrap();
    let ids = tok.encode("a\u{4}b");
    assert_eq!(ids.len(), 2);
    assert_eq!(tok.decode(&ids), "ab");
    let offsets: Vec<usize> = tok
        .encode_with_offsets("a\u{4}b")
        .iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(offsets, vec![0, 2]);
}

#[test]
fn gpt2_pieces() {
    let tok = tiny();
    let text = "Hello world's 2024!!\n\n  x";
    let pieces: Vec<&str> = tok
        .pre_tokenize(text)
        .into_iter()
        .map(|r| &text[r])
        .collect();
    assert_eq!(
        pieces,
        vec![
            "Hello", " world", "'s", " ", "2", "0", "2", "4", "!!", "\n\n ", " x"
        ]
    );
}

#[test]
fn offsets_point_at_token_starts() {
    let tok = tiny();
    let text = "in the thin";
    let enc = tok.encode_with_offsets(text);
    let ids: Vec<u32> = enc.iter().map(|e| e.0).collect();
    assert_eq!(ids, tok.encode(text));
    let starts: Vec<usize> = enc.iter().map(|e| e.1).collect();
    // in | Ġthe | Ġt h in → Ġ,t,h,i,n: Ġt, h, in.
    assert_eq!(starts, vec![0, 2, 6, 8, 9]);
}

#[test]
fn offsets_inside_multibyte_characters_are_byte_exact() {
    // No merges apply: every byte is its own token, and each token starts at its own
    // byte, also the 2nd..4th bytes of "é" (2 bytes), "日" (3) and "🙂" (4).
    let tok = tiny();
    let text = "aé日🙂";
    let enc = tok.encode_with_offsets(text);
    let ids: Vec<u32> = enc.iter().map(|e| e.0).collect();
    assert_eq!(ids, text.bytes().map(byte_id).collect::<Vec<_>>());
    let starts: Vec<usize> = enc.iter().map(|e| e.1).collect();
    assert_eq!(starts, (0..text.len()).collect::<Vec<_>>());
}

fn random_text(rng: &mut SplitMix) -> String {
    const PARTS: &[&str] = &[
        "the",
        " The",
        " cat",
        "'s",
        "'ll",
        " 1984",
        "\n",
        "\n\n",
        "  ",
        "\t",
        "!?",
        " «quoted»",
        "é",
        "日本語",
        " naïve",
        "🙂",
        " x2",
        "--",
        " U.S.",
        "'",
        "Ω",
        " ",
        "...",
        "\r\n",
        "0",
    ];
    let n = 1 + rng.next_u64() as usize % 12;
    (0..n)
        .map(|_| PARTS[rng.next_u64() as usize % PARTS.len()])
        .collect()
}

#[test]
fn round_trip_tiny() {
    let tok = tiny();
    let mut rng = SplitMix(1);
    for _ in 0..500 {
        let s = random_text(&mut rng);
        assert_eq!(tok.decode(&tok.encode(&s)), s, "{s:?}");
    }
}

fn real() -> Option<BpeTokenizer> {
    let path = real_data::smollm2_gguf();
    if !path.exists() {
        eprintln!(
            "skipped: {} not found (run scripts/fetch-real-data.sh)",
            path.display()
        );
        return None;
    }
    Some(BpeTokenizer::from_gguf(&GgufFile::read(&path).unwrap()).unwrap())
}

#[test]
fn real_smollm2_vocabulary() {
    let Some(tok) = real() else { return };
    assert_eq!(tok.vocab_size(), 49152);
    assert_eq!((tok.bos_id, tok.eos_id), (1, 2));
    assert_eq!(tok.token(1), Some("<|im_start|>"));
    assert_eq!(tok.token(2), Some("<|im_end|>"));
    assert!(!tok.add_bos);
    let ids = tok.encode("The capital of France is");
    let toks: Vec<&str> = ids.iter().map(|&i| tok.token(i).unwrap()).collect();
    assert_eq!(toks, vec!["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"]);
    // Digits are split one by one (SmolLM2's Digits(individual_digits)).
    let toks: Vec<String> = tok
        .encode(" 2024")
        .iter()
        .map(|&i| tok.token(i).unwrap().to_string())
        .collect();
    assert_eq!(toks, vec!["Ġ", "2", "0", "2", "4"]);
    let mut rng = SplitMix(2);
    for _ in 0..2000 {
        let s = random_text(&mut rng);
        assert_eq!(tok.decode(&tok.encode(&s)), s, "{s:?}");
    }
}
