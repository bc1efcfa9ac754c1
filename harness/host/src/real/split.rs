//! The document-level train / held-out split of an activation cache.

use rdpbench_lm::activation_cache::Manifest;
use serde::{Deserialize, Serialize};

/// Document `i` is held out iff `i % every == every − 1`; every other
/// document is training data. The split is by document, so no token of a
/// held-out document (nor its neighbours in the same window) is ever seen in
/// training, and it depends only on the document index, so it is the same
/// for every cache of the same corpus however many tokens it holds.
///
/// Rows at window position `< min_position` belong to neither part: in
/// SmolLM2 the first token of every window is an attention sink whose
/// residual norm is ~100x the others' (measured at layer 15 on Brown: norms
/// ~2·10⁴ vs a median of ~170; 0.8% of the rows held 98.9% of the total
/// variance), so keeping it would make EV measure those rows only. The sink
/// is not always at position 0 (one Brown window had it at position 1, norm
/// 2.6·10⁴), so rows with `‖x‖ > max_norm` are dropped too (`max_norm` =
/// `[real].outlier_norm_factor` × the median norm of the first training
/// shard's rows; `None`: no norm filter).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DocumentSplit {
    pub held_out_every: usize,
    pub min_position: u32,
    pub max_norm: Option<f32>,
}

impl DocumentSplit {
    /// Whether document `doc` is held out.
    pub fn is_held_out(&self, doc: u32) -> bool {
        let every = self.held_out_every as u64;
        every > 0 && u64::from(doc) % every == every - 1
    }

    /// Whether a row at window position `position` is used at all.
    pub fn keeps_position(&self, position: u32) -> bool {
        position >= self.min_position
    }

    /// Whether a row at `position` with activations `x` is used at all.
    pub fn keeps_row(&self, position: u32, x: &[f32]) -> bool {
        self.keeps_position(position)
            && self
                .max_norm
                .is_none_or(|m| x.iter().map(|v| v * v).sum::<f32>().sqrt() <= m)
    }

    /// Documents of the cache (`0..` the last shard's `doc_end`) in each part:
    /// `(train, held_out)`, ascending.
    pub fn documents(&self, manifest: &Manifest) -> (Vec<u32>, Vec<u32>) {
        let end = manifest.shards.last().map_or(0, |s| s.doc_end) as u32;
        (0..end).partition(|&d| !self.is_held_out(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fifth_document_is_held_out() {
        let s = DocumentSplit {
            held_out_every: 5,
            min_position: 1,
            max_norm: Some(5.0),
        };
        assert!(!s.keeps_position(0) && s.keeps_position(1));
        assert!(s.keeps_row(1, &[3.0, 4.0]) && !s.keeps_row(1, &[3.0, 4.1]));
        assert!(!s.keeps_row(0, &[0.0, 0.0]));
        let held: Vec<u32> = (0..12).filter(|&d| s.is_held_out(d)).collect();
        assert_eq!(held, vec![4, 9]);
    }
}
