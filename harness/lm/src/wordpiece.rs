//! BERT WordPiece tokenizer rebuilt from a Hugging Face `tokenizer.json`
//! (all-MiniLM-L6-v2's: `BertNormalizer`, `BertPreTokenizer`, `WordPiece`,
//! `[CLS] … [SEP]` template), with byte offsets into the original text.
//!
//! Pipeline, per the `tokenizers` library's definitions:
//! 1. added tokens (`added_tokens`, e.g. `[CLS]`, `[UNK]`) found verbatim in the raw text
//!    are cut out first and emitted as themselves (they are not normalized);
//! 2. `BertNormalizer`, per character: `clean_text` drops U+0000, U+FFFD and control
//!    characters (general category `C*` except `\t \n \r`) and maps every white-space
//!    character to `' '`; `handle_chinese_chars` puts spaces around CJK ideographs;
//!    `strip_accents` (default: same as `lowercase`) decomposes to NFD and drops
//!    non-spacing marks (`Mn`); `lowercase` maps each character with
//!    `char::to_lowercase`;
//! 3. `BertPreTokenizer`: split on white space (dropped) and around every punctuation
//!    character (ASCII punctuation or category `P*`, each its own word);
//! 4. `WordPiece`, per word: a word of more than `max_input_chars_per_word` characters
//!    is `[UNK]`; otherwise greedy longest-match-first from the left, pieces after the
//!    first looked up with the `##` prefix; a word with any unmatched rest is a single
//!    `[UNK]`.
//!
//! [`WordPieceTokenizer::encode_with_offsets`] returns the text's tokens (no `[CLS]` /
//! `[SEP]`) with the byte range of the original text each came from; the model input
//! is `[CLS] tokens [SEP]` ([`WordPieceTokenizer::cls_id`], [`WordPieceTokenizer::sep_id`]).

use anyhow::{Context, Result, bail, ensure};
use fancy_regex::Regex;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// One token of the text: vocabulary id and the byte range of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpan {
    pub id: u32,
    pub bytes: Range<usize>,
}

/// The parts of `tokenizer.json` this tokenizer reads.
#[derive(Debug, Deserialize)]
struct TokenizerJson {
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    normalizer: Option<NormalizerJson>,
    pre_tokenizer: Option<TypeOnly>,
    model: ModelJson,
}

#[derive(Debug, Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

#[derive(Debug, Deserialize)]
struct NormalizerJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default = "yes")]
    clean_text: bool,
    #[serde(default = "yes")]
    handle_chinese_chars: bool,
    strip_accents: Option<bool>,
    #[serde(default = "yes")]
    lowercase: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct ModelJson {
    #[serde(rename = "type")]
    kind: String,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    vocab: HashMap<String, u32>,
}

/// Normalizer switches (`BertNormalizer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BertNormalizer {
    pub clean_text: bool,
    pub handle_chinese_chars: bool,
    pub strip_accents: bool,
    pub lowercase: bool,
}

/// WordPiece over a fixed vocabulary.
#[derive(Debug)]
pub struct WordPieceTokenizer {
    vocab: HashMap<String, u32>,
    tokens: Vec<String>,
    /// Added tokens, longest first (so `[UNK]` and `[UNKNOWN]` would match greedily).
    added: Vec<(String, u32)>,
    normalizer: BertNormalizer,
    prefix: String,
    max_chars_per_word: usize,
    pub unk_id: u32,
    pub cls_id: u32,
    pub sep_id: u32,
    pub pad_id: u32,
    /// Characters dropped by `clean_text` besides U+0000 and U+FFFD: categories
    /// `Cc Cf Cn Co` except `\t \n \r` (a Rust `char` is never a surrogate, `Cs`).
    control: Regex,
    /// Non-spacing marks `Mn` (dropped by `strip_accents`).
    nonspacing_mark: Regex,
    /// `P*` punctuation.
    punctuation: Regex,
}

/// CJK Unified Ideograph blocks, as `tokenizers`' `is_chinese_char`.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

fn is_bert_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Whether the one-character string `c` matches `re` (an anchored class).
fn char_matches(re: &Regex, c: char) -> bool {
    let mut buf = [0u8; 4];
    re.is_match(c.encode_utf8(&mut buf)).unwrap_or(false)
}

impl WordPieceTokenizer {
    /// Reads a `tokenizer.json` whose model is `WordPiece`; errors name the file and field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses the contents of a `tokenizer.json`.
    pub fn from_json(text: &str) -> Result<Self> {
        let json: TokenizerJson = serde_json::from_str(text).context("parsing tokenizer.json")?;
        ensure!(
            json.model.kind == "WordPiece",
            "model.type is '{}', expected 'WordPiece'",
            json.model.kind
        );
        let normalizer = match &json.normalizer {
            Some(n) => {
                ensure!(
                    n.kind == "BertNormalizer",
                    "normalizer.type is '{}', only 'BertNormalizer' is supported",
                    n.kind
                );
                BertNormalizer {
                    clean_text: n.clean_text,
                    handle_chinese_chars: n.handle_chinese_chars,
                    strip_accents: n.strip_accents.unwrap_or(n.lowercase),
                    lowercase: n.lowercase,
                }
            }
            None => bail!("normalizer is missing (expected a BertNormalizer)"),
        };
        match &json.pre_tokenizer {
            Some(p) if p.kind == "BertPreTokenizer" => {}
            Some(p) => bail!(
                "pre_tokenizer.type is '{}', only 'BertPreTokenizer' is supported",
                p.kind
            ),
            None => bail!("pre_tokenizer is missing (expected a BertPreTokenizer)"),
        }
        let vocab = json.model.vocab;
        ensure!(!vocab.is_empty(), "model.vocab is empty");
        let n = vocab.values().max().map_or(0, |&m| m as usize + 1);
        ensure!(
            n == vocab.len(),
            "model.vocab ids are not 0..{} (max id {})",
            vocab.len(),
            n - 1
        );
        let mut tokens = vec![String::new(); n];
        for (t, &id) in &vocab {
            tokens[id as usize] = t.clone();
        }
        let id_of = |t: &str, field: &str| -> Result<u32> {
            vocab
                .get(t)
                .copied()
                .with_context(|| format!("{field} '{t}' is not in model.vocab"))
        };
        let unk_id = id_of(&json.model.unk_token, "model.unk_token")?;
        let cls_id = id_of("[CLS]", "special token")?;
        let sep_id = id_of("[SEP]", "special token")?;
        let pad_id = id_of("[PAD]", "special token")?;
        let mut added: Vec<(String, u32)> = json
            .added_tokens
            .into_iter()
            .map(|a| (a.content, a.id))
            .collect();
        for (content, id) in &added {
            ensure!(
                (*id as usize) < n,
                "added token '{content}' has id {id}, outside the vocabulary of {n}"
            );
        }
        added.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        Ok(Self {
            vocab,
            tokens,
            added,
            normalizer,
            prefix: json.model.continuing_subword_prefix,
            max_chars_per_word: json.model.max_input_chars_per_word,
            unk_id,
            cls_id,
            sep_id,
            pad_id,
            control: Regex::new(r"^[\p{Cc}\p{Cf}\p{Cn}\p{Co}]$").expect("valid pattern"),
            nonspacing_mark: Regex::new(r"^\p{Mn}$").expect("valid pattern"),
            punctuation: Regex::new(r"^\p{P}$").expect("valid pattern"),
        })
    }

    /// The normalizer switches read from the file.
    pub fn normalizer(&self) -> BertNormalizer {
        self.normalizer
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Token string of an id.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Id of a token string.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
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
        let mut out = Vec::new();
        let mut at = 0;
        while at < text.len() {
            // Next added token at or after `at` (earliest start, then longest).
            let next = self
                .added
                .iter()
                .filter_map(|(s, id)| text[at..].find(s.as_str()).map(|p| (at + p, s.len(), *id)))
                .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            let (plain_end, special) = match next {
                Some((start, len, id)) => (start, Some((start..start + len, id))),
                None => (text.len(), None),
            };
            self.encode_plain(text, at..plain_end, &mut out);
            match special {
                Some((span, id)) => {
                    at = span.end;
                    out.push(TokenSpan { id, bytes: span });
                }
                None => at = text.len(),
            }
        }
        out
    }

    /// Normalized characters of `text[range]`, each with the original byte range it
    /// came from.
    fn normalize(&self, text: &str, range: Range<usize>) -> Vec<(char, Range<usize>)> {
        let n = self.normalizer;
        let mut out = Vec::with_capacity(range.len());
        for (i, c) in text[range.clone()].char_indices() {
            let src = range.start + i..range.start + i + c.len_utf8();
            if n.clean_text {
                if c == '\0' || c == '\u{FFFD}' {
                    continue;
                }
                let control = if c.is_ascii() {
                    c.is_ascii_control()
                } else {
                    char_matches(&self.control, c)
                };
                if control && !matches!(c, '\t' | '\n' | '\r') {
                    continue;
                }
            }
            let c = if n.clean_text && is_bert_whitespace(c) {
                ' '
            } else {
                c
            };
            let cjk = n.handle_chinese_chars && is_cjk(c);
            if cjk {
                out.push((' ', src.clone()));
            }
            let mut push = |d: char| {
                if n.lowercase {
                    out.extend(d.to_lowercase().map(|l| (l, src.clone())));
                } else {
                    out.push((d, src.clone()));
                }
            };
            if n.strip_accents {
                for d in std::iter::once(c).nfd() {
                    if d.is_ascii() || !char_matches(&self.nonspacing_mark, d) {
                        push(d);
                    }
                }
            } else {
                push(c);
            }
            if cjk {
                out.push((' ', src));
            }
        }
        out
    }

    fn is_punctuation(&self, c: char) -> bool {
        if c.is_ascii() {
            c.is_ascii_punctuation()
        } else {
            char_matches(&self.punctuation, c)
        }
    }

    /// Tokens of a stretch of text without added tokens.
    fn encode_plain(&self, text: &str, range: Range<usize>, out: &mut Vec<TokenSpan>) {
        if range.is_empty() {
            return;
        }
        let chars = self.normalize(text, range);
        // Pre-tokenize: words are maximal runs of non-space, non-punctuation
        // characters; each punctuation character is a word of its own.
        let mut start = None;
        for i in 0..=chars.len() {
            let c = chars.get(i).map(|x| x.0);
            let boundary = match c {
                None => true,
                Some(c) => c.is_whitespace() || self.is_punctuation(c),
            };
            if boundary {
                if let Some(s) = start.take() {
                    self.word_pieces(&chars[s..i], out);
                }
                if let Some(c) = c
                    && !c.is_whitespace()
                {
                    self.word_pieces(&chars[i..i + 1], out);
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
    }

    /// WordPiece of one pre-tokenized word (normalized characters with origins).
    fn word_pieces(&self, word: &[(char, Range<usize>)], out: &mut Vec<TokenSpan>) {
        let origin = |a: usize, b: usize| word[a].1.start..word[b - 1].1.end;
        if word.len() > self.max_chars_per_word {
            out.push(TokenSpan {
                id: self.unk_id,
                bytes: origin(0, word.len()),
            });
            return;
        }
        let first = out.len();
        let mut start = 0;
        let mut piece = String::new();
        while start < word.len() {
            let mut found = None;
            for end in (start + 1..=word.len()).rev() {
                piece.clear();
                if start > 0 {
                    piece.push_str(&self.prefix);
                }
                piece.extend(word[start..end].iter().map(|x| x.0));
                if let Some(&id) = self.vocab.get(&piece) {
                    found = Some((id, end));
                    break;
                }
            }
            match found {
                Some((id, end)) => {
                    out.push(TokenSpan {
                        id,
                        bytes: origin(start, end),
                    });
                    start = end;
                }
                None => {
                    out.truncate(first);
                    out.push(TokenSpan {
                        id: self.unk_id,
                        bytes: origin(0, word.len()),
                    });
                    return;
                }
            }
        }
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
        let json = serde_json::json!({
            "added_tokens": [
                {"id": 0, "content": "[PAD]"}, {"id": 1, "content": "[UNK]"},
                {"id": 2, "content": "[CLS]"}, {"id": 3, "content": "[SEP]"}
            ],
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
