//! What the activation cache needs from a language model: a tokenizer with byte offsets,
//! the special tokens framing each forward window, and the hidden state after a layer.
//!
//! Two implementations: [`SmolLm2`] (the llama forward over the GGUF, byte-level BPE, no
//! special tokens, causal) and [`MiniLm`] (the BERT encoder over all-MiniLM-L6-v2's
//! safetensors, WordPiece, every window framed as `[CLS] tokens [SEP]`, bidirectional).

use crate::bert::Bert;
use crate::llama::Llama;
use crate::tokenizer::BpeTokenizer;
use crate::wordpiece::WordPieceTokenizer;
use anyhow::{Context, Result};
use candle_core::Tensor;
use std::path::{Path, PathBuf};

/// One text token: id and the byte range of the text it stands for.
pub use crate::wordpiece::TokenSpan as TextToken;

/// A language model seen as an activation source.
pub trait ActivationModel {
    /// Short model name recorded in the cache manifest (`smollm2`, `minilm`).
    fn kind(&self) -> &str;
    /// Width of the hidden state.
    fn d_model(&self) -> usize;
    /// Layers (blocks) the model has; valid layers are `0..n_layers`.
    fn n_layers(&self) -> usize;
    /// Longest window the model accepts, special tokens included.
    fn max_window(&self) -> usize;
    /// Special tokens put before and after the text tokens of every window.
    fn window_specials(&self) -> (Vec<u32>, Vec<u32>);
    /// The text's tokens (no special tokens) with byte ranges.
    fn encode(&self, text: &str) -> Vec<TextToken>;
    /// Hidden state after `layer` (0-based) for a batch of equal-length windows
    /// (special tokens included): `[B, T, d_model]`.
    fn hidden_after(&self, windows: &[Vec<u32>], layer: usize) -> Result<Tensor>;
}

/// SmolLM2 (or any llama GGUF) with its byte-level BPE tokenizer.
#[derive(Debug)]
pub struct SmolLm2<'a> {
    pub llama: &'a Llama,
    pub tokenizer: &'a BpeTokenizer,
}

impl ActivationModel for SmolLm2<'_> {
    fn kind(&self) -> &str {
        "smollm2"
    }
    fn d_model(&self) -> usize {
        self.llama.config.d_model
    }
    fn n_layers(&self) -> usize {
        self.llama.config.n_layers
    }
    fn max_window(&self) -> usize {
        self.llama.config.context_length
    }
    /// None: SmolLM2 is run without a BOS.
    fn window_specials(&self) -> (Vec<u32>, Vec<u32>) {
        (Vec::new(), Vec::new())
    }
    /// BPE tokens are contiguous: a token spans from its start to the next token's start
    /// (the last one to the end of the text).
    fn encode(&self, text: &str) -> Vec<TextToken> {
        let enc = self.tokenizer.encode_with_offsets(text);
        enc.iter()
            .enumerate()
            .map(|(k, &(id, at))| TextToken {
                id,
                bytes: at..enc.get(k + 1).map_or(text.len(), |e| e.1),
            })
            .collect()
    }
    fn hidden_after(&self, windows: &[Vec<u32>], layer: usize) -> Result<Tensor> {
        let out = self.llama.forward(windows, Some(layer), false)?;
        Ok(out.residual.expect("asked for the residual"))
    }
}

/// all-MiniLM-L6-v2: the BERT encoder and its WordPiece tokenizer.
#[derive(Debug)]
pub struct MiniLm {
    pub bert: Bert,
    pub tokenizer: WordPieceTokenizer,
}

impl MiniLm {
    /// Where `scripts/fetch-real-data.sh` puts the model: `minilm/` under the real-data
    /// root (may not exist).
    pub fn default_dir() -> PathBuf {
        crate::real_data::root().join("minilm")
    }

    /// The weights inside a model folder.
    pub fn weights_file(dir: &Path) -> PathBuf {
        dir.join("model.safetensors")
    }

    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let bert = Bert::load_dir(dir)?;
        let tokenizer = WordPieceTokenizer::from_file(&dir.join("tokenizer.json"))?;
        anyhow::ensure!(
            tokenizer.vocab_size() == bert.config.vocab_size,
            "{}: tokenizer.json has {} tokens, config.json vocab_size is {}",
            dir.display(),
            tokenizer.vocab_size(),
            bert.config.vocab_size
        );
        Ok(Self { bert, tokenizer })
    }
}

impl ActivationModel for MiniLm {
    fn kind(&self) -> &str {
        "minilm"
    }
    fn d_model(&self) -> usize {
        self.bert.config.hidden_size
    }
    fn n_layers(&self) -> usize {
        self.bert.config.num_hidden_layers
    }
    fn max_window(&self) -> usize {
        self.bert.config.max_position_embeddings
    }
    /// `[CLS] … [SEP]`, as the model was trained.
    fn window_specials(&self) -> (Vec<u32>, Vec<u32>) {
        (vec![self.tokenizer.cls_id], vec![self.tokenizer.sep_id])
    }
    fn encode(&self, text: &str) -> Vec<TextToken> {
        self.tokenizer.encode_with_offsets(text)
    }
    fn hidden_after(&self, windows: &[Vec<u32>], layer: usize) -> Result<Tensor> {
        self.bert
            .forward_padded(windows, self.tokenizer.pad_id, layer)
            .context("MiniLM forward")
    }
}
