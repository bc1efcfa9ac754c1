//! SmolLM2's byte-level BPE as a Hugging Face `tokenizers::Tokenizer` built from the
//! GGUF metadata (`tokenizer.ggml.*`).
//!
//! The pipeline is the one in SmolLM2's own `tokenizer.json`
//! (`tokenizer.ggml.pre = "smollm"`), assembled from the library's parts:
//! 1. pre-tokenizer `Sequence[Digits(individual_digits = true), ByteLevel(add_prefix_space
//!    = false, use_regex = true)]`: every numeric character (`char::is_numeric`) is its
//!    own piece, the rest is split by the GPT-2 pattern
//!    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, and
//!    each piece's UTF-8 bytes are mapped to printable characters (GPT-2's
//!    `bytes_to_unicode`; space becomes `Ġ`);
//! 2. model `BPE` over `tokenizer.ggml.tokens` (id = position) and
//!    `tokenizer.ggml.merges` (rank = position), no unknown token, no byte fallback: a
//!    byte without a single-byte token (SmolLM2 lacks e.g. 0x04) is dropped, as
//!    llama.cpp does;
//! 3. decoder `ByteLevel`.
//!
//! Special-token strings in the text are not recognised (no added tokens are
//! registered): they are encoded as plain text, as `rdpbench lm tokenize` promises.
//! Decoding skips control tokens (GGUF token type 3). No BOS is added unless
//! `tokenizer.ggml.add_bos_token` is true (false for SmolLM2).

use crate::gguf::GgufFile;
use anyhow::{Context, Result, ensure};
use std::ops::Range;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer, Tokenizer};

/// GGUF `tokenizer.ggml.token_type` value of control tokens.
const TOKEN_TYPE_CONTROL: i32 = 3;

/// Byte-level BPE over a fixed vocabulary and merge list.
#[derive(Debug)]
pub struct BpeTokenizer {
    inner: Tokenizer,
    /// `id → token` (byte-level strings), as given.
    tokens: Vec<String>,
    is_control: Vec<bool>,
    /// Beginning-of-sequence id (`tokenizer.ggml.bos_token_id`).
    pub bos_id: u32,
    /// End-of-sequence id (`tokenizer.ggml.eos_token_id`).
    pub eos_id: u32,
    /// Whether the model expects a BOS before the text.
    pub add_bos: bool,
}

/// SmolLM2's pre-tokenizer: digits one by one, then GPT-2's byte-level split.
fn smollm_pre_tokenizer() -> PreTokenizerWrapper {
    Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])
    .into()
}

impl BpeTokenizer {
    /// Rebuilds the tokenizer from a GGUF file's metadata; errors name the file and key.
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
                .with_context(|| {
                    format!(
                        "{}: tokenizer.ggml.token_type must be an array",
                        gguf.source
                    )
                })?
                .iter()
                .map(|t| {
                    t.as_u64().map(|t| t as i32).or(match t {
                        crate::gguf::MetadataValue::I32(x) => Some(*x),
                        _ => None,
                    })
                })
                .collect::<Option<Vec<i32>>>()
                .with_context(|| {
                    format!(
                        "{}: tokenizer.ggml.token_type must hold integers",
                        gguf.source
                    )
                })?,
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
    /// (`"left right"`, rank = position); errors name the merge.
    pub fn new(
        tokens: Vec<String>,
        merges: &[&str],
        is_control: Vec<bool>,
        bos_id: u32,
        eos_id: u32,
        add_bos: bool,
    ) -> Result<Self> {
        ensure!(
            is_control.len() == tokens.len(),
            "{} control flags for {} tokens",
            is_control.len(),
            tokens.len()
        );
        let mut vocab = tokenizers::models::bpe::Vocab::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            // A duplicate keeps its first id (llama.cpp refuses such a vocabulary
            // outright: it asserts that every token text is unique).
            vocab.entry(t.clone()).or_insert(i as u32);
        }
        let mut pairs = Vec::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let (l, r) = m.split_once(' ').with_context(|| {
                format!("tokenizer.ggml.merges[{rank}] = '{m}' is not 'left right'")
            })?;
            let merged = format!("{l}{r}");
            for s in [l, r, merged.as_str()] {
                ensure!(
                    vocab.contains_key(s),
                    "tokenizer.ggml.merges[{rank}] = '{m}': '{s}' is not in the vocabulary"
                );
            }
            pairs.push((l.to_string(), r.to_string()));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, pairs)
            .build()
            .map_err(|e| anyhow::anyhow!("building the BPE model: {e}"))?;
        let mut inner = Tokenizer::new(bpe);
        inner
            .with_pre_tokenizer(Some(smollm_pre_tokenizer()))
            .with_decoder(Some(ByteLevelDecoder::default()));
        Ok(Self {
            inner,
            tokens,
            is_control,
            bos_id,
            eos_id,
            add_bos,
        })
    }

    /// The underlying Hugging Face tokenizer (no added tokens, no post-processor).
    pub fn hf(&self) -> &Tokenizer {
        &self.inner
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
        self.inner.token_to_id(token)
    }

    /// Pre-tokenizer pieces (step 1 above, before the byte mapping), as byte ranges of
    /// `text`.
    pub fn pre_tokenize(&self, text: &str) -> Vec<Range<usize>> {
        let mut pieces = PreTokenizedString::from(text);
        smollm_pre_tokenizer()
            .pre_tokenize(&mut pieces)
            .expect("the digit and GPT-2 patterns cannot fail on a string");
        pieces
            .get_splits(OffsetReferential::Original, OffsetType::Byte)
            .into_iter()
            .map(|(_, (start, end), _)| start..end)
            .collect()
    }

    /// Encodes plain text (special-token strings are not recognised). Adds BOS only when
    /// the metadata asks for it.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .expect("byte-level BPE without added tokens cannot fail on a string");
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if self.add_bos {
            ids.push(self.bos_id);
        }
        ids.extend_from_slice(enc.get_ids());
        ids
    }

    /// Encodes text with the byte offset of each token's first byte (for aligning word
    /// labels to tokens). No BOS.
    ///
    /// `tokenizers` maps every byte of a multi-byte character to the whole character's
    /// range, so a token that starts inside a character (e.g. the second byte of `é`)
    /// would get the character's start. A byte-level token of `n` characters stands for
    /// `n` bytes, and tokens follow each other without gaps inside a character, so the
    /// start is `max(library start, previous start + previous length)`. A dropped byte
    /// leaves a gap this rule cannot see inside a character: SmolLM2 lacks tokens for
    /// 21 bytes, six ASCII controls (whole characters: exact), 13 that never occur in
    /// UTF-8, and 0xF1, 0xF2, lead bytes of the unassigned planes 4-11, after which
    /// the character's next token would be placed one byte early.
    pub fn encode_with_offsets(&self, text: &str) -> Vec<(u32, usize)> {
        let enc = self
            .inner
            .encode(text, false)
            .expect("byte-level BPE without added tokens cannot fail on a string");
        let mut out: Vec<(u32, usize)> = Vec::with_capacity(enc.len());
        let mut next = 0;
        for (&id, tok, &(start, _)) in zip3(enc.get_ids(), enc.get_tokens(), enc.get_offsets()) {
            let at = start.max(next);
            out.push((id, at));
            next = at + tok.chars().count();
        }
        out
    }

    /// Decodes ids to text (control tokens and unknown ids skipped; invalid UTF-8
    /// replaced).
    pub fn decode(&self, ids: &[u32]) -> String {
        let kept: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&id| self.is_control.get(id as usize) == Some(&false))
            .collect();
        self.inner
            .decode(&kept, false)
            .expect("byte-level decoding of known ids cannot fail")
    }
}

/// Three slices walked together.
fn zip3<'a, A, B, C>(
    a: &'a [A],
    b: &'a [B],
    c: &'a [C],
) -> impl Iterator<Item = (&'a A, &'a B, &'a C)> {
    a.iter().zip(b).zip(c).map(|((a, b), c)| (a, b, c))
}
