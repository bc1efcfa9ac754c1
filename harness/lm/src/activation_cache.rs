//! On-disk cache of residual-stream activations: safetensors shards plus a JSON manifest,
//! resumable and checksummed, so one extraction serves many SAEs and metrics.
//!
//! Folder layout: `manifest.json` and `shard-00000.safetensors`, … Each shard covers
//! whole documents `[doc_start, doc_end)` (a shard closes once it holds at least
//! `shard_tokens` tokens) and holds, for its `n` tokens in document order:
//! - `activations` f32 `[n, d_model]`: the hidden state (residual stream) after block
//!   `layer`;
//! - `token_ids` u32 `[n]`, `doc_index` u32 `[n]`, `position` u32 `[n]` (position in
//!   the forward window, special tokens counted);
//! - `token_label` i32 `[n]` (index into `token_label_names`, −1 = none) and
//!   `doc_label` i32 `[n]` (index into `doc_label_names`, −1 = none).
//!
//! Documents are cut into windows of `seq_len` text tokens, each run from position 0 (the
//! model never sees across a window edge), framed by the model's special tokens
//! ([`ActivationModel::window_specials`]): none for SmolLM2 (no BOS), `[CLS] … [SEP]` for
//! MiniLM (so a MiniLM window is `seq_len + 2` tokens, at most 512, and its first text
//! token has position 1). Rows of special tokens are not stored: every row is a text
//! token. Token labels come from the word holding the token's first non-space byte
//! ([`token_label`]), for BPE and WordPiece tokens alike. The manifest is rewritten atomically after every shard, with the shard's
//! SHA-256; on a re-run every listed shard is re-hashed, and the run resumes after the
//! last one that verifies (a corrupt or missing shard and all after it are redone). A
//! manifest written for another model (kind or weights), layer, window, or corpus is an
//! error.

use crate::activation_model::{ActivationModel, SmolLm2};
use crate::corpus::{LabelledCorpus, token_label};
use crate::llama::Llama;
use crate::tokenizer::BpeTokenizer;
use anyhow::{Context, Result, bail, ensure};
use safetensors::{Dtype, tensor::TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;

/// Manifest schema version.
pub const SCHEMA_VERSION: u32 = 1;
/// Manifest file name inside the cache folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What to extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractSettings {
    /// Residual stream after this block (0-based).
    pub layer: usize,
    /// Tokens per forward window.
    pub seq_len: usize,
    /// Windows per forward batch.
    pub batch: usize,
    /// A shard closes once it holds at least this many tokens.
    pub shard_tokens: usize,
    /// Stop after the document that brings the total to at least this many tokens.
    pub max_tokens: Option<usize>,
}

/// One finished shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    pub file: String,
    pub sha256: String,
    pub n_tokens: usize,
    pub doc_start: usize,
    pub doc_end: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// Model kind ([`ActivationModel::kind`]); caches written before this field existed
    /// were all SmolLM2.
    #[serde(default = "smollm2_kind")]
    pub model: String,
    pub model_file: String,
    pub model_sha256: String,
    pub d_model: usize,
    pub corpus: String,
    pub n_documents: usize,
    pub token_label_names: Vec<String>,
    pub doc_label_names: Vec<String>,
    pub layer: usize,
    pub seq_len: usize,
    pub shards: Vec<ShardEntry>,
    /// Tokens in all shards.
    pub n_tokens: usize,
    /// Every document (up to `max_tokens`) is in a shard.
    pub complete: bool,
}

impl Manifest {
    /// Documents in the cache: its last shard's `doc_end` (0 when empty).
    pub fn n_documents(&self) -> u32 {
        self.shards.last().map_or(0, |s| s.doc_end) as u32
    }
}

fn smollm2_kind() -> String {
    "smollm2".to_string()
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractReport {
    pub shards_verified: usize,
    pub shards_written: usize,
    pub tokens_written: usize,
    pub tokens_total: usize,
    /// Seconds in the model forward only.
    pub forward_seconds: f64,
    /// Seconds for the whole run (tokenizing, forward, writing, hashing).
    pub total_seconds: f64,
}

impl ExtractReport {
    /// Throughput of the forward alone, tokens/s.
    pub fn forward_tokens_per_second(&self) -> f64 {
        self.tokens_written as f64 / self.forward_seconds.max(1e-9)
    }
    /// End-to-end throughput, tokens/s.
    pub fn total_tokens_per_second(&self) -> f64 {
        self.tokens_written as f64 / self.total_seconds.max(1e-9)
    }
}

/// SHA-256 of a file as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(sha256_hex(&bytes))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The results store's atomic write (temporary file in the same folder,
/// fsynced, renamed, folder fsynced): a shard or manifest that exists is whole.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(rdpbench_store::write_atomic(path, bytes)?)
}

/// Reads the manifest of a cache folder.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Refuses a manifest a reader cannot use: another `schema_version` than
/// this build writes, or `complete: false` (an interrupted extraction,
/// which `rdpbench lm extract` resumes). Errors name the file.
pub fn ensure_readable(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    ensure!(
        manifest.schema_version == SCHEMA_VERSION,
        "{}: schema_version is {}, this rdpbench reads activation caches of version {SCHEMA_VERSION}; \
         extract the cache again with this version",
        path.display(),
        manifest.schema_version
    );
    ensure!(
        manifest.complete,
        "{}: `complete` is false: the extraction was interrupted; run the same \
         `rdpbench lm extract` again to finish it before using the cache",
        path.display()
    );
    Ok(())
}

/// Keeps the leading shards whose files hash to their recorded SHA-256.
fn verified_prefix(dir: &Path, shards: &[ShardEntry]) -> Vec<ShardEntry> {
    let mut ok = Vec::new();
    for s in shards {
        match sha256_file(&dir.join(&s.file)) {
            Ok(h) if h == s.sha256 => ok.push(s.clone()),
            Ok(_) => {
                tracing::warn!(
                    "{}: checksum mismatch, redoing it and every later shard",
                    s.file
                );
                break;
            }
            Err(e) => {
                tracing::warn!("{}: {e:#}; redoing it and every later shard", s.file);
                break;
            }
        }
    }
    ok
}

/// Per-token rows of one shard, before writing.
#[derive(Default)]
struct ShardRows {
    activations: Vec<f32>,
    token_ids: Vec<u32>,
    doc_index: Vec<u32>,
    position: Vec<u32>,
    token_label: Vec<i32>,
    doc_label: Vec<i32>,
}

fn le_bytes<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

impl ShardRows {
    fn serialize(&self, d: usize) -> Result<Vec<u8>> {
        let n = self.token_ids.len();
        let tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = vec![
            (
                "activations",
                Dtype::F32,
                vec![n, d],
                le_bytes(&self.activations, f32::to_le_bytes),
            ),
            (
                "token_ids",
                Dtype::U32,
                vec![n],
                le_bytes(&self.token_ids, u32::to_le_bytes),
            ),
            (
                "doc_index",
                Dtype::U32,
                vec![n],
                le_bytes(&self.doc_index, u32::to_le_bytes),
            ),
            (
                "position",
                Dtype::U32,
                vec![n],
                le_bytes(&self.position, u32::to_le_bytes),
            ),
            (
                "token_label",
                Dtype::I32,
                vec![n],
                le_bytes(&self.token_label, i32::to_le_bytes),
            ),
            (
                "doc_label",
                Dtype::I32,
                vec![n],
                le_bytes(&self.doc_label, i32::to_le_bytes),
            ),
        ];
        let views = tensors
            .iter()
            .map(|(name, dt, shape, b)| {
                Ok((name.to_string(), TensorView::new(*dt, shape.clone(), b)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(safetensors::serialize(views, None)?)
    }
}

/// One forward window: document, token range within it.
struct Window {
    doc: usize,
    start: usize,
    /// Model input: the special tokens before, the text tokens, the special tokens after.
    ids: Vec<u32>,
    /// Row of its first text token in the shard.
    row: usize,
}

/// Extracts (or resumes extracting) the corpus into `dir` with SmolLM2 (a llama GGUF
/// and its BPE tokenizer); see [`extract_with`].
pub fn extract(
    model: &Llama,
    tokenizer: &BpeTokenizer,
    model_file: &Path,
    corpus: &LabelledCorpus,
    settings: &ExtractSettings,
    dir: &Path,
) -> Result<ExtractReport> {
    let source = SmolLm2 {
        llama: model,
        tokenizer,
    };
    extract_with(&source, model_file, corpus, settings, dir)
}

/// Extracts (or resumes extracting) the corpus into `dir` with any [`ActivationModel`];
/// `model_file` (the weights) is hashed into the manifest.
pub fn extract_with(
    model: &dyn ActivationModel,
    model_file: &Path,
    corpus: &LabelledCorpus,
    settings: &ExtractSettings,
    dir: &Path,
) -> Result<ExtractReport> {
    let t_all = Instant::now();
    ensure!(
        settings.seq_len >= 1 && settings.batch >= 1,
        "seq_len and batch must be at least 1"
    );
    ensure!(
        settings.shard_tokens >= 1,
        "shard_tokens must be at least 1"
    );
    ensure!(
        settings.layer < model.n_layers(),
        "layer {}: {} has layers 0..{}",
        settings.layer,
        model.kind(),
        model.n_layers() - 1
    );
    let (before, after) = model.window_specials();
    let window_len = settings.seq_len + before.len() + after.len();
    ensure!(
        window_len <= model.max_window(),
        "seq_len {}: with {} special tokens a window has {window_len} tokens, {} accepts at most {}",
        settings.seq_len,
        before.len() + after.len(),
        model.kind(),
        model.max_window()
    );
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let d = model.d_model();
    let fresh = Manifest {
        schema_version: SCHEMA_VERSION,
        model: model.kind().to_string(),
        model_file: model_file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        model_sha256: sha256_file(model_file)?,
        d_model: d,
        corpus: corpus.name.clone(),
        n_documents: corpus.documents.len(),
        token_label_names: corpus.token_label_names.clone(),
        doc_label_names: corpus.doc_label_names.clone(),
        layer: settings.layer,
        seq_len: settings.seq_len,
        shards: Vec::new(),
        n_tokens: 0,
        complete: false,
    };
    let mut manifest = if dir.join(MANIFEST_FILE).exists() {
        let old = read_manifest(dir)?;
        fn same(m: &Manifest) -> (u32, &str, &str, usize, &str, usize, usize, usize) {
            (
                m.schema_version,
                &m.model,
                &m.model_sha256,
                m.d_model,
                &m.corpus,
                m.n_documents,
                m.layer,
                m.seq_len,
            )
        }
        ensure!(
            same(&old) == same(&fresh) && old.token_label_names == fresh.token_label_names,
            "{}: the cache there was made for another model, corpus, layer or window \
             (model '{}', corpus '{}', layer {}, seq_len {}); use a new folder",
            dir.display(),
            old.model,
            old.corpus,
            old.layer,
            old.seq_len
        );
        let shards = verified_prefix(dir, &old.shards);
        Manifest {
            n_tokens: shards.iter().map(|s| s.n_tokens).sum(),
            shards,
            ..fresh
        }
    } else {
        fresh
    };
    let shards_verified = manifest.shards.len();
    let mut next_doc = manifest.shards.last().map_or(0, |s| s.doc_end);
    let mut report = ExtractReport {
        shards_verified,
        shards_written: 0,
        tokens_written: 0,
        tokens_total: manifest.n_tokens,
        forward_seconds: 0.0,
        total_seconds: 0.0,
    };
    let limit = settings.max_tokens.unwrap_or(usize::MAX);
    let mut forward_seconds = 0.0;

    while next_doc < corpus.documents.len() && manifest.n_tokens < limit {
        // Gather whole documents until the shard is full (or the token limit is reached).
        let doc_start = next_doc;
        let mut rows = ShardRows::default();
        let mut windows = Vec::new();
        while next_doc < corpus.documents.len()
            && rows.token_ids.len() < settings.shard_tokens
            && manifest.n_tokens + rows.token_ids.len() < limit
        {
            let doc = &corpus.documents[next_doc];
            let enc = model.encode(&doc.text);
            for (k, tok) in enc.iter().enumerate() {
                rows.token_ids.push(tok.id);
                rows.doc_index.push(next_doc as u32);
                rows.position
                    .push((k % settings.seq_len + before.len()) as u32);
                rows.token_label.push(
                    token_label(&doc.text, &doc.word_labels, tok.bytes.clone())
                        .map_or(-1, |l| l as i32),
                );
                rows.doc_label.push(doc.doc_label.map_or(-1, |l| l as i32));
            }
            let base = rows.token_ids.len() - enc.len();
            let ids: Vec<u32> = enc.iter().map(|e| e.id).collect();
            for (w, chunk) in ids.chunks(settings.seq_len).enumerate() {
                let mut framed = Vec::with_capacity(chunk.len() + before.len() + after.len());
                framed.extend_from_slice(&before);
                framed.extend_from_slice(chunk);
                framed.extend_from_slice(&after);
                windows.push(Window {
                    doc: next_doc,
                    start: w * settings.seq_len,
                    ids: framed,
                    row: base + w * settings.seq_len,
                });
            }
            next_doc += 1;
        }
        let n = rows.token_ids.len();
        rows.activations = vec![0f32; n * d];
        // Batch windows of equal length together.
        windows.sort_by_key(|w| (std::cmp::Reverse(w.ids.len()), w.row));
        let t_fwd = Instant::now();
        for group in windows.chunk_by(|a, b| a.ids.len() == b.ids.len()) {
            for batch in group.chunks(settings.batch) {
                let ids: Vec<Vec<u32>> = batch.iter().map(|w| w.ids.clone()).collect();
                let res = model.hidden_after(&ids, settings.layer).with_context(|| {
                    format!(
                        "document {} window at token {}",
                        batch[0].doc, batch[0].start
                    )
                })?;
                let flat: Vec<f32> = res.flatten_all()?.to_vec1()?;
                let len = batch[0].ids.len();
                // Text tokens of each window, without the special tokens around them.
                let text_len = len - before.len() - after.len();
                for (b, w) in batch.iter().enumerate() {
                    let first = b * len + before.len();
                    let src = &flat[first * d..(first + text_len) * d];
                    rows.activations[w.row * d..(w.row + text_len) * d].copy_from_slice(src);
                }
            }
        }
        forward_seconds += t_fwd.elapsed().as_secs_f64();

        let file = format!("shard-{:05}.safetensors", manifest.shards.len());
        let bytes = rows.serialize(d)?;
        write_atomic(&dir.join(&file), &bytes)?;
        manifest.shards.push(ShardEntry {
            file,
            sha256: sha256_hex(&bytes),
            n_tokens: n,
            doc_start,
            doc_end: next_doc,
        });
        manifest.n_tokens += n;
        manifest.complete = next_doc == corpus.documents.len() || manifest.n_tokens >= limit;
        write_atomic(
            &dir.join(MANIFEST_FILE),
            &serde_json::to_vec_pretty(&manifest)?,
        )?;
        report.shards_written += 1;
        report.tokens_written += n;
        tracing::info!(
            "shard {} : {n} tokens, documents {doc_start}..{next_doc}, total {}",
            manifest.shards.len() - 1,
            manifest.n_tokens
        );
    }
    if !manifest.complete {
        manifest.complete = next_doc == corpus.documents.len() || manifest.n_tokens >= limit;
        write_atomic(
            &dir.join(MANIFEST_FILE),
            &serde_json::to_vec_pretty(&manifest)?,
        )?;
    }
    report.tokens_total = manifest.n_tokens;
    report.forward_seconds = forward_seconds;
    report.total_seconds = t_all.elapsed().as_secs_f64();
    Ok(report)
}

/// One shard read back: activations `[n, d_model]` and per-token columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    pub n_tokens: usize,
    pub d_model: usize,
    pub activations: Vec<f32>,
    pub token_ids: Vec<u32>,
    pub doc_index: Vec<u32>,
    pub position: Vec<u32>,
    pub token_label: Vec<i32>,
    pub doc_label: Vec<i32>,
}

/// Reads shard `i` of a cache folder, verifying its checksum and shapes.
pub fn read_shard(dir: &Path, manifest: &Manifest, i: usize) -> Result<Shard> {
    let entry = manifest.shards.get(i).with_context(|| {
        format!(
            "{}: no shard {i} (the manifest lists {})",
            dir.display(),
            manifest.shards.len()
        )
    })?;
    let path = dir.join(&entry.file);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        sha256_hex(&bytes) == entry.sha256,
        "{}: SHA-256 does not match the manifest",
        path.display()
    );
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .with_context(|| format!("parsing {}", path.display()))?;
    let (n, d) = (entry.n_tokens, manifest.d_model);
    let get = |name: &str, dtype: Dtype, shape: &[usize]| -> Result<Vec<[u8; 4]>> {
        let t = st
            .tensor(name)
            .with_context(|| format!("{}: tensor '{name}' missing", path.display()))?;
        ensure!(
            t.dtype() == dtype && t.shape() == shape,
            "{}: tensor '{name}' is {:?} {:?}, expected {dtype:?} {shape:?}",
            path.display(),
            t.dtype(),
            t.shape()
        );
        Ok(t.data()
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect())
    };
    let u = |name| -> Result<Vec<u32>> {
        Ok(get(name, Dtype::U32, &[n])?
            .into_iter()
            .map(u32::from_le_bytes)
            .collect())
    };
    let i32s = |name| -> Result<Vec<i32>> {
        Ok(get(name, Dtype::I32, &[n])?
            .into_iter()
            .map(i32::from_le_bytes)
            .collect())
    };
    let activations: Vec<f32> = get("activations", Dtype::F32, &[n, d])?
        .into_iter()
        .map(f32::from_le_bytes)
        .collect();
    if let Some(k) = activations.iter().position(|v| !v.is_finite()) {
        bail!(
            "{}: activation of token {} (row), dimension {} is {}: the cache holds non-finite \
             activations; extract it again",
            path.display(),
            k / d.max(1),
            k % d.max(1),
            activations[k]
        );
    }
    Ok(Shard {
        n_tokens: n,
        d_model: d,
        activations,
        token_ids: u("token_ids")?,
        doc_index: u("doc_index")?,
        position: u("position")?,
        token_label: i32s("token_label")?,
        doc_label: i32s("doc_label")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A one-shard cache of 2 tokens × 2 dimensions in a fresh folder.
    fn cache(activations: Vec<f32>, complete: bool, schema_version: u32) -> (PathBuf, Manifest) {
        let dir = std::env::temp_dir().join(format!(
            "rdpbench-cache-test-{}-{}-{}-{}",
            std::process::id(),
            complete,
            schema_version,
            activations[0]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = ShardRows {
            activations,
            token_ids: vec![1, 2],
            doc_index: vec![0, 0],
            position: vec![0, 1],
            token_label: vec![0, 0],
            doc_label: vec![0, 0],
        };
        let bytes = rows.serialize(2).unwrap();
        std::fs::write(dir.join("shard-0.safetensors"), &bytes).unwrap();
        let manifest = Manifest {
            schema_version,
            model: "smollm2".into(),
            model_file: "m.gguf".into(),
            model_sha256: "0".into(),
            d_model: 2,
            corpus: "c".into(),
            n_documents: 1,
            token_label_names: vec![],
            doc_label_names: vec![],
            layer: 0,
            seq_len: 2,
            shards: vec![ShardEntry {
                file: "shard-0.safetensors".into(),
                sha256: sha256_hex(&bytes),
                n_tokens: 2,
                doc_start: 0,
                doc_end: 1,
            }],
            n_tokens: 2,
            complete,
        };
        (dir, manifest)
    }

    #[test]
    fn incomplete_or_other_version_manifests_are_refused_naming_the_file() {
        let (dir, m) = cache(vec![1.0, 2.0, 3.0, 4.0], false, SCHEMA_VERSION);
        let e = ensure_readable(&dir, &m).unwrap_err().to_string();
        assert!(e.contains("manifest.json: `complete` is false"), "{e}");
        let (dir, m) = cache(vec![1.5, 2.0, 3.0, 4.0], true, 99);
        let e = ensure_readable(&dir, &m).unwrap_err().to_string();
        assert!(e.contains("manifest.json: schema_version is 99"), "{e}");
        let (dir, m) = cache(vec![2.5, 2.0, 3.0, 4.0], true, SCHEMA_VERSION);
        ensure_readable(&dir, &m).unwrap();
        assert_eq!(read_shard(&dir, &m, 0).unwrap().activations[0], 2.5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn non_finite_activations_are_named_as_such() {
        let (dir, m) = cache(vec![3.5, 2.0, f32::NAN, 4.0], true, SCHEMA_VERSION);
        let e = read_shard(&dir, &m, 0).unwrap_err().to_string();
        assert!(
            e.contains("shard-0.safetensors: activation of token 1 (row), dimension 0 is NaN"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
