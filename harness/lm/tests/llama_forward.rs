//! The llama forward on a tiny GGUF the test writes itself: against an independent
//! loop-by-loop reference, a hand-computable case (blocks that add nothing), causality,
//! and the quantized path.

mod common;

use common::{TINY, Tiny, TinyWeights, tiny_gguf, tiny_weights};
use rdpbench_lm::dequant::GgmlType;
use rdpbench_lm::{GgufFile, Llama};

fn rms_norm(x: &[f32], g: &[f32], eps: f32) -> Vec<f32> {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let r = 1.0 / (ms + eps).sqrt();
    x.iter().zip(g).map(|(v, g)| v * r * g).collect()
}

/// `W x` for row-major `W` `[out, in]`.
fn matvec(w: &[f32], x: &[f32]) -> Vec<f32> {
    w.chunks_exact(x.len())
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

fn rope(v: &mut [f32], pos: usize, base: f32) {
    let hd = v.len();
    for i in 0..hd / 2 {
        let theta = pos as f32 * base.powf(-2.0 * i as f32 / hd as f32);
        let (s, c) = theta.sin_cos();
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
    }
}

/// Straight loops, one token at a time: returns (residual after each block, logits) per position.
fn reference(t: Tiny, w: &TinyWeights, ids: &[u32]) -> (Vec<Vec<Vec<f32>>>, Vec<Vec<f32>>) {
    let (d, hd) = (t.d, t.d / t.heads);
    let eps = 1e-5;
    let emb = w.get("token_embd.weight");
    let mut xs: Vec<Vec<f32>> = ids
        .iter()
        .map(|&i| emb[i as usize * d..(i as usize + 1) * d].to_vec())
        .collect();
    let mut residuals = Vec::new();
    for l in 0..t.n_layers {
        let p = |n: &str| w.get(&format!("blk.{l}.{n}.weight"));
        let hs: Vec<Vec<f32>> = xs
            .iter()
            .map(|x| rms_norm(x, p("attn_norm"), eps))
            .collect();
        let qs: Vec<Vec<f32>> = hs.iter().map(|h| matvec(p("attn_q"), h)).collect();
        let ks: Vec<Vec<f32>> = hs.iter().map(|h| matvec(p("attn_k"), h)).collect();
        let vs: Vec<Vec<f32>> = hs.iter().map(|h| matvec(p("attn_v"), h)).collect();
        let group = t.heads / t.kv_heads;
        let mut new_xs = Vec::new();
        for pos in 0..ids.len() {
            let mut concat = vec![0f32; d];
            for h in 0..t.heads {
                let kvh = h / group;
                let mut q = qs[pos][h * hd..(h + 1) * hd].to_vec();
                rope(&mut q, pos, 10_000.0);
                let mut scores = Vec::new();
                for (j, kj) in ks.iter().enumerate().take(pos + 1) {
                    let mut k = kj[kvh * hd..(kvh + 1) * hd].to_vec();
                    rope(&mut k, j, 10_000.0);
                    scores.push(
                        q.iter().zip(&k).map(|(a, b)| a * b).sum::<f32>() / (hd as f32).sqrt(),
                    );
                }
                let m = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f32 = e.iter().sum();
                for (j, ej) in e.iter().enumerate() {
                    for c in 0..hd {
                        concat[h * hd + c] += ej / z * vs[j][kvh * hd + c];
                    }
                }
            }
            let o = matvec(p("attn_output"), &concat);
            let x: Vec<f32> = xs[pos].iter().zip(&o).map(|(a, b)| a + b).collect();
            let hn = rms_norm(&x, p("ffn_norm"), eps);
            let g = matvec(p("ffn_gate"), &hn);
            let u = matvec(p("ffn_up"), &hn);
            let act: Vec<f32> = g
                .iter()
                .zip(&u)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let dn = matvec(p("ffn_down"), &act);
            new_xs.push(x.iter().zip(&dn).map(|(a, b)| a + b).collect());
        }
        xs = new_xs;
        residuals.push(xs.clone());
    }
    let logits = xs
        .iter()
        .map(|x| matvec(emb, &rms_norm(x, w.get("output_norm.weight"), eps)))
        .collect();
    (residuals, logits)
}

fn to_vec3(t: &candle_core::Tensor) -> Vec<Vec<Vec<f32>>> {
    t.to_vec3::<f32>().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn forward_matches_loop_reference() {
    let w = tiny_weights(TINY, 7, false);
    let gguf = GgufFile::parse(tiny_gguf(TINY, &w, GgmlType::F32), "tiny.gguf").unwrap();
    let model = Llama::from_gguf(&gguf).unwrap();
    assert_eq!(model.config.head_dim, 8);
    let seqs = vec![
        vec![3u32, 17, 5, 60, 1, 9, 33],
        vec![0u32, 63, 12, 12, 40, 2, 8],
    ];
    for layer in 0..TINY.n_layers {
        let out = model.forward(&seqs, Some(layer), true).unwrap();
        let res = to_vec3(out.residual.as_ref().unwrap());
        let logits = to_vec3(out.logits.as_ref().unwrap());
        for (b, ids) in seqs.iter().enumerate() {
            let (ref_res, ref_logits) = reference(TINY, &w, ids);
            for pos in 0..ids.len() {
                let e = max_abs_diff(&res[b][pos], &ref_res[layer][pos]);
                assert!(
                    e < 1e-4,
                    "residual after block {layer}, seq {b}, pos {pos}: max diff {e}"
                );
                let e = max_abs_diff(&logits[b][pos], &ref_logits[pos]);
                assert!(e < 1e-3, "logits seq {b}, pos {pos}: max diff {e}");
            }
        }
    }
}

#[test]
fn blocks_that_add_nothing_leave_the_embedding() {
    // Zero output projections: every block adds 0, so the residual is the embedding row
    // and the logits are RMSNorm(e_t)·g · Eᵀ.
    let w = tiny_weights(TINY, 11, true);
    let model = Llama::from_gguf(
        &GgufFile::parse(tiny_gguf(TINY, &w, GgmlType::F32), "zero.gguf").unwrap(),
    )
    .unwrap();
    let ids = vec![vec![5u32, 6, 7]];
    let out = model.forward(&ids, Some(1), true).unwrap();
    let res = to_vec3(out.residual.as_ref().unwrap());
    let emb = w.get("token_embd.weight");
    for (pos, &id) in ids[0].iter().enumerate() {
        let row = &emb[id as usize * TINY.d..(id as usize + 1) * TINY.d];
        assert_eq!(res[0][pos], row, "position {pos}");
        let ms = row.iter().map(|v| v * v).sum::<f32>() / TINY.d as f32;
        let g = w.get("output_norm.weight");
        let h: Vec<f32> = row
            .iter()
            .zip(g)
            .map(|(v, g)| v / (ms + 1e-5).sqrt() * g)
            .collect();
        let logits = to_vec3(out.logits.as_ref().unwrap());
        let expect: Vec<f32> = emb
            .chunks_exact(TINY.d)
            .map(|e| e.iter().zip(&h).map(|(a, b)| a * b).sum())
            .collect();
        assert!(max_abs_diff(&logits[0][pos], &expect) < 1e-4);
    }
}

#[test]
fn later_tokens_do_not_change_earlier_positions() {
    let w = tiny_weights(TINY, 3, false);
    let model =
        Llama::from_gguf(&GgufFile::parse(tiny_gguf(TINY, &w, GgmlType::F32), "c.gguf").unwrap())
            .unwrap();
    let a = model
        .forward(&[vec![1, 2, 3, 4, 5]], Some(1), false)
        .unwrap();
    let b = model
        .forward(&[vec![1, 2, 3, 50, 51]], Some(1), false)
        .unwrap();
    assert!(a.logits.is_none());
    let (a, b) = (
        to_vec3(a.residual.as_ref().unwrap()),
        to_vec3(b.residual.as_ref().unwrap()),
    );
    for pos in 0..3 {
        assert!(
            max_abs_diff(&a[0][pos], &b[0][pos]) < 1e-5,
            "position {pos} saw the future"
        );
    }
    assert!(max_abs_diff(&a[0][3], &b[0][3]) > 1e-3);
}

#[test]
fn quantized_weights_stay_close_to_f32() {
    let w = tiny_weights(TINY, 5, false);
    let ids = vec![vec![9u32, 8, 7, 6]];
    let run = |ty| {
        let m =
            Llama::from_gguf(&GgufFile::parse(tiny_gguf(TINY, &w, ty), "q.gguf").unwrap()).unwrap();
        to_vec3(
            m.forward(&ids, None, true)
                .unwrap()
                .logits
                .as_ref()
                .unwrap(),
        )
    };
    let f = run(GgmlType::F32);
    for ty in [GgmlType::Q8_0, GgmlType::Q4_1] {
        let q = run(ty);
        let scale = f[0].iter().flatten().map(|v| v.abs()).fold(0.0, f32::max);
        let e = (0..4)
            .map(|p| max_abs_diff(&f[0][p], &q[0][p]))
            .fold(0.0, f32::max);
        let tol = if ty == GgmlType::Q8_0 { 0.02 } else { 0.25 };
        assert!(
            e < tol * scale,
            "{ty:?}: max logit diff {e} vs scale {scale}"
        );
    }
}

#[test]
fn bad_inputs_are_named() {
    let w = tiny_weights(TINY, 1, false);
    let model =
        Llama::from_gguf(&GgufFile::parse(tiny_gguf(TINY, &w, GgmlType::F32), "e.gguf").unwrap())
            .unwrap();
    let e = model.forward(&[vec![64]], None, true).unwrap_err();
    assert!(e.to_string().contains("token id 64"), "{e}");
    let e = model.forward(&[vec![1]], Some(2), false).unwrap_err();
    assert!(e.to_string().contains("residual_after = 2"), "{e}");
}

#[test]
fn timed_forward_is_the_forward_and_times_every_block_part() {
    let w = tiny_weights(TINY, 11, false);
    let gguf = GgufFile::parse(tiny_gguf(TINY, &w, GgmlType::F32), "tiny.gguf").unwrap();
    let model = Llama::from_gguf(&gguf).unwrap();
    let seqs = vec![vec![3u32, 17, 5, 60], vec![0u32, 63, 12, 40]];
    let plain = model.forward(&seqs, Some(1), false).unwrap();
    let mut t = rdpbench_lm::llama::ForwardTimings::default();
    let timed = model
        .forward_timed(&seqs, Some(1), false, Some(&mut t))
        .unwrap();
    let (a, b) = (
        to_vec3(plain.residual.as_ref().unwrap()),
        to_vec3(timed.residual.as_ref().unwrap()),
    );
    assert_eq!(a, b, "timing must not change the residual");
    assert!(timed.logits.is_none());
    // Every part a block runs was timed; the output head (not asked for) was not.
    for (name, secs) in [
        ("norms", t.norms),
        ("qkv_matmul", t.qkv_matmul),
        ("rope", t.rope),
        ("attention", t.attention),
        ("attn_out_matmul", t.attn_out_matmul),
        ("ffn_matmuls", t.ffn_matmuls),
        ("swiglu", t.swiglu),
        ("residual_adds", t.residual_adds),
    ] {
        assert!(secs > 0.0, "{name} was not timed");
    }
    assert_eq!(t.logits, 0.0);
    let sum = t.embed
        + t.norms
        + t.qkv_matmul
        + t.rope
        + t.attention
        + t.attn_out_matmul
        + t.ffn_matmuls
        + t.swiglu
        + t.residual_adds;
    assert!((t.total() - sum).abs() < 1e-12);
}
