//! BERT WordPiece (all-MiniLM-L6-v2) as a Hugging Face `tokenizers::Tokenizer` read
//! from the model's own `tokenizer.json`, with byte offsets into the original text.
//!
//! The file's pipeline runs as the library defines it (for MiniLM: added tokens such as
//! `[CLS]` cut out of the raw text first; `BertNormalizer` with `clean_text`,
//! `handle_chinese_chars`, `strip_accents` and `lowercase`; `BertPreTokenizer`;
//! `WordPiece` greedy longest-match-first with `##` continuations, a word of more than
//! `max_input_chars_per_word` characters or with an unmatched rest being one `[UNK]`).
//! The file's truncation and padding are switched off: windows are cut and padded by
//! the activation cache.
//!
//! [`WordPieceTokenizer::encode_with_offsets`] returns the text's tokens (no `[CLS]` /
//! `[SEP]`) with the byte range of the original text each came from; the model input
//! is `[CLS] tokens [SEP]` ([`WordPieceTokenizer::cls_id`], [`WordPieceTokenizer::sep_id`]).

use anyhow::{Context, Result, anyhow, ensure};
use std::ops::Range;
use std::path::Path;
use tokenizers::{ModelWrapper, Tokenizer};

/// One token of the text: vocabulary id and the byte range of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpan {
    pub id: u32,
    pub bytes: Range<usize>,
}

/// A `tokenizer.json` whose model is WordPiece, and the ids of its special tokens.
#[derive(Debug)]
pub struct WordPieceTokenizer {
    inner: Tokenizer,
    /// Model vocabulary size (ids `0..n`).
    n_tokens: usize,
    pub unk_id: u32,
    pub cls_id: u32,
    pub sep_id: u32,
    pub pad_id: u32,
}

impl WordPieceTokenizer {
    /// Reads a `tokenizer.json` whose model is `WordPiece`; errors name the file and field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_json_bytes(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses the contents of a `tokenizer.json`.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_bytes(text.as_bytes())
    }

    fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let mut inner =
            Tokenizer::from_bytes(bytes).map_err(|e| anyhow!("parsing tokenizer.json: {e}"))?;
        let unk_token = match inner.get_model() {
            ModelWrapper::WordPiece(wp) => wp.unk_token.clone(),
            other => anyhow::bail!("model.type is {}, expected 'WordPiece'", model_kind(other)),
        };
        inner
            .with_truncation(None)
            .map_err(|e| anyhow!("switching truncation off: {e}"))?;
        inner.with_padding(None);
        let n_tokens = inner.get_vocab_size(false);
        ensure!(n_tokens > 0, "model.vocab is empty");
        for (id, t) in inner.get_added_tokens_decoder() {
            ensure!(
                (id as usize) < n_tokens,
                "added token '{}' has id {id}, outside the vocabulary of {n_tokens}",
                t.content
            );
        }
        let id_of = |t: &str, field: &str| -> Result<u32> {
            inner
                .token_to_id(t)
                .with_context(|| format!("{field} '{t}' is not in model.vocab"))
        };
        let unk_id = id_of(&unk_token, "model.unk_token")?;
        let cls_id = id_of("[CLS]", "special token")?;
        let sep_id = id_of("[SEP]", "special token")?;
        let pad_id = id_of("[PAD]", "special token")?;
        Ok(Self {
            inner,
            n_tokens,
            unk_id,
            cls_id,
            sep_id,
            pad_id,
        })
    }

    /// The underlying Hugging Face tokenizer (truncation and padding off).
    pub fn hf(&self) -> &Tokenizer {
        &self.inner
    }

    pub fn vocab_size(&self) -> usize {
        self.n_tokens
    }

    /// Token string of an id.
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Id of a token string.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids of the text's tokens (no `[CLS]` / `[SEP]`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_with_offsets(text)
            .into_iter()
            .map(|t| t.id)
            .collect()
    }

    /// `[CLS] tokens [SEP]`, as the model sees one unpaired text (no truncation).
    pub fn encode_with_specials(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls_id];
        ids.extend(self.encode(text));
        ids.push(self.sep_id);
        ids
    }

    /// The text's tokens with the byte range of the original text each came from.
    pub fn encode_with_offsets(&self, text: &str) -> Vec<TokenSpan> {
        let enc = self
            .inner
            .encode(text, false)
            .expect("a WordPiece pipeline without truncation cannot fail on a string");
        enc.get_ids()
            .iter()
            .zip(enc.get_offsets())
            .map(|(&id, &(start, end))| TokenSpan {
                id,
                bytes: start..end,
            })
            .collect()
    }
}

/// The `model.type` name of a model, for errors.
fn model_kind(m: &ModelWrapper) -> &'static str {
    match m {
        ModelWrapper::BPE(_) => "'BPE'",
        ModelWrapper::WordPiece(_) => "'WordPiece'",
        ModelWrapper::WordLevel(_) => "'WordLevel'",
        ModelWrapper::Unigram(_) => "'Unigram'",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made tokenizer.json: 12 tokens, at most 9 characters a word, BERT normalizer and pre-tokenizer.
    fn tiny() -> WordPieceTokenizer {
        let vocab = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "the", ",", "cafe", "!",
            "中",
        ];
        let vocab: serde_json::Map<String, serde_json::Value> = vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i.into()))
            .collect();
        // As MiniLM's file writes them: special, matched before normalization.
        let added: Vec<serde_json::Value> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
            .iter()
            .enumerate()
            .map(|(id, s)| {
                serde_json::json!({"id": id, "content": s, "single_word": false,
                    "lstrip": false, "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let json = serde_json::json!({
            "added_tokens": added,
            "normalizer": {"type": "BertNormalizer", "clean_text": true,
                "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "model": {"type": "WordPiece", "unk_token": "[UNK]",
                "continuing_subword_prefix": "##", "max_input_chars_per_word": 9,
                "vocab": vocab}
        });
        WordPieceTokenizer::from_json(&json.to_string()).unwrap()
    }

    #[test]
    fn greedy_longest_match_with_continuations() {
        let t = tiny();
        // "UnAffable" lowercases to "unaffable" = un ##aff ##able.
        let toks = t.encode_with_offsets("UnAffable, the");
        let ids: Vec<u32> = toks.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![4, 5, 6, 8, 7]);
        let spans: Vec<_> = toks.iter().map(|t| t.bytes.clone()).collect();
        assert_eq!(spans, vec![0..2, 2..5, 5..9, 9..10, 11..14]);
    }

    #[test]
    fn unknown_rest_makes_the_whole_word_unk() {
        let t = tiny();
        // "unaffx": un ##aff then "x" has no match → the whole word is [UNK].
        assert_eq!(t.encode("unaffx the"), vec![1, 7]);
        // "unableable" would be un ##able ##able, but its 10 characters exceed
        // max_input_chars_per_word (9) → [UNK] without trying.
        assert_eq!(t.encode("unableable"), vec![1]);
        assert_eq!(t.encode("unable"), vec![4, 6]);
    }

    #[test]
    fn accents_controls_cjk_and_added_tokens() {
        let t = tiny();
        // "Café" (é precomposed) → "cafe"; a control char (U+0007) is dropped; the
        // ideograph gets spaces around it and becomes its own word.
        let toks = t.encode_with_offsets("Caf\u{e9}\u{7}中the");
        let ids: Vec<u32> = toks.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![9, 11, 7]);
        assert_eq!(toks[0].bytes, 0..5, "é is two bytes");
        assert_eq!(toks[1].bytes, 6..9, "中 after the dropped control byte");
        // A decomposed accent (e + U+0301) normalizes the same way.
        assert_eq!(t.encode("cafe\u{301}"), vec![9]);
        // Added tokens are matched verbatim before normalization.
        assert_eq!(t.encode("the[SEP]!"), vec![7, 3, 10]);
        assert_eq!(t.encode_with_specials("the"), vec![2, 7, 3]);
    }
}
