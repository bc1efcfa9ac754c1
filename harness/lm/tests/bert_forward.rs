//! BERT forward on a tiny random model the test writes as safetensors: equals an f64
//! loop implementation; padding does not change the unpadded rows; batching does not
//! change a sequence's rows; positions matter; bad files fail naming the tensor.

mod common_bert;

use common_bert::{Rng, reference_forward, tiny_config, tiny_weights};
use rdpbench_lm::Bert;

const VOCAB: usize = 40;

fn tiny_bert(seed: u64) -> (Bert, common_bert::Weights) {
    let c = tiny_config(VOCAB);
    let w = tiny_weights(&c, seed);
    let bert = Bert::from_bytes(c, &w.to_safetensors(), "tiny.safetensors").unwrap();
    (bert, w)
}

fn rows(t: &candle_core::Tensor) -> Vec<Vec<Vec<f32>>> {
    t.to_vec3::<f32>().unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn random_ids(rng: &mut Rng, n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| (rng.next_u64() % VOCAB as u64) as u32)
        .collect()
}

#[test]
fn matches_an_f64_loop_implementation_at_every_layer() {
    let (bert, w) = tiny_bert(7);
    let mut rng = Rng(11);
    let ids = random_ids(&mut rng, 9);
    let want = reference_forward(&bert.config, &w, &ids);
    for (l, want_l) in want.iter().enumerate() {
        let got = rows(
            &bert
                .forward_padded(std::slice::from_ref(&ids), 0, l)
                .unwrap(),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), ids.len());
        for (p, (g, r)) in got[0].iter().zip(want_l).enumerate() {
            assert_eq!(g.len(), bert.config.hidden_size);
            let e = g
                .iter()
                .zip(r)
                .map(|(a, b)| (*a as f64 - b).abs())
                .fold(0.0, f64::max);
            assert!(e < 2e-4, "layer {l} position {p}: max abs diff {e}");
        }
    }
}

#[test]
fn padding_leaves_the_unpadded_rows_unchanged() {
    let (bert, _) = tiny_bert(3);
    let mut rng = Rng(5);
    let short = random_ids(&mut rng, 4);
    let long = random_ids(&mut rng, 10);
    for layer in 0..bert.config.num_hidden_layers {
        let alone = rows(
            &bert
                .forward_padded(std::slice::from_ref(&short), 0, layer)
                .unwrap(),
        );
        // Batched with a longer sequence, `short` is padded to 10 with id 0...
        let batched = rows(
            &bert
                .forward_padded(&[long.clone(), short.clone()], 0, layer)
                .unwrap(),
        );
        // ...and with another pad id: the real rows must not care.
        let other_pad = rows(
            &bert
                .forward_padded(&[long.clone(), short.clone()], 7, layer)
                .unwrap(),
        );
        for p in 0..short.len() {
            assert!(
                max_diff(&alone[0][p], &batched[1][p]) < 1e-5,
                "layer {layer} pos {p}"
            );
            assert!(max_diff(&batched[1][p], &other_pad[1][p]) < 1e-5);
        }
        // The longer sequence is unaffected by sharing the batch.
        let long_alone = rows(
            &bert
                .forward_padded(std::slice::from_ref(&long), 0, layer)
                .unwrap(),
        );
        for p in 0..long.len() {
            assert!(max_diff(&long_alone[0][p], &batched[0][p]) < 1e-5);
        }
    }
}

#[test]
fn explicit_mask_matches_padding_and_positions_matter() {
    let (bert, _) = tiny_bert(9);
    // Same token at every position: rows differ only through the position embeddings.
    let ids = vec![5u32; 6];
    let out = rows(
        &bert
            .forward_padded(std::slice::from_ref(&ids), 0, 2)
            .unwrap(),
    );
    for p in 1..ids.len() {
        assert!(
            max_diff(&out[0][0], &out[0][p]) > 1e-3,
            "position {p} equals position 0: positions are ignored"
        );
    }
    // Swapping two tokens is not a permutation of the output rows (absolute positions).
    let a = vec![1u32, 2, 3, 4];
    let b = vec![2u32, 1, 3, 4];
    let oa = rows(&bert.forward_padded(&[a], 0, 0).unwrap());
    let ob = rows(&bert.forward_padded(&[b], 0, 0).unwrap());
    assert!(max_diff(&oa[0][0], &ob[0][1]) > 1e-3);
    // forward() with a hand-written mask equals forward_padded().
    let flat = vec![1u32, 2, 3, 9, 9, 4, 5, 6, 7, 8];
    let mask = vec![1u8, 1, 1, 0, 0, 1, 1, 1, 1, 1];
    let m = rows(&bert.forward(&flat, &mask, 2, 1).unwrap());
    let p = rows(
        &bert
            .forward_padded(&[vec![1, 2, 3], vec![4, 5, 6, 7, 8]], 0, 1)
            .unwrap(),
    );
    for r in 0..3 {
        assert!(max_diff(&m[0][r], &p[0][r]) < 1e-5);
    }
    for r in 0..5 {
        assert!(max_diff(&m[1][r], &p[1][r]) < 1e-5);
    }
}

#[test]
fn layer_norm_output_has_the_gain_and_bias_statistics() {
    // With every LayerNorm gain 1 and bias 0, each output row has mean 0 and variance 1.
    let c = tiny_config(VOCAB);
    let mut w = tiny_weights(&c, 13);
    for (name, _, v) in &mut w.0 {
        if name.ends_with("LayerNorm.weight") {
            v.fill(1.0);
        } else if name.ends_with("LayerNorm.bias") {
            v.fill(0.0);
        }
    }
    let bert = Bert::from_bytes(c, &w.to_safetensors(), "tiny").unwrap();
    let out = rows(&bert.forward_padded(&[vec![3, 1, 4, 1, 5]], 0, 2).unwrap());
    for row in &out[0] {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
    }
}

#[test]
fn bad_inputs_fail_with_clear_errors() {
    let c = tiny_config(VOCAB);
    let w = tiny_weights(&c, 1);
    // A missing tensor is named.
    let mut missing = common_bert::Weights(w.0.clone());
    missing
        .0
        .retain(|t| t.0 != "encoder.layer.1.attention.self.key.bias");
    let e = Bert::from_bytes(c.clone(), &missing.to_safetensors(), "m.safetensors").unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("encoder.layer.1.attention.self.key.bias") && msg.contains("m.safetensors"),
        "{msg}"
    );
    // A wrong shape names tensor, found and expected shapes.
    let mut wrong = common_bert::Weights(w.0.clone());
    let t = wrong
        .0
        .iter_mut()
        .find(|t| t.0 == "encoder.layer.0.intermediate.dense.weight")
        .unwrap();
    t.1 = vec![16, 32];
    let msg = format!(
        "{:#}",
        Bert::from_bytes(c.clone(), &wrong.to_safetensors(), "w").unwrap_err()
    );
    assert!(
        msg.contains("intermediate.dense.weight")
            && msg.contains("[16, 32]")
            && msg.contains("[32, 16]"),
        "{msg}"
    );
    // Out-of-range layer, token id and length.
    let bert = Bert::from_bytes(c.clone(), &w.to_safetensors(), "ok").unwrap();
    assert!(
        format!("{:#}", bert.forward_padded(&[vec![1]], 0, 3).unwrap_err()).contains("layer 3")
    );
    assert!(format!("{:#}", bert.forward_padded(&[vec![40]], 0, 0).unwrap_err()).contains("40"));
    let too_long = vec![1u32; c.max_position_embeddings + 1];
    assert!(
        format!("{:#}", bert.forward_padded(&[too_long], 0, 0).unwrap_err())
            .contains("max_position_embeddings")
    );
    // Unsupported activation is refused by name.
    let relu = rdpbench_lm::BertConfig {
        hidden_act: "relu".into(),
        ..c
    };
    assert!(
        format!(
            "{:#}",
            Bert::from_bytes(relu, &w.to_safetensors(), "r").unwrap_err()
        )
        .contains("hidden_act")
    );
}
