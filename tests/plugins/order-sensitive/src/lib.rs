//! A deliberately broken metric: the mean |cosine| between the decoder rows
//! of *adjacent* latents, `mean_j |cos(w_j, w_{j+1})|`. It sees real decoder
//! overlap (merged latents share directions with their neighbours), but which
//! latents are neighbours depends on the arbitrary latent order, so it must
//! fail C3 (permutation invariance).
#![deny(unsafe_code)]

use rdpbench_sdk::prelude::*;

pub struct AdjacentDecoderCosine;

impl Metric for AdjacentDecoderCosine {
    fn spec(&self) -> MetricSpec {
        MetricSpec {
            id: "adjacent-decoder-cosine".into(),
            version: "1".into(),
            description:
                "mean |cos| between decoder rows j and j+1 (broken on purpose: order-dependent)"
                    .into(),
            citation: "rdpbench test plugin".into(),
            orientation: Orientation::HigherIsMorePolysemantic,
            inputs: vec![Input::Decoder],
            examples: vec![],
        }
    }

    fn compute(&self, input: &MetricInput<'_>) -> anyhow::Result<MetricOutput> {
        let w = input.decoder()?;
        let norm = |r: &[f32]| r.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        let (mut sum, mut n) = (0.0f64, 0u64);
        for j in 0..w.rows.saturating_sub(1) {
            let (a, b) = (w.row(j), w.row(j + 1));
            let (na, nb) = (norm(a), norm(b));
            if na == 0.0 || nb == 0.0 {
                continue;
            }
            let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
            sum += (dot / (na * nb)).abs();
            n += 1;
        }
        if n == 0 {
            return Ok(MetricOutput::undefined(
                "fewer than two non-zero decoder rows",
            ));
        }
        Ok(MetricOutput::value(sum / n as f64))
    }
}

rdpbench_sdk::export_plugin!(metrics: [AdjacentDecoderCosine]);
