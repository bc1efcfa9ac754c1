//! Test helpers: a tiny random BERT written as safetensors by the test itself, a plain
//! f64 loop implementation of the same forward (independent of candle), and a tiny
//! WordPiece `tokenizer.json`.
#![allow(dead_code)]

use rdpbench_lm::BertConfig;
use safetensors::{Dtype, tensor::TensorView};

/// SplitMix64: every random choice flows from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-scale, scale).
    pub fn uniform(&mut self, scale: f32) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * scale
    }
}

pub fn tiny_config(vocab: usize) -> BertConfig {
    BertConfig {
        vocab_size: vocab,
        hidden_size: 16,
        num_hidden_layers: 3,
        num_attention_heads: 4,
        intermediate_size: 32,
        max_position_embeddings: 24,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: "gelu".into(),
        position_embedding_type: "absolute".into(),
    }
}

/// Named row-major f32 tensors of a BERT with this config (on-disk names).
pub struct Weights(pub Vec<(String, Vec<usize>, Vec<f32>)>);

impl Weights {
    pub fn get(&self, name: &str) -> &[f32] {
        &self
            .0
            .iter()
            .find(|t| t.0 == name)
            .unwrap_or_else(|| panic!("{name}"))
            .2
    }

    /// safetensors bytes (plus one unused tensor, as real files carry a pooler).
    pub fn to_safetensors(&self) -> Vec<u8> {
        let bytes: Vec<Vec<u8>> = self
            .0
            .iter()
            .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let views: Vec<(String, TensorView<'_>)> = self
            .0
            .iter()
            .zip(&bytes)
            .map(|((n, s, _), b)| {
                (
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }
}

/// Seeded random weights; LayerNorm gains near 1, biases small.
pub fn tiny_weights(c: &BertConfig, seed: u64) -> Weights {
    let mut rng = Rng(seed);
    let (d, f) = (c.hidden_size, c.intermediate_size);
    let mut t = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, around: f32, scale: f32| {
        let n = shape.iter().product();
        let v = (0..n).map(|_| around + rng.uniform(scale)).collect();
        t.push((name, shape, v));
    };
    add(
        "embeddings.word_embeddings.weight".into(),
        vec![c.vocab_size, d],
        0.0,
        1.0,
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        vec![c.max_position_embeddings, d],
        0.0,
        0.5,
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        vec![c.type_vocab_size, d],
        0.0,
        0.5,
    );
    add("embeddings.LayerNorm.weight".into(), vec![d], 1.0, 0.2);
    add("embeddings.LayerNorm.bias".into(), vec![d], 0.0, 0.1);
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        for m in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            add(format!("{p}.{m}.weight"), vec![d, d], 0.0, 0.5);
            add(format!("{p}.{m}.bias"), vec![d], 0.0, 0.1);
        }
        add(
            format!("{p}.attention.output.LayerNorm.weight"),
            vec![d],
            1.0,
            0.2,
        );
        add(
            format!("{p}.attention.output.LayerNorm.bias"),
            vec![d],
            0.0,
            0.1,
        );
        add(
            format!("{p}.intermediate.dense.weight"),
            vec![f, d],
            0.0,
            0.5,
        );
        add(format!("{p}.intermediate.dense.bias"), vec![f], 0.0, 0.1);
        add(format!("{p}.output.dense.weight"), vec![d, f], 0.0, 0.3);
        add(format!("{p}.output.dense.bias"), vec![d], 0.0, 0.1);
        add(format!("{p}.output.LayerNorm.weight"), vec![d], 1.0, 0.2);
        add(format!("{p}.output.LayerNorm.bias"), vec![d], 0.0, 0.1);
    }
    add("pooler.dense.weight".into(), vec![d, d], 0.0, 0.5);
    Weights(t)
}

fn layer_norm(x: &mut [f64], g: &[f32], b: &[f32], eps: f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    for (i, v) in x.iter_mut().enumerate() {
        *v = (*v - mean) / (var + eps).sqrt() * g[i] as f64 + b[i] as f64;
    }
}

/// `W v + b` for `W` `[out, in]`.
fn affine(w: &[f32], b: &[f32], v: &[f64]) -> Vec<f64> {
    let inp = v.len();
    b.iter()
        .enumerate()
        .map(|(o, &bo)| {
            bo as f64
                + w[o * inp..(o + 1) * inp]
                    .iter()
                    .zip(v)
                    .map(|(&a, &x)| a as f64 * x)
                    .sum::<f64>()
        })
        .collect()
}

/// erf: Maclaurin series for |x| < 3 (cancellation costs ~3 of f64's digits there),
/// the continued fraction of erfc beyond.
fn erf(x: f64) -> f64 {
    if x.abs() < 3.0 {
        // erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)); term_n = (−1)^n x^(2n+1) / n!.
        let mut sum = 0.0f64;
        let mut term = x;
        for n in 0..120 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // |x| ≥ 3: erfc x < 2.3e-5; its continued fraction converges fast.
        let ax = x.abs();
        let mut f = 0.0;
        for k in (1..60).rev() {
            f = (k as f64 / 2.0) / (ax + f);
        }
        let erfc = (-ax * ax).exp() / std::f64::consts::PI.sqrt() / (ax + f);
        (1.0 - erfc).copysign(x)
    }
}

/// The same forward in f64 loops, one sequence, no padding: hidden state after every
/// layer, `[n_layers][T][d]`.
pub fn reference_forward(c: &BertConfig, w: &Weights, ids: &[u32]) -> Vec<Vec<Vec<f64>>> {
    let (d, h) = (c.hidden_size, c.num_attention_heads);
    let hd = d / h;
    let eps = c.layer_norm_eps;
    let mut x: Vec<Vec<f64>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            let mut row: Vec<f64> = (0..d)
                .map(|j| {
                    (w.get("embeddings.word_embeddings.weight")[id as usize * d + j]
                        + w.get("embeddings.position_embeddings.weight")[p * d + j]
                        + w.get("embeddings.token_type_embeddings.weight")[j])
                        as f64
                })
                .collect();
            layer_norm(
                &mut row,
                w.get("embeddings.LayerNorm.weight"),
                w.get("embeddings.LayerNorm.bias"),
                eps,
            );
            row
        })
        .collect();
    let mut out = Vec::new();
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        let lin = |m: &str, v: &[f64]| {
            affine(
                w.get(&format!("{p}.{m}.weight")),
                w.get(&format!("{p}.{m}.bias")),
                v,
            )
        };
        let q: Vec<Vec<f64>> = x.iter().map(|r| lin("attention.self.query", r)).collect();
        let k: Vec<Vec<f64>> = x.iter().map(|r| lin("attention.self.key", r)).collect();
        let v: Vec<Vec<f64>> = x.iter().map(|r| lin("attention.self.value", r)).collect();
        let t = ids.len();
        let mut next = Vec::with_capacity(t);
        for i in 0..t {
            let mut ctx = vec![0.0; d];
            for head in 0..h {
                let s = head * hd..(head + 1) * hd;
                let scores: Vec<f64> = (0..t)
                    .map(|j| {
                        q[i][s.clone()]
                            .iter()
                            .zip(&k[j][s.clone()])
                            .map(|(a, b)| a * b)
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for j in 0..t {
                    for (c, dim) in s.clone().enumerate() {
                        ctx[head * hd + c] += e[j] / z * v[j][dim];
                    }
                }
            }
            let a = lin("attention.output.dense", &ctx);
            let mut y: Vec<f64> = x[i].iter().zip(&a).map(|(u, v)| u + v).collect();
            layer_norm(
                &mut y,
                w.get(&format!("{p}.attention.output.LayerNorm.weight")),
                w.get(&format!("{p}.attention.output.LayerNorm.bias")),
                eps,
            );
            let inner: Vec<f64> = lin("intermediate.dense", &y)
                .into_iter()
                .map(|z| 0.5 * z * (1.0 + erf(z / std::f64::consts::SQRT_2)))
                .collect();
            let o = lin("output.dense", &inner);
            let mut z: Vec<f64> = y.iter().zip(&o).map(|(u, v)| u + v).collect();
            layer_norm(
                &mut z,
                w.get(&format!("{p}.output.LayerNorm.weight")),
                w.get(&format!("{p}.output.LayerNorm.bias")),
                eps,
            );
            next.push(z);
        }
        x = next;
        out.push(x.clone());
    }
    out
}

/// A BERT-style `tokenizer.json` over the given vocabulary (ids in order), with
/// `[PAD] [UNK] [CLS] [SEP]` as added tokens (they must be in `vocab`).
pub fn tokenizer_json(vocab: &[&str]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i.into()))
        .collect();
    let added: Vec<serde_json::Value> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .map(|s| {
            let id = vocab.iter().position(|v| v == s).expect("special in vocab");
            serde_json::json!({"id": id, "content": s, "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    serde_json::json!({
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
            "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
            "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
            "vocab": map}
    })
    .to_string()
}
