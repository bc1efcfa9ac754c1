//! `rdpbench real` on tiny data the test makes itself: a random 1-block
//! llama written as GGUF (`gguf_writer`), a synthetic corpus whose words are
//! labelled by word class, `lm extract` into a sharded cache, then the real
//! pipeline with two tiny SAEs (TopK, ReLU) and a handful of steps.
//!
//! Checked: the train / held-out split is by document and disjoint, and
//! window position 0 is in neither part; EV ≤ 1
//! and MSE ≥ 0; a TopK SAE's held-out L0 is exactly k; every bootstrap
//! interval contains its point estimate (for these statistics); oracle
//! metrics are n/a; the SAELens metadata names model, hook and cache; a
//! rerun retrains nothing and writes a byte-identical real.json; `bench
//! --cache` benchmarks exactly the first N scaled held-out rows, skips oracle
//! metrics, and its runtime table lands in the report; a corrupted shard is
//! an error naming the shard file.

mod common;

use common::Scratch;
use rdpbench_core::rng::Rng;
use rdpbench_lm::activation_cache::{ExtractSettings, extract, read_manifest, read_shard};
use rdpbench_lm::corpus::{Document, LabelledCorpus};
use rdpbench_lm::dequant::GgmlType;
use rdpbench_lm::gguf::MetadataValue as V;
use rdpbench_lm::gguf_writer::GgufWriter;
use rdpbench_lm::{BpeTokenizer, GgufFile, Llama};
use rdpbench_plugin_host::PluginSet;
use rdpbench_reports::Exporter;
use rdpbench_reports::html::{HtmlReport, ReportInputs};
use rdpbench_runner::bench::{BenchRows, BenchRun, build_cases};
use rdpbench_runner::progress::Silent;
use rdpbench_runner::real::{
    CacheTrainingSet, DocumentSplit, REAL_FILE, RealRun, compute_real, load_held_out, training_rows,
};
use rdpbench_schema::config::Config;
use rdpbench_schema::results::check::{CheckRun, SCHEMA_VERSION};
use std::path::Path;

const D: usize = 32;
const D_FF: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const N_DOCS: usize = 24;
const XSS: &str = "<script>alert(1)</script>";

/// Printable ASCII plus `Ġ` (space), in GPT-2's byte-to-char mapping.
fn tokens() -> Vec<String> {
    let mut t: Vec<String> = (b'!'..=b'~').map(|b| char::from(b).to_string()).collect();
    t.push("\u{120}".to_string());
    t
}

/// A random 1-block llama over [`tokens`] (every value from `seed`).
fn tiny_gguf(seed: u64) -> Vec<u8> {
    let vocab = tokens().len();
    let mut rng = Rng::new(seed);
    let mut vals = |n: usize, scale: f64, offset: f64| -> Vec<f32> {
        (0..n)
            .map(|_| (offset + scale * rng.uniform_range(-1.0, 1.0)) as f32)
            .collect()
    };
    let kv = KV_HEADS * (D / HEADS);
    let mut g = GgufWriter::new();
    g.metadata("general.architecture", V::String("llama".into()))
        .metadata("llama.block_count", V::U32(1))
        .metadata("llama.context_length", V::U32(64))
        .metadata("llama.embedding_length", V::U32(D as u32))
        .metadata("llama.feed_forward_length", V::U32(D_FF as u32))
        .metadata("llama.attention.head_count", V::U32(HEADS as u32))
        .metadata("llama.attention.head_count_kv", V::U32(KV_HEADS as u32))
        .metadata("llama.rope.freq_base", V::F32(10_000.0))
        .metadata("llama.attention.layer_norm_rms_epsilon", V::F32(1e-5))
        .metadata("llama.rope.dimension_count", V::U32((D / HEADS) as u32));
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = vec![(
        "token_embd.weight".into(),
        vec![vocab, D],
        vals(vocab * D, 1.0, 0.0),
    )];
    for (n, shape) in [
        ("attn_norm", vec![D]),
        ("attn_q", vec![D, D]),
        ("attn_k", vec![kv, D]),
        ("attn_v", vec![kv, D]),
        ("attn_output", vec![D, D]),
        ("ffn_norm", vec![D]),
        ("ffn_gate", vec![D_FF, D]),
        ("ffn_up", vec![D_FF, D]),
        ("ffn_down", vec![D, D_FF]),
    ] {
        let numel = shape.iter().product();
        let data = if shape.len() == 1 {
            vals(numel, 0.2, 1.0)
        } else {
            vals(numel, 0.3, 0.0)
        };
        tensors.push((format!("blk.0.{n}.weight"), shape, data));
    }
    tensors.push(("output_norm.weight".into(), vec![D], vals(D, 0.2, 1.0)));
    for (name, shape, data) in &tensors {
        g.tensor(name, shape, GgmlType::F32, data).unwrap();
    }
    g.to_bytes().unwrap()
}

/// Documents of 6–10 words drawn (seeded) from three word classes; each
/// word is labelled with its class.
fn corpus(seed: u64) -> LabelledCorpus {
    let classes: [&[&str]; 3] = [
        &["cat", "dog", "tree", "house"],
        &["runs", "sat", "saw", "ate"],
        &["red", "big", "old", "tall"],
    ];
    let mut rng = Rng::derive(seed, &[0x434f_5250]);
    let documents = (0..N_DOCS)
        .map(|i| {
            let n_words = 6 + rng.below(5) as usize;
            let (mut text, mut word_labels) = (String::new(), Vec::new());
            for w in 0..n_words {
                let c = rng.below(3) as usize;
                let word = classes[c][rng.below(4) as usize];
                if w > 0 {
                    text.push(' ');
                }
                word_labels.push((text.len()..text.len() + word.len(), c as u32));
                text.push_str(word);
            }
            Document {
                id: format!("d{i:02}"),
                text,
                doc_label: Some((i % 2) as u32),
                word_labels,
            }
        })
        .collect();
    LabelledCorpus {
        name: "tiny-classes".into(),
        documents,
        token_label_names: vec!["ADJ".into(), "NOUN".into(), "VERB".into()],
        doc_label_names: vec!["even".into(), "odd".into()],
    }
}

/// Writes the tiny model and extracts the corpus at block 0 into `dir/cache`.
fn make_cache(dir: &Path) -> std::path::PathBuf {
    let model_file = dir.join("tiny-llama.F32.gguf");
    std::fs::write(&model_file, tiny_gguf(11)).unwrap();
    let model = Llama::from_gguf(&GgufFile::read(&model_file).unwrap()).unwrap();
    let tok = BpeTokenizer::new(tokens(), &[], vec![false; tokens().len()], 0, 0, false).unwrap();
    let cache = dir.join("cache");
    let settings = ExtractSettings {
        layer: 0,
        seq_len: 16,
        batch: 8,
        shard_tokens: 300,
        max_tokens: None,
    };
    extract(&model, &tok, &model_file, &corpus(5), &settings, &cache).unwrap();
    cache
}

const TINY: &str = r#"
[real]
architectures = ["topk", "relu"]
width_factor = 2
steps = 60
batch_size = 64
lr = 3e-3
held_out_every = 4
eval_tokens = 100000
bootstrap_resamples = 40
toy_steps = 40
toy_eval_samples = 512

[real.sparsity]
topk = [4.0]
relu = [1.0]
"#;

fn plugins() -> PluginSet {
    let mut set = PluginSet::default();
    for stem in [
        "rdpbench_sae_topk",
        "rdpbench_sae_relu",
        "rdpbench_metric_decoder_cosine",
        "rdpbench_metric_firing_density",
        "rdpbench_metric_concept_purity",
        "rdpbench_metric_oracle_pgt",
    ] {
        set.load_file(&common::lib(stem));
    }
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set
}

/// The real stage into the results folder `out`, as the CLI runs it.
fn run_real(
    config: &Config,
    plugins: &PluginSet,
    cache: &std::path::Path,
    out: &std::path::Path,
    jobs: usize,
) -> anyhow::Result<rdpbench_runner::real::RealOutcome> {
    use rdpbench_store::{ResultDir, Stage};
    common::in_stage(out, Stage::Real, |w| {
        let sweep = w.dir_for_tool(ResultDir::RealSaes)?;
        let outcome = compute_real(config, plugins, cache, out, &sweep, jobs, &mut Silent)?;
        w.adopt_tree(ResultDir::RealSaes)?;
        let run = outcome.run.clone();
        Ok((outcome, run, rdpbench_reports::real::exporters()))
    })
}

#[test]
fn tiny_real_pipeline_end_to_end() {
    let scratch = Scratch::new("real");
    let cache = make_cache(scratch.path());
    let manifest = read_manifest(&cache).unwrap();
    assert!(manifest.shards.len() >= 3, "several shards: {manifest:?}");
    let config = Config::from_layers(Some((Path::new("tiny.toml"), TINY))).unwrap();
    let split = DocumentSplit {
        held_out_every: 4,
        min_position: 1,
        max_norm: None,
    };
    // Opening sets the outlier threshold: 10 x the median row norm.
    let set = CacheTrainingSet::open(&cache, split, 10.0, 1 << 30).unwrap();
    let split = set.split();
    let max_norm = split.max_norm.expect("outlier threshold set");
    let norm = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>().sqrt();

    // The split: disjoint by document; training rows are exactly the tokens
    // of training documents; the held-out set is exactly the held-out ones.
    let (train_docs, held_docs) = split.documents(manifest.n_documents());
    assert_eq!(train_docs.len() + held_docs.len(), N_DOCS);
    assert!(train_docs.iter().all(|d| !held_docs.contains(d)));
    assert_eq!(held_docs, vec![3, 7, 11, 15, 19, 23]);
    let (mut train_tokens, mut held_tokens) = (0, 0);
    for i in 0..manifest.shards.len() {
        let shard = read_shard(&cache, &manifest, i).unwrap();
        // Window position 0 and rows above the norm threshold are used by
        // neither part (the tiny model has no such outlier: all kept).
        let kept: Vec<u32> = (0..shard.n_tokens)
            .filter(|&t| shard.position[t] >= 1)
            .inspect(|&t| assert!(norm(&shard.activations[t * D..(t + 1) * D]) <= max_norm))
            .map(|t| shard.doc_index[t])
            .collect();
        let held = kept.iter().filter(|&&d| split.is_held_out(d)).count();
        held_tokens += held;
        train_tokens += kept.len() - held;
        assert_eq!(
            training_rows(&cache, &manifest, split, i, 1.0)
                .unwrap()
                .len(),
            (kept.len() - held) * D
        );
    }
    let held = load_held_out(&cache, split, usize::MAX, 0, set.scale()).unwrap();
    assert_eq!(held.n_tokens(), held_tokens);
    assert!(train_tokens > 0 && held_tokens > 0);
    let mut docs = held.documents.clone();
    docs.sort();
    assert_eq!(docs, held_docs, "every held-out document once");
    assert_eq!(
        held.units.iter().map(|u| u.len()).sum::<usize>(),
        held_tokens
    );

    // The pipeline.
    let out = scratch.path().join("out");
    let plugins = plugins();
    let first = run_real(&config, &plugins, &cache, &out, 2).unwrap();
    assert_eq!(first.trained, vec![true, true]);
    let run = &first.run;
    assert_eq!(run.saes.len(), 2);
    assert_eq!(run.cache.eval_tokens, held_tokens);
    assert_eq!(run.cache.hook_name, "blocks.0.hook_resid_post");
    for s in &run.saes {
        let q = &s.quality;
        let ev = q.explained_variance.value.expect("EV defined");
        let mse = q.mse.value.expect("MSE defined");
        assert!(ev <= 1.0 && mse >= 0.0, "{}: EV {ev}, MSE {mse}", s.id);
        for (name, e) in [
            ("l0", &q.l0),
            ("ev", &q.explained_variance),
            ("mse", &q.mse),
        ] {
            let [lo, hi] =
                e.ci.unwrap_or_else(|| panic!("{} {name}: no interval", s.id));
            let v = e.value.unwrap();
            assert!(
                lo <= v && v <= hi,
                "{} {name}: {v} outside [{lo}, {hi}]",
                s.id
            );
            assert_eq!(e.n_resamples, 40);
        }
        let cfg: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(&s.folder).join("cfg.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(cfg["metadata"]["model_name"], "tiny-llama");
        assert_eq!(cfg["metadata"]["hook_name"], "blocks.0.hook_resid_post");
        assert_eq!(cfg["metadata"]["rdpbench_real"]["corpus"], "tiny-classes");
    }
    let topk = run.saes.iter().find(|s| s.architecture == "topk").unwrap();
    assert_eq!(
        topk.quality.l0.value,
        Some(4.0),
        "TopK L0 = k on held-out rows"
    );
    assert_eq!(topk.quality.l0.ci, Some([4.0, 4.0]));
    // `rdpbench eval` reads the cache itself (every shard, in chunks that
    // cross shard boundaries) and honours the SAE's recorded activation scale.
    let folder = out.join(&topk.folder);
    let all = rdpbench_runner::eval::core_numbers_of(&plugins, &folder, &cache, 64, 7).unwrap();
    assert_eq!(all.n_tokens, manifest.n_tokens);
    assert!(all.l0 > 3.0 && all.l0 <= 4.0, "{}", all.l0);
    let loaded = rdpbench_plugin_host::saelens::load(&folder, &plugins).unwrap();
    let f = rdpbench_plugin_host::saelens_function::SaelensFunction::new(
        &loaded,
        &plugins.sae("topk").unwrap().cached_spec().saelens,
    )
    .unwrap();
    assert_eq!(
        f.honoured["rdpbench_real_job.activation_scale"].as_f64(),
        Some(f64::from(set.scale()))
    );

    let oracle = run.metric("oracle-p-gt").unwrap();
    assert!(oracle.oracle && oracle.not_applicable.is_some() && oracle.scores.is_empty());
    let cosine = run.metric("mean-max-decoder-cosine").unwrap();
    assert_eq!(cosine.n_defined, 2);
    for s in &cosine.scores {
        // Reads only the decoder: every resample gives the same value.
        let v = s.score.value().unwrap();
        assert_eq!(s.ci, Some([v, v]));
    }
    for m in run.metrics.iter().filter(|m| !m.oracle) {
        assert_eq!(m.toy_scores.len(), 2, "{}", m.id);
        let r = m.rank_vs_toy.as_ref().unwrap();
        assert_eq!(
            r.rho, None,
            "{}: two configurations cannot be ranked (ρ needs 3)",
            m.id
        );
    }
    assert_eq!(run.toy.len(), 2);
    assert_eq!(
        run.toy[0].id, run.saes[0].id,
        "same configurations, same ids"
    );

    // Rerun: nothing retrained, byte-identical real.json.
    let bytes = std::fs::read(out.join(REAL_FILE)).unwrap();
    let second = run_real(&config, &plugins, &cache, &out, 1).unwrap();
    assert_eq!(second.trained, vec![false, false]);
    assert_eq!(second.toy_trained, vec![false, false]);
    assert_eq!(std::fs::read(out.join(REAL_FILE)).unwrap(), bytes);
    assert_eq!(RealRun::load(&out.join(REAL_FILE)).unwrap(), first.run);

    // The CLI: same pipeline, one metric, JSON on stdout.
    let toml_path = scratch.path().join("tiny.toml");
    std::fs::write(&toml_path, TINY).unwrap();
    let cli_out = scratch.path().join("cli-out");
    let (code, stdout, stderr) = common::run(
        common::rdpbench()
            .arg("--config")
            .arg(&toml_path)
            .args([
                "real",
                "--metrics",
                "mean-firing-density",
                "--json",
                "-j",
                "1",
            ])
            .arg("--cache")
            .arg(&cache)
            .arg("--out")
            .arg(&cli_out),
    );
    assert_eq!(code, 0, "{stderr}");
    let cli_run: RealRun = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cli_run.saes.len(), 2);
    assert_eq!(cli_run.metrics.len(), 1);
    assert_eq!(
        cli_run.saes[0].quality, run.saes[0].quality,
        "same SAE, same scores"
    );
    assert!(cli_out.join("real.md").is_file() && cli_out.join("real.csv").is_file());
    assert!(stderr.contains("2 trained"), "{stderr}");

    // The report's "Real data" section escapes plugin-provided strings.
    let mut hostile = first.run.clone();
    hostile.metrics[0].id = XSS.into();
    hostile.saes[0].id = XSS.into();
    let defaults = Config::defaults();
    let mut inputs = ReportInputs::from_check(CheckRun {
        schema_version: SCHEMA_VERSION,
        tool: "rdpbench".into(),
        tool_version: rdpbench_schema::VERSION.into(),
        settings: defaults.check.clone(),
        toy: defaults.toy.clone(),
        plugins: vec![],
        plugin_errors: vec![],
        ground_truth: vec![],
        metrics: vec![],
    });
    let without = HtmlReport.render(&inputs).unwrap();
    assert!(without.contains("Real data: SAEs on language-model activations</strong>: omitted"));
    inputs.real = Some(hostile);
    let html = HtmlReport.render(&inputs).unwrap();
    assert!(html.contains("id=\"real-data\""));
    assert!(html.contains("Real SAE leaderboard"));
    assert!(
        !html.contains(XSS),
        "a plugin-provided string reached the HTML unescaped"
    );
    assert!(html.contains("&lt;script&gt;"));
    let md = rdpbench_reports::real::markdown(&first.run);
    assert!(md.contains("## SAE leaderboard") && md.contains(&run.saes[0].id));

    // Benchmarking on the cache: the rows of every case are the first N
    // held-out rows, scaled as in training, labelled with the token labels.
    let folders: Vec<std::path::PathBuf> = run.saes.iter().map(|s| out.join(&s.folder)).collect();
    let (_, cases) = build_cases(
        &plugins,
        &folders,
        &[7, 30],
        BenchRows::Cache {
            dir: &cache,
            real: &config.real,
        },
    )
    .unwrap();
    assert_eq!(cases.len(), 4);
    for c in &cases {
        let want = held.first_rows(c.n_tokens);
        assert_eq!(c.case.activations, want.activations, "{}", c.label);
        assert_eq!(c.case.labels, want.labels, "{}", c.label);
        assert_eq!(c.case.codes.n_rows, c.n_tokens);
    }
    let e = build_cases(
        &plugins,
        &folders,
        &[held_tokens + 1],
        BenchRows::Cache {
            dir: &cache,
            real: &config.real,
        },
    )
    .unwrap_err();
    assert!(
        format!("{e:#}").contains(&format!("only {held_tokens} held-out rows")),
        "{e:#}"
    );
    // `bench --cache` is the real-bench stage of the results folder `out`.
    let bench_out = out.join("real-bench");
    let (code, _, stderr) = common::run(
        common::rdpbench()
            .arg("--config")
            .arg(&toml_path)
            .args([
                "bench",
                "--metrics",
                "mean-firing-density,oracle-p-gt",
                "--n-tokens",
                "10,20",
                "--measurement-secs",
                "0.01",
            ])
            .arg("--cache")
            .arg(&cache)
            .arg("--out")
            .arg(&out)
            .arg("--sae")
            .args(&folders),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("skipping oracle metric(s) oracle-p-gt"),
        "{stderr}"
    );
    let bench = BenchRun::load(&bench_out.join("bench.json")).unwrap();
    assert_eq!(bench.activation_cache.as_deref(), Some(cache.as_path()));
    assert_eq!(bench.metrics.len(), 1);
    let sizes = &bench.metrics[0].sizes;
    assert_eq!(sizes.len(), 4);
    assert!(sizes.iter().all(|s| s.median_ns.is_some_and(|t| t > 0.0)));
    inputs.real = Some(first.run.clone());
    inputs.real_bench = Some(bench);
    let html = HtmlReport.render(&inputs).unwrap();
    assert!(html.contains("Metric runtime on the real SAEs (held-out rows of"));

    // `rdpbench run --real-cache` with the toy stages skipped (a check.json
    // is there already): the real and real-bench stages, then the report.
    let run_dir = scratch.path().join("run-out");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("check.json"),
        serde_json::to_string(&inputs.check).unwrap(),
    )
    .unwrap();
    let run_toml = scratch.path().join("run.toml");
    std::fs::write(
        &run_toml,
        format!(
            "{TINY}\n[plugins]\nmetrics = [\"mean-firing-density\"]\n\n\
             [bench]\nn_tokens = [10, 20]\nmeasurement_secs = 0.01\n"
        ),
    )
    .unwrap();
    let (code, _, stderr) = common::run(
        common::rdpbench()
            .arg("--config")
            .arg(&run_toml)
            .args(["run", "--skip", "check,game,train,rdp,validity,bench"])
            .arg("--real-cache")
            .arg(&cache)
            .arg("--out")
            .arg(&run_dir),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("==> [7/9] real"), "{stderr}");
    let reloaded = ReportInputs::load(&run_dir).unwrap();
    let real = reloaded.real.expect("real.json written");
    assert_eq!(real.saes.len(), 2);
    let bench = reloaded.real_bench.expect("real-bench/bench.json written");
    assert_eq!(bench.activation_cache.as_deref(), Some(cache.as_path()));
    assert_eq!(bench.saes.len(), 2);
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("Metric runtime on the real SAEs"));

    // A corrupted shard: the error names the shard file.
    let bad = &manifest.shards[1].file;
    let path = cache.join(bad);
    let mut b = std::fs::read(&path).unwrap();
    let at = b.len() - 5;
    b[at] ^= 0x40;
    std::fs::write(&path, b).unwrap();
    let e = run_real(&config, &plugins, &cache, &scratch.path().join("out2"), 1).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains(bad.as_str()), "{msg}");
}

/// Every file `rdpbench real` writes in `out` (real.json/.csv/.md and every
/// file under real-saes/, toy counterparts included), by path.
fn real_files(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, into: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel}/{name}");
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &rel, into);
            } else {
                into.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    use rdpbench_store::{ResultDir, ResultFile, Stage};
    let mut files = std::collections::BTreeMap::new();
    for f in ResultFile::ALL
        .into_iter()
        .filter(|f| f.stage() == Stage::Real)
    {
        if let Ok(b) = std::fs::read(out.join(f.path())) {
            files.insert(f.path().to_string(), b);
        }
    }
    for d in ResultDir::ALL
        .into_iter()
        .filter(|d| d.stage() == Stage::Real)
    {
        walk(&out.join(d.path()), d.path(), &mut files);
    }
    files
}

/// `rdpbench real --shard 1/2`, then `0/2` (each its own process; `0/2`
/// rerun skips its SAE), then `rdpbench merge real`: real.json, real.csv,
/// real.md and every file of every real SAE and toy counterpart folder are
/// byte-identical to the unsharded `rdpbench real` in the same folder. A
/// merge with shard 1/2 missing names its SAE and the shard to rerun.
#[test]
fn real_merge_from_2_shards_is_byte_identical_to_the_unsharded_run() {
    let scratch = Scratch::new("real-shards");
    let cache = make_cache(scratch.path());
    let cfg = scratch.path().join("tiny.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let cache_arg = cache.to_string_lossy().into_owned();
    let words = [
        "real",
        "--cache",
        &cache_arg,
        "--metrics",
        "mean-max-decoder-cosine,mean-firing-density,concept-purity,oracle-p-gt",
        "--jobs",
        "1",
    ];
    let out = scratch.path().join("out");
    let rdpbench = |extra: &[&str]| {
        common::run(
            common::rdpbench()
                .arg("--config")
                .arg(&cfg)
                .args(extra)
                .arg("--out")
                .arg(&out),
        )
    };
    let (code, _, stderr) = rdpbench(&words);
    assert_eq!(code, 0, "{stderr}");
    let expected = real_files(&out);
    let json: serde_json::Value = serde_json::from_slice(&expected["real.json"]).unwrap();
    assert_eq!(json["saes"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json["toy"].as_array().unwrap().len(), 2, "{json}");
    // Real content: a ranking against the toy counterparts for a proxy.
    assert!(
        json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["rank_vs_toy"].is_object()),
        "{json}"
    );
    let sae_files = expected.keys().filter(|p| p.ends_with("/cfg.json")).count();
    assert_eq!(sae_files, 4, "2 real SAEs, 2 toy: {:?}", expected.keys());

    std::fs::remove_dir_all(&out).unwrap();
    for shard in ["1/2", "0/2"] {
        let (code, _, stderr) = rdpbench(&[&words[..], &["--shard", shard]].concat());
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(&format!("real shard {shard}: ")),
            "{stderr}"
        );
    }
    let (_, _, stderr) = rdpbench(&[&words[..], &["--shard", "0/2"]].concat());
    assert!(
        stderr.contains("0 SAE(s) run, 1 already recorded, of 2 in all"),
        "{stderr}"
    );
    assert!(!out.join("real.json").exists());
    let merge = [&["merge"][..], &words[..]].concat();
    let (code, _, stderr) = rdpbench(&merge);
    assert_eq!(code, 0, "{stderr}");
    let got = real_files(&out);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &expected {
        assert!(
            got[path] == *bytes,
            "real merged from 2 shards: {path} differs"
        );
    }

    // Shard 1/2 missing: the merge names its SAE and the shard to rerun.
    std::fs::remove_dir_all(&out).unwrap();
    let (code, _, stderr) = rdpbench(&[&words[..], &["--shard", "0/2"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = rdpbench(&merge);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("1 of 2 real job(s) have no result")
            && stderr.contains("rerun --shard 1/2"),
        "{stderr}"
    );
    assert!(!out.join("real.json").exists());
}
