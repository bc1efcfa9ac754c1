//! Test helpers: a seeded generator and a tiny llama GGUF written by the test itself.
#![allow(dead_code)]

use rdpbench_lm::dequant::GgmlType;
use rdpbench_lm::gguf::MetadataValue as V;
use rdpbench_lm::gguf_writer::GgufWriter;

/// SplitMix64: every random choice in these tests flows from its seed.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform() * scale).collect()
    }
}

/// Shape of the tiny test model.
#[derive(Debug, Clone, Copy)]
pub struct Tiny {
    pub n_layers: usize,
    pub d: usize,
    pub d_ff: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab: usize,
}

pub const TINY: Tiny = Tiny {
    n_layers: 2,
    d: 32,
    d_ff: 64,
    heads: 4,
    kv_heads: 2,
    vocab: 64,
};

/// All weights of a tiny llama, row-major, in the GGUF's names.
pub struct TinyWeights {
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl TinyWeights {
    pub fn get(&self, name: &str) -> &[f32] {
        &self.tensors.iter().find(|t| t.0 == name).unwrap().2
    }
}

/// Random weights (seeded); `zero_blocks` zeroes every block's output projections.
pub fn tiny_weights(t: Tiny, seed: u64, zero_blocks: bool) -> TinyWeights {
    let mut rng = SplitMix(seed);
    let kv = t.kv_heads * (t.d / t.heads);
    let mut tensors = vec![(
        "token_embd.weight".to_string(),
        vec![t.vocab, t.d],
        rng.vec(t.vocab * t.d, 1.0),
    )];
    for l in 0..t.n_layers {
        let z = if zero_blocks { 0.0 } else { 1.0 };
        for (n, s, scale) in [
            ("attn_norm", vec![t.d], 0.0),
            ("attn_q", vec![t.d, t.d], 0.3),
            ("attn_k", vec![kv, t.d], 0.3),
            ("attn_v", vec![kv, t.d], 0.3),
            ("attn_output", vec![t.d, t.d], 0.3 * z),
            ("ffn_norm", vec![t.d], 0.0),
            ("ffn_gate", vec![t.d_ff, t.d], 0.3),
            ("ffn_up", vec![t.d_ff, t.d], 0.3),
            ("ffn_down", vec![t.d, t.d_ff], 0.3 * z),
        ] {
            let numel = s.iter().product();
            let data = if scale == 0.0 && s.len() == 1 {
                // Norm gains around 1.
                rng.vec(numel, 0.2).into_iter().map(|v| 1.0 + v).collect()
            } else {
                rng.vec(numel, scale)
            };
            tensors.push((format!("blk.{l}.{n}.weight"), s, data));
        }
    }
    tensors.push((
        "output_norm.weight".to_string(),
        vec![t.d],
        rng.vec(t.d, 0.2).into_iter().map(|v| 1.0 + v).collect(),
    ));
    TinyWeights { tensors }
}

/// Writes the tiny model as GGUF bytes, every tensor stored as `ty` (norms always F32).
pub fn tiny_gguf(t: Tiny, w: &TinyWeights, ty: GgmlType) -> Vec<u8> {
    let mut g = GgufWriter::new();
    g.metadata("general.architecture", V::String("llama".into()))
        .metadata("llama.block_count", V::U32(t.n_layers as u32))
        .metadata("llama.context_length", V::U32(128))
        .metadata("llama.embedding_length", V::U32(t.d as u32))
        .metadata("llama.feed_forward_length", V::U32(t.d_ff as u32))
        .metadata("llama.attention.head_count", V::U32(t.heads as u32))
        .metadata("llama.attention.head_count_kv", V::U32(t.kv_heads as u32))
        .metadata("llama.rope.freq_base", V::F32(10_000.0))
        .metadata("llama.attention.layer_norm_rms_epsilon", V::F32(1e-5))
        .metadata("llama.rope.dimension_count", V::U32((t.d / t.heads) as u32));
    for (name, shape, data) in &w.tensors {
        let ty = if shape.len() == 1 { GgmlType::F32 } else { ty };
        g.tensor(name, shape, ty, data).unwrap();
    }
    g.to_bytes().unwrap()
}
