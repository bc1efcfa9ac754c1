//! `rdpbench lm`: the real language model (SmolLM2-135M over its GGUF, from
//! `scripts/fetch-real-data.sh`): greedy generation and Brown-passage perplexity, to
//! show the forward reproduces the model's own behaviour.
//! `lm extract --lm minilm` caches all-MiniLM-L6-v2 hidden states instead (a BERT
//! encoder over the model's safetensors).

use super::plugins::out;
use anyhow::Result;
use rdpbench_lm::activation_cache::{self, ExtractSettings};
use rdpbench_lm::activation_model::{ActivationModel, MiniLm};
use rdpbench_lm::{BpeTokenizer, GgufFile, Llama, brown, corpus, real_data};
use rdpbench_schema::exit::{Exit, usage_error};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum LmCommand {
    /// Greedy continuation of a prompt (plain text, no chat template).
    Generate(GenerateArgs),
    /// Perplexity of the model on one Brown-corpus passage.
    Perplexity(PerplexityArgs),
    /// Extract residual-stream activations of a labelled corpus into a resumable,
    /// checksummed cache (safetensors shards + manifest.json).
    Extract(ExtractArgs),
    /// Token ids of text under the GGUF's tokenizer, as JSON on stdout (no BOS unless
    /// the GGUF asks for one; special-token strings are encoded as plain text).
    Tokenize(TokenizeArgs),
    /// Time the extraction forward (`lm extract`'s path) on Brown text packed into
    /// full windows, with a breakdown by part; optionally writes the windows' token
    /// ids (JSON `[[id, ...], ...]`) so a peer (scripts/bench-extraction.sh runs
    /// llama.cpp) times the same tokens.
    BenchForward(BenchForwardArgs),
    /// candle's quantized matmul (`QMatMul` on the GGUF's quantized tensors, the
    /// activations quantized to Q8 as candle does) against the forward's f32 GEMM
    /// (weights dequantized at load), on block 0's weights with `x` `[rows, K]`.
    BenchMatmul(BenchMatmulArgs),
    /// Time loading and the tokenizers on Brown text: reading the GGUF, dequantizing
    /// every tensor, building SmolLM2's BPE from its metadata, loading the model
    /// weights, encoding (ids only, and with offsets as
    /// `lm extract` does); MiniLM's WordPiece too when its folder is there. Prints a
    /// hash of the weights, ids and offsets so two builds can be checked to agree.
    BenchTokenize(BenchTokenizeArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchTokenizeArgs {
    /// Brown passage ids (comma-separated); default: every passage.
    #[arg(long, value_delimiter = ',')]
    brown_passages: Vec<String>,
    /// Timed repeats of each encoding pass; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// all-MiniLM-L6-v2 folder (default $RDPBENCH_REAL_DATA/minilm; skipped when absent).
    #[arg(long, value_name = "DIR")]
    minilm: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(Debug, clap::Args)]
pub struct BenchMatmulArgs {
    /// Rows of `x` (the forward's `batch · seq_len`).
    #[arg(long, default_value_t = 1024)]
    rows: usize,
    /// Timed repeats per product; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(Debug, clap::Args)]
pub struct BenchForwardArgs {
    /// Brown passage ids (comma-separated) whose text is packed into windows.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ca01,ca02,ca03,ca04,ca05,ca06,ca07,ca08"
    )]
    brown_passages: Vec<String>,
    /// Tokens per window (as `lm extract --seq-len`).
    #[arg(long, default_value_t = 128)]
    seq_len: usize,
    /// Windows per forward batch (as `lm extract --batch`).
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Windows timed per repeat (a multiple of --batch).
    #[arg(long, default_value_t = 32)]
    windows: usize,
    /// Residual after this block; the forward stops there (15 = `lm extract`'s
    /// default; 29 runs all 30 blocks, as a full prompt evaluation does).
    #[arg(long, default_value_t = 15)]
    layer: usize,
    /// Timed repeats over the windows (after one untimed warm-up batch); the median
    /// is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Write the windows' token ids here (JSON).
    #[arg(long, value_name = "JSON")]
    dump_windows: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(Debug, clap::Args)]
pub struct TokenizeArgs {
    /// Text to encode; prints one JSON array of ids.
    #[arg(required_unless_present = "strings", conflicts_with = "strings")]
    text: Option<String>,
    /// A JSON file holding an array of strings (`-`: stdin); prints one array of ids
    /// per string.
    #[arg(long, value_name = "JSON")]
    strings: Option<PathBuf>,
    /// GGUF file (default as for `lm generate`).
    #[arg(long, value_name = "GGUF")]
    model: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// `brown` (all passages, or --brown-passages) or `sae-probes:NAME` (the file
    /// cleaned_data/NAME.csv, e.g. sae-probes:100_news_fake).
    #[arg(long, default_value = "brown")]
    corpus: String,
    /// Brown passage ids (comma-separated); default: every passage.
    #[arg(long, value_delimiter = ',')]
    brown_passages: Vec<String>,
    /// Activation model: `smollm2` (the SmolLM2-135M GGUF) or `minilm`
    /// (all-MiniLM-L6-v2; --model is then its folder, holding model.safetensors,
    /// config.json and tokenizer.json, default $RDPBENCH_REAL_DATA/minilm). MiniLM windows
    /// are `[CLS] text [SEP]`: --seq-len counts text tokens (at most 510) and the special
    /// tokens' rows are not stored.
    #[arg(long, value_enum, default_value_t = LmKind::Smollm2)]
    lm: LmKind,
    /// Hidden state after this block (0-based; default 15 of SmolLM2's 30, 3 of
    /// MiniLM's 6).
    #[arg(long)]
    layer: Option<usize>,
    /// Text tokens per forward window.
    #[arg(long, default_value_t = 128)]
    seq_len: usize,
    /// Windows per forward batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Tokens per shard (shards hold whole documents).
    #[arg(long, default_value_t = 16384)]
    shard_tokens: usize,
    /// Stop once this many tokens are cached.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Cache folder (default: rdpbench-out/activations/<corpus>-L<layer>, or
    /// <corpus>-minilm-L<layer> for MiniLM).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArg,
}

/// Which language model `lm extract` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LmKind {
    Smollm2,
    Minilm,
}

#[derive(Debug, clap::Args)]
pub struct ModelArg {
    /// GGUF file (default: $RDPBENCH_REAL_DATA/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf,
    /// RDPBENCH_REAL_DATA defaulting to target/real-data).
    #[arg(long, value_name = "GGUF")]
    model: Option<PathBuf>,
    /// JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[arg(long)]
    prompt: String,
    /// Tokens to generate (stops early at EOS).
    #[arg(long, default_value_t = 8)]
    max_new: usize,
    #[command(flatten)]
    model: ModelArg,
}

#[derive(Debug, clap::Args)]
pub struct PerplexityArgs {
    /// Brown passage id, e.g. ca01 (genre a: press reportage).
    #[arg(long, default_value = "ca01")]
    brown: String,
    /// Score only the passage's first N tokens.
    #[arg(long, default_value_t = 1024)]
    max_tokens: usize,
    /// Tokens per forward window (non-overlapping).
    #[arg(long, default_value_t = 512)]
    window: usize,
    #[command(flatten)]
    model: ModelArg,
}

fn load(model: Option<&Path>) -> Result<(Llama, BpeTokenizer)> {
    let path = model.map_or_else(real_data::smollm2_gguf, Path::to_path_buf);
    real_data::require(&path).map_err(usage_error)?;
    let t0 = Instant::now();
    let gguf = GgufFile::read(&path)?;
    let tok = BpeTokenizer::from_gguf(&gguf)?;
    let llama = Llama::from_gguf(&gguf)?;
    eprintln!(
        "loaded {} ({} blocks, d_model {}, vocab {}) in {:.2} s",
        path.display(),
        llama.config.n_layers,
        llama.config.d_model,
        llama.config.vocab_size,
        t0.elapsed().as_secs_f64()
    );
    Ok((llama, tok))
}

pub fn lm(cmd: LmCommand) -> Result<Exit> {
    match cmd {
        LmCommand::Generate(a) => generate(a),
        LmCommand::Perplexity(a) => perplexity(a),
        LmCommand::Extract(a) => extract(a),
        LmCommand::Tokenize(a) => tokenize(a),
        LmCommand::BenchForward(a) => bench_forward(a),
        LmCommand::BenchTokenize(a) => bench_tokenize(a),
        LmCommand::BenchMatmul(a) => {
            let path = a
                .model
                .model
                .clone()
                .unwrap_or_else(real_data::smollm2_gguf);
            real_data::require(&path).map_err(usage_error)?;
            if a.rows == 0 || a.repeats == 0 {
                return Err(usage_error(anyhow::anyhow!(
                    "--rows and --repeats must be at least 1"
                )));
            }
            let rows = rdpbench_lm::llama::bench_matmul(&path, a.rows, a.repeats)?;
            if a.model.json {
                out(&serde_json::to_string_pretty(&rows)?)?;
            } else {
                let text: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{:<12} W [{}, {}] {}, x [{}, {}]: f32 gemm {:7.3} ms ({:6.1} GFLOP/s), W pre-transposed {:7.3} ms ({:6.1} GFLOP/s), candle QMatMul {:7.3} ms ({:6.1} GFLOP/s): QMatMul / f32 time {:5.2}x, max |diff| / max |f32| {:.1e}",
                            r.weight, r.n, r.k, r.dtype, r.rows, r.k,
                            r.f32_ms, r.gflops(r.f32_ms),
                            r.f32_pretransposed_ms, r.gflops(r.f32_pretransposed_ms),
                            r.qmatmul_ms, r.gflops(r.qmatmul_ms),
                            r.qmatmul_ms / r.f32_ms, r.max_rel_diff
                        )
                    })
                    .collect();
                out(&text.join("\n"))?;
            }
            Ok(Exit::Ok)
        }
    }
}

/// FNV-1a over a stream of `u64`s (the bench's agreement check, not a security hash).
fn fnv1a(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        v.to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    })
}

/// Median seconds of `repeats` runs of `f` (after one untimed run), and its last result.
fn median_secs<T>(repeats: usize, f: &dyn Fn() -> T) -> (f64, T) {
    let mut last = f();
    let mut s = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t0 = Instant::now();
        last = f();
        s.push(t0.elapsed().as_secs_f64());
    }
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], last)
}

/// Runs `f` once, timed, into a `bench-tokenize` row of its own.
fn once<T>(
    rows: &mut Vec<(String, f64, String)>,
    label: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let t0 = Instant::now();
    let value = f()?;
    rows.push((label.into(), t0.elapsed().as_secs_f64(), String::new()));
    Ok(value)
}

/// One `bench-tokenize` row: `encode` over every text, timed alone (median
/// of `repeats`), with the token count, MB/s, ktokens/s and an FNV-1a hash of
/// every token's `words` (id, and offsets where the row has them), so that
/// two builds agree iff their hashes do.
fn encode_row<T, const W: usize>(
    label: &str,
    hashed: &str,
    repeats: usize,
    texts: &[&str],
    encode: &dyn Fn(&str) -> Vec<T>,
    words: impl Fn(&T) -> [u64; W],
) -> (String, f64, String) {
    let (secs, tokens) = median_secs(repeats, &|| {
        texts.iter().map(|t| encode(t)).collect::<Vec<_>>()
    });
    let n: usize = tokens.iter().map(Vec::len).sum();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let h = fnv1a(tokens.iter().flatten().flat_map(words));
    let note = format!(
        "{n} tokens, {:.2} MB/s, {:.0} ktokens/s, {hashed} hash {h:016x}",
        bytes as f64 / secs / 1e6,
        n as f64 / secs / 1e3
    );
    (label.into(), secs, note)
}

fn bench_tokenize(a: BenchTokenizeArgs) -> Result<Exit> {
    if a.repeats == 0 {
        return Err(usage_error(anyhow::anyhow!("--repeats must be at least 1")));
    }
    let dir = real_data::brown_dir();
    real_data::require(&dir).map_err(usage_error)?;
    let corpus = corpus::brown_corpus(&dir, &a.brown_passages).map_err(usage_error)?;
    let texts: Vec<&str> = corpus.documents.iter().map(|d| d.text.as_str()).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let path = a
        .model
        .model
        .clone()
        .unwrap_or_else(real_data::smollm2_gguf);
    real_data::require(&path).map_err(usage_error)?;
    let mut rows: Vec<(String, f64, String)> = Vec::new();

    let gguf = once(&mut rows, "gguf read", || GgufFile::read(&path))?;
    // Every tensor to f32, hashed bit for bit: two builds agree iff the hashes do.
    let weights = once(&mut rows, "dequantize all", || {
        (gguf.tensors.iter())
            .map(|t| gguf.dequantize(&t.name))
            .collect::<Result<Vec<_>>>()
    })?;
    let n: usize = weights.iter().map(Vec::len).sum();
    let h = fnv1a(weights.iter().flatten().map(|w| u64::from(w.to_bits())));
    drop(weights);
    rows.last_mut().expect("a row was pushed").2 = format!(
        "{} tensors, {n} values, f32 bits hash {h:016x}",
        gguf.tensors.len()
    );
    let tok = once(&mut rows, "bpe build", || BpeTokenizer::from_gguf(&gguf))?;
    let llama = once(&mut rows, "llama weights", || Llama::from_gguf(&gguf))?;
    rows.last_mut().expect("a row was pushed").2 = format!("{} blocks", llama.config.n_layers);
    let r = a.repeats;
    rows.push(encode_row(
        "bpe encode",
        "ids",
        r,
        &texts,
        &|t| tok.encode(t),
        |&i| [u64::from(i)],
    ));
    rows.push(encode_row(
        "bpe encode+offsets",
        "ids+offsets",
        r,
        &texts,
        &|t| tok.encode_with_offsets(t),
        |&(id, at)| [u64::from(id), at as u64],
    ));

    let minilm = a.minilm.clone().unwrap_or_else(MiniLm::default_dir);
    let tok_json = minilm.join("tokenizer.json");
    if tok_json.is_file() {
        let wp = once(&mut rows, "wordpiece load", || {
            rdpbench_lm::WordPieceTokenizer::from_file(&tok_json)
        })?;
        rows.push(encode_row(
            "wordpiece encode+offsets",
            "ids+spans",
            r,
            &texts,
            &|t| wp.encode_with_offsets(t),
            |t| [u64::from(t.id), t.bytes.start as u64, t.bytes.end as u64],
        ));
    } else {
        eprintln!("MiniLM skipped: {} not found", tok_json.display());
    }
    let head = format!(
        "{} Brown passages, {bytes} bytes of text; median of {} repeats",
        texts.len(),
        a.repeats
    );
    if a.model.json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(what, secs, note)| serde_json::json!({"step": what, "seconds": secs, "note": note}))
            .collect();
        out(&serde_json::to_string_pretty(&serde_json::json!({
            "passages": texts.len(), "bytes": bytes, "repeats": a.repeats, "rows": rows
        }))?)?;
    } else {
        let mut text = vec![head];
        text.extend(
            rows.iter()
                .map(|(what, secs, note)| format!("{what:<26} {:9.3} ms  {note}", secs * 1e3)),
        );
        out(&text.join("\n"))?;
    }
    Ok(Exit::Ok)
}

fn bench_forward(a: BenchForwardArgs) -> Result<Exit> {
    use rdpbench_lm::llama::ForwardTimings;
    if a.seq_len == 0 || a.batch == 0 || a.windows == 0 || a.repeats == 0 {
        return Err(usage_error(anyhow::anyhow!(
            "--seq-len, --batch, --windows and --repeats must be at least 1"
        )));
    }
    if !a.windows.is_multiple_of(a.batch) {
        return Err(usage_error(anyhow::anyhow!(
            "--windows {} is not a multiple of --batch {}",
            a.windows,
            a.batch
        )));
    }
    let dir = real_data::brown_dir();
    real_data::require(&dir).map_err(usage_error)?;
    let corpus = corpus::brown_corpus(&dir, &a.brown_passages).map_err(usage_error)?;
    let (llama, tok) = load(a.model.model.as_deref())?;
    if a.layer >= llama.config.n_layers {
        return Err(usage_error(anyhow::anyhow!(
            "--layer {}: the model has blocks 0..{}",
            a.layer,
            llama.config.n_layers - 1
        )));
    }
    // Documents' tokens back to back, cut into full windows.
    let ids: Vec<u32> = corpus
        .documents
        .iter()
        .flat_map(|d| tok.encode(&d.text))
        .collect();
    let windows: Vec<Vec<u32>> = ids
        .chunks_exact(a.seq_len)
        .take(a.windows)
        .map(<[u32]>::to_vec)
        .collect();
    if windows.len() < a.windows {
        return Err(usage_error(anyhow::anyhow!(
            "Brown passages {:?} give {} tokens, {} windows of {}; --windows {} asked for more",
            a.brown_passages,
            ids.len(),
            windows.len(),
            a.seq_len,
            a.windows
        )));
    }
    if let Some(path) = &a.dump_windows {
        rdpbench_store::write_atomic(path, serde_json::to_string(&windows)?.as_bytes())?;
    }
    llama.forward(&windows[..a.batch], Some(a.layer), false)?;
    let mut seconds = Vec::with_capacity(a.repeats);
    let mut timings = ForwardTimings::default();
    for _ in 0..a.repeats {
        let t0 = Instant::now();
        for batch in windows.chunks(a.batch) {
            llama.forward_timed(batch, Some(a.layer), false, Some(&mut timings))?;
        }
        seconds.push(t0.elapsed().as_secs_f64());
    }
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let tokens = (a.windows * a.seq_len) as f64;
    let tokens_per_second = tokens / median;
    let total = timings.total().max(1e-12);
    let v = serde_json::json!({
        "tokens_per_repeat": a.windows * a.seq_len,
        "seq_len": a.seq_len,
        "batch": a.batch,
        "layer": a.layer,
        "blocks_run": a.layer + 1,
        "threads": rdpbench_lm::llama::cpu_threads(),
        "repeat_seconds": seconds,
        "median_seconds": median,
        "tokens_per_second": tokens_per_second,
        "breakdown_seconds": timings,
        "breakdown_total_seconds": timings.total(),
    });
    if a.model.json {
        out(&serde_json::to_string_pretty(&v)?)?;
    } else {
        let mut text = format!(
            "rdpbench forward: {} windows x {} tokens, batch {}, blocks 0..={}, {} threads: median {:.3} s, {:.1} tokens/s\n",
            a.windows,
            a.seq_len,
            a.batch,
            a.layer,
            rdpbench_lm::llama::cpu_threads(),
            median,
            tokens_per_second
        );
        let parts = serde_json::to_value(&timings)?;
        for (name, secs) in parts.as_object().expect("struct").iter() {
            let secs = secs.as_f64().unwrap_or(0.0);
            text.push_str(&format!(
                "  {name:<16} {:>7.3} s  {:>5.1}%\n",
                secs,
                100.0 * secs / total
            ));
        }
        out(text.trim_end())?;
    }
    Ok(Exit::Ok)
}

fn tokenize(a: TokenizeArgs) -> Result<Exit> {
    use anyhow::Context;
    let path = a.model.clone().unwrap_or_else(real_data::smollm2_gguf);
    real_data::require(&path).map_err(usage_error)?;
    let tok = BpeTokenizer::from_gguf(&GgufFile::read(&path)?)?;
    let json = match (&a.text, &a.strings) {
        (Some(text), _) => serde_json::to_string(&tok.encode(text))?,
        (None, Some(file)) => {
            let (name, raw) = if file.as_os_str() == "-" {
                let mut raw = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut raw)
                    .context("cannot read the strings from stdin")?;
                ("stdin".to_string(), raw)
            } else {
                let raw = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))
                    .map_err(usage_error)?;
                (file.display().to_string(), raw)
            };
            let strings: Vec<String> = serde_json::from_str(&raw)
                .with_context(|| format!("{name}: expected a JSON array of strings"))
                .map_err(usage_error)?;
            let ids: Vec<Vec<u32>> = strings.iter().map(|s| tok.encode(s)).collect();
            serde_json::to_string(&ids)?
        }
        (None, None) => unreachable!("clap requires TEXT or --strings"),
    };
    out(&json)?;
    Ok(Exit::Ok)
}

fn generate(a: GenerateArgs) -> Result<Exit> {
    let (llama, tok) = load(a.model.model.as_deref())?;
    let prompt = tok.encode(&a.prompt);
    anyhow::ensure!(!prompt.is_empty(), "--prompt is empty");
    let t0 = Instant::now();
    let new = llama.generate_greedy(&prompt, a.max_new, Some(tok.eos_id))?;
    let secs = t0.elapsed().as_secs_f64();
    let continuation = tok.decode(&new);
    eprintln!("generated {} tokens in {secs:.2} s", new.len());
    if a.model.json {
        let v = serde_json::json!({
            "prompt": a.prompt,
            "prompt_ids": prompt,
            "new_ids": new,
            "continuation": continuation,
            "seconds": secs,
        });
        out(&serde_json::to_string_pretty(&v)?)?;
    } else {
        out(&format!("{}{}", a.prompt, continuation))?;
    }
    Ok(Exit::Ok)
}

fn perplexity(a: PerplexityArgs) -> Result<Exit> {
    let dir = real_data::brown_dir();
    real_data::require(&dir).map_err(usage_error)?;
    let passage = brown::read_passage(&dir, &a.brown).map_err(usage_error)?;
    let (llama, tok) = load(a.model.model.as_deref())?;
    let mut ids = tok.encode(&passage.text);
    ids.truncate(a.max_tokens);
    let t0 = Instant::now();
    let (nll, n) = llama.mean_nll(&ids, a.window)?;
    let secs = t0.elapsed().as_secs_f64();
    let ppl = nll.exp();
    eprintln!("scored {n} tokens in {secs:.2} s");
    if a.model.json {
        let v = serde_json::json!({
            "brown_passage": a.brown,
            "tokens": ids.len(),
            "predicted_tokens": n,
            "window": a.window,
            "mean_nll_nats": nll,
            "perplexity": ppl,
            "seconds": secs,
        });
        out(&serde_json::to_string_pretty(&v)?)?;
    } else {
        out(&format!(
            "Brown {}: perplexity {ppl:.3} (mean NLL {nll:.4} nats over {n} predicted tokens, windows of {})",
            a.brown, a.window
        ))?;
    }
    Ok(Exit::Ok)
}

fn extract(a: ExtractArgs) -> Result<Exit> {
    let corpus = if a.corpus == "brown" {
        let dir = real_data::brown_dir();
        real_data::require(&dir).map_err(usage_error)?;
        corpus::brown_corpus(&dir, &a.brown_passages).map_err(usage_error)?
    } else if let Some(name) = a.corpus.strip_prefix("sae-probes:") {
        let path = real_data::sae_probes_dir().join(format!("{name}.csv"));
        real_data::require(&path).map_err(usage_error)?;
        corpus::sae_probes_corpus(&path).map_err(usage_error)?
    } else {
        return Err(usage_error(anyhow::anyhow!(
            "--corpus '{}': expected 'brown' or 'sae-probes:NAME'",
            a.corpus
        )));
    };
    let layer = a.layer.unwrap_or(match a.lm {
        LmKind::Smollm2 => 15,
        LmKind::Minilm => 3,
    });
    let settings = ExtractSettings {
        layer,
        seq_len: a.seq_len,
        batch: a.batch,
        shard_tokens: a.shard_tokens,
        max_tokens: a.max_tokens,
    };
    let out_dir = a.out.unwrap_or_else(|| {
        let model_tag = match a.lm {
            LmKind::Smollm2 => "",
            LmKind::Minilm => "-minilm",
        };
        PathBuf::from("rdpbench-out/activations").join(format!(
            "{}{model_tag}-L{layer}",
            corpus.name.replace('/', "-"),
        ))
    });
    let r = match a.lm {
        LmKind::Smollm2 => {
            let model_path = a
                .model
                .model
                .clone()
                .unwrap_or_else(real_data::smollm2_gguf);
            let (llama, tok) = load(Some(&model_path))?;
            if layer >= llama.config.n_layers {
                return Err(usage_error(anyhow::anyhow!(
                    "--layer {layer}: the model has blocks 0..{}",
                    llama.config.n_layers - 1
                )));
            }
            activation_cache::extract(&llama, &tok, &model_path, &corpus, &settings, &out_dir)?
        }
        LmKind::Minilm => {
            let dir = a.model.model.clone().unwrap_or_else(MiniLm::default_dir);
            let weights = MiniLm::weights_file(&dir);
            real_data::require(&weights).map_err(usage_error)?;
            let t0 = Instant::now();
            let minilm = MiniLm::load_dir(&dir).map_err(usage_error)?;
            eprintln!(
                "loaded {} ({} layers, d_model {}, vocab {}) in {:.2} s",
                dir.display(),
                minilm.n_layers(),
                minilm.d_model(),
                minilm.tokenizer.vocab_size(),
                t0.elapsed().as_secs_f64()
            );
            if layer >= minilm.n_layers() {
                return Err(usage_error(anyhow::anyhow!(
                    "--layer {layer}: the model has layers 0..{}",
                    minilm.n_layers() - 1
                )));
            }
            activation_cache::extract_with(&minilm, &weights, &corpus, &settings, &out_dir)?
        }
    };
    eprintln!(
        "{}: {} shards verified and kept, {} written ({} new tokens, {} in the cache)",
        out_dir.display(),
        r.shards_verified,
        r.shards_written,
        r.tokens_written,
        r.tokens_total
    );
    if a.model.json {
        let mut v = serde_json::to_value(&r)?;
        v["forward_tokens_per_second"] = r.forward_tokens_per_second().into();
        v["total_tokens_per_second"] = r.total_tokens_per_second().into();
        v["cache"] = out_dir.display().to_string().into();
        out(&serde_json::to_string_pretty(&v)?)?;
    } else if r.tokens_written > 0 {
        out(&format!(
            "extracted {} tokens (layer {}, windows of {}, batch {}): forward {:.1} tokens/s, end to end {:.1} tokens/s ({:.1} s)",
            r.tokens_written,
            layer,
            a.seq_len,
            a.batch,
            r.forward_tokens_per_second(),
            r.total_tokens_per_second(),
            r.total_seconds
        ))?;
    } else {
        out("nothing to do: the cache is complete")?;
    }
    Ok(Exit::Ok)
}
