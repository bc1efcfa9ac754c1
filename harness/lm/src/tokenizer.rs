//! GPT-2 byte-level BPE tokenizer rebuilt from GGUF metadata (`tokenizer.ggml.*`).
//!
//! Pipeline for `tokenizer.ggml.model = "gpt2"` with `tokenizer.ggml.pre = "smollm"`
//! (SmolLM2's `tokenizer.json`: `Digits(individual_digits)` then `ByteLevel`):
//! 1. split every numeric character (`\p{N}`) into its own piece;
//! 2. split each remaining span with the GPT-2 pattern
//!    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
//! 3. map each piece's UTF-8 bytes to printable characters (GPT-2's `bytes_to_unicode`:
//!    bytes `!..~`, `¡..¬`, `®..ÿ` map to themselves, the other 68 to U+0100 onward;
//!    space becomes `Ġ`);
//! 4. merge adjacent symbols by lowest `tokenizer.ggml.merges` rank until none applies.
//!
//! Decoding inverts step 3; control tokens (type 3) are skipped. No BOS is added when
//! `tokenizer.ggml.add_bos_token` is false, as for SmolLM2.

use crate::gguf::GgufFile;
use anyhow::{Context, Result, bail, ensure};
use fancy_regex::Regex;
use std::collections::HashMap;

/// The GPT-2 pre-tokenizer pattern (needs look-ahead, hence `fancy_regex`).
const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// GGUF `tokenizer.ggml.token_type` value of control tokens.
const TOKEN_TYPE_CONTROL: i32 = 3;

/// Byte-level BPE over a fixed vocabulary and merge list.
#[derive(Debug)]
pub struct BpeTokenizer {
    tokens: Vec<String>,
    token_ids: HashMap<String, u32>,
    /// `(left id, right id) → (rank, merged id)`.
    merges: HashMap<(u32, u32), (u32, u32)>,
    is_control: Vec<bool>,
    /// Single-byte token of each byte (`None` where the vocabulary lacks it).
    byte_tokens: Vec<Option<u32>>,
    char_to_byte: HashMap<char, u8>,
    pattern: Regex,
    /// Beginning-of-sequence id (`tokenizer.ggml.bos_token_id`).
    pub bos_id: u32,
    /// End-of-sequence id (`tokenizer.ggml.eos_token_id`).
    pub eos_id: u32,
    /// Whether the model expects a BOS before the text.
    pub add_bos: bool,
}

/// GPT-2's reversible byte → printable-character table.
fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).expect("U+0100..U+0143 are chars");
            next += 1;
            c
        };
    }
    table
}

impl BpeTokenizer {
    /// Rebuilds the tokenizer from a GGUF file's metadata; errors name the key.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let model = gguf.get_str("tokenizer.ggml.model")?;
        ensure!(
            model == "gpt2",
            "{}: tokenizer.ggml.model is '{model}', only 'gpt2' (byte-level BPE) is supported",
            gguf.source
        );
        if let Ok(pre) = gguf.get_str("tokenizer.ggml.pre")
            && pre != "smollm"
        {
            tracing::warn!(
                "tokenizer.ggml.pre is '{pre}': using the smollm pre-tokenizer (digits split, GPT-2 pattern)"
            );
        }
        let tokens: Vec<String> = gguf
            .get_str_array("tokenizer.ggml.tokens")?
            .into_iter()
            .map(str::to_string)
            .collect();
        let merges = gguf.get_str_array("tokenizer.ggml.merges")?;
        let types = match gguf.get("tokenizer.ggml.token_type") {
            None => vec![1; tokens.len()],
            Some(v) => v
                .as_array()
                .context("tokenizer.ggml.token_type must be an array")?
                .iter()
                .map(|t| {
                    t.as_u64().map(|t| t as i32).or(match t {
                        crate::gguf::MetadataValue::I32(x) => Some(*x),
                        _ => None,
                    })
                })
                .collect::<Option<Vec<i32>>>()
                .context("tokenizer.ggml.token_type must hold integers")?,
        };
        ensure!(
            types.len() == tokens.len(),
            "{}: tokenizer.ggml.token_type has {} entries, tokenizer.ggml.tokens {}",
            gguf.source,
            types.len(),
            tokens.len()
        );
        let id = |key: &str| -> Result<u32> {
            let v = gguf.get_u64(key)?;
            ensure!(
                (v as usize) < tokens.len(),
                "{}: {key} = {v} is outside the vocabulary of {}",
                gguf.source,
                tokens.len()
            );
            Ok(v as u32)
        };
        let bos_id = id("tokenizer.ggml.bos_token_id")?;
        let eos_id = id("tokenizer.ggml.eos_token_id")?;
        let add_bos = gguf
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let is_control = types.iter().map(|&t| t == TOKEN_TYPE_CONTROL).collect();
        Self::new(tokens, &merges, is_control, bos_id, eos_id, add_bos)
            .with_context(|| format!("{}: tokenizer metadata", gguf.source))
    }

    /// Builds a tokenizer from its vocabulary (`id → token`, byte-level strings) and merges
    /// (`"left right"`, rank = position).
    pub fn new(
        tokens: Vec<String>,
        merges: &[&str],
        is_control: Vec<bool>,
        bos_id: u32,
        eos_id: u32,
        add_bos: bool,
    ) -> Result<Self> {
        let mut token_ids = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            // A duplicate keeps its first id (llama.cpp refuses such a vocabulary
            // outright: it asserts that every token text is unique).
            token_ids.entry(t.clone()).or_insert(i as u32);
        }
        let byte_to_char = bytes_to_unicode();
        // SmolLM2's vocabulary lacks a few control bytes (e.g. 0x04): like its
        // tokenizer.json (no unk token, no byte fallback), such bytes are dropped.
        // llama.cpp does the same: in `llm_tokenizer_bpe_session::tokenize`
        // (src/llama-vocab.cpp) a symbol with no token is split into bytes and
        // a byte with no token is skipped.
        let byte_tokens: Vec<Option<u32>> = byte_to_char
            .iter()
            .map(|c| token_ids.get(&c.to_string()).copied())
            .collect();
        let char_to_byte = byte_to_char
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect();
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let Some((l, r)) = m.split_once(' ') else {
                bail!("tokenizer.ggml.merges[{rank}] = '{m}' is not 'left right'");
            };
            let lookup = |s: &str| {
                token_ids.get(s).copied().with_context(|| {
                    format!("tokenizer.ggml.merges[{rank}] = '{m}': '{s}' is not in the vocabulary")
                })
            };
            let merged = lookup(&format!("{l}{r}"))?;
            merge_map
                .entry((lookup(l)?, lookup(r)?))
                .or_insert((rank as u32, merged));
        }
        Ok(Self {
            tokens,
            token_ids,
            merges: merge_map,
            is_control,
            byte_tokens,
            char_to_byte,
            pattern: Regex::new(GPT2_PATTERN).expect("the GPT-2 pattern compiles"),
            bos_id,
            eos_id,
            add_bos,
        })
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The byte-level string of a token id.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of a byte-level token string.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.token_ids.get(token).copied()
    }

    /// Pre-tokenizer pieces (steps 1-2 above), as byte ranges of `text`.
    pub fn pre_tokenize(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let mut pieces = Vec::new();
        let mut span_start = 0;
        let split_span = |start: usize, end: usize, pieces: &mut Vec<_>| {
            let span = &text[start..end];
            for m in self.pattern.find_iter(span) {
                let m = m.expect("the GPT-2 pattern has no catastrophic backtracking");
                pieces.push(start + m.start()..start + m.end());
            }
        };
        for (i, c) in text.char_indices() {
            if c.is_numeric() {
                split_span(span_start, i, &mut pieces);
                pieces.push(i..i + c.len_utf8());
                span_start = i + c.len_utf8();
            }
        }
        split_span(span_start, text.len(), &mut pieces);
        pieces
    }

    /// Encodes plain text (special-token strings are not recognised). Adds BOS only when
    /// the metadata asks for it.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        if self.add_bos {
            ids.push(self.bos_id);
        }
        for piece in self.pre_tokenize(text) {
            self.bpe_piece(&text[piece], &mut ids);
        }
        ids
    }

    /// Encodes text with the byte offset of each token's first byte (for aligning word
    /// labels to tokens). No BOS.
    pub fn encode_with_offsets(&self, text: &str) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        for piece in self.pre_tokenize(text) {
            let start = piece.start;
            let mut sym = Vec::new();
            self.bpe_piece_with_offsets(&text[piece], &mut sym);
            out.extend(sym.into_iter().map(|(id, at)| (id, start + at)));
        }
        out
    }

    /// BPE on one pre-token piece; appends ids.
    fn bpe_piece(&self, piece: &str, out: &mut Vec<u32>) {
        let mut sym = Vec::new();
        self.bpe_piece_with_offsets(piece, &mut sym);
        out.extend(sym.into_iter().map(|(id, _)| id));
    }

    /// BPE on one piece: `(id, byte offset in the piece)` per token. Repeatedly merges
    /// the adjacent pair of lowest merge rank (leftmost on ties).
    fn bpe_piece_with_offsets(&self, piece: &str, out: &mut Vec<(u32, usize)>) {
        let mut symbols: Vec<(u32, usize)> = piece
            .bytes()
            .enumerate()
            .filter_map(|(i, b)| self.byte_tokens[b as usize].map(|id| (id, i)))
            .collect();
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| {
                    self.merges
                        .get(&(w[0].0, w[1].0))
                        .map(|&(rank, id)| (rank, i, id))
                })
                .min();
            let Some((_, i, merged)) = best else { break };
            symbols[i].0 = merged;
            symbols.remove(i + 1);
        }
        out.extend(symbols);
    }

    /// Decodes ids to text (control tokens skipped; invalid UTF-8 replaced).
    pub fn decode(&self, ids: &[u32]) -> String {
        String::from_utf8_lossy(&self.decode_bytes(ids)).into_owned()
    }

    /// Decodes ids to raw bytes (control tokens skipped; unknown ids skipped).
    pub fn decode_bytes(&self, ids: &[u32]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &id in ids {
            let Some(tok) = self.tokens.get(id as usize) else {
                continue;
            };
            if self.is_control[id as usize] {
                continue;
            }
            for c in tok.chars() {
                match self.char_to_byte.get(&c) {
                    Some(&b) => bytes.push(b),
                    // Not byte-level (e.g. a user-defined token): its UTF-8 as is.
                    None => bytes.extend(c.to_string().as_bytes()),
                }
            }
        }
        bytes
    }
}
