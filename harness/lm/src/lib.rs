//! Real language-model data for rdpbench (issue #7): a validating GGUF reader (tensors
//! dequantized by candle), a small llama forward over SmolLM2-135M's weights that
//! exposes the residual stream, SmolLM2's byte-level BPE as a Hugging Face `tokenizers`
//! pipeline built from the GGUF metadata, and where the optional downloaded data lives
//! (`scripts/fetch-real-data.sh`); and all-MiniLM-L6-v2 as a second activation source
//! (a BERT encoder over safetensors, its `tokenizer.json` read by `tokenizers`).
#![forbid(unsafe_code)]

pub mod activation_cache;
pub mod activation_model;
pub mod bert;
pub mod brown;
pub mod corpus;
pub mod dequant;
pub mod gguf;
pub mod gguf_writer;
pub mod llama;
pub mod real_data;
pub mod sae_probes;
pub mod tokenizer;
pub mod wordpiece;

pub use bert::{Bert, BertConfig};
pub use gguf::GgufFile;
pub use llama::{Llama, LlamaConfig};
pub use tokenizer::BpeTokenizer;
pub use wordpiece::WordPieceTokenizer;
