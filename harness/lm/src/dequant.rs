//! ggml tensor types used by SmolLM2-135M-Instruct.Q4_1.gguf, and their dequantization.
//!
//! The file holds F32 (norm weights), Q8_0 (token embedding) and Q4_1 (every linear
//! weight); F16 and Q4_0 are included because they are one line each and common.
//! Block formats (ggml `ggml-common.h`), all little-endian, blocks of 32 values:
//! - Q4_0 (18 bytes): `f16 d`, 16 bytes of nibbles; `x[j] = (lo(q[j]) − 8)·d`,
//!   `x[j+16] = (hi(q[j]) − 8)·d` for `j < 16`.
//! - Q4_1 (20 bytes): `f16 d`, `f16 m`, 16 bytes; `x[j] = lo(q[j])·d + m`,
//!   `x[j+16] = hi(q[j])·d + m`.
//! - Q8_0 (34 bytes): `f16 d`, 32 × `i8 q`; `x[j] = q[j]·d`.

use anyhow::{Result, bail, ensure};
use half::f16;

/// Elements per quantization block for the block types.
pub const QK: usize = 32;

/// A ggml tensor type this crate can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q8_0,
}

impl GgmlType {
    /// From the GGUF tensor-info type id; unsupported ids are errors naming the type.
    pub fn from_id(id: u32) -> Result<Self> {
        Ok(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            other => {
                let name = match other {
                    6 => "Q5_0",
                    7 => "Q5_1",
                    9 => "Q8_1",
                    10 => "Q2_K",
                    11 => "Q3_K",
                    12 => "Q4_K",
                    13 => "Q5_K",
                    14 => "Q6_K",
                    15 => "Q8_K",
                    30 => "BF16",
                    _ => "unknown",
                };
                bail!(
                    "ggml type {other} ({name}) is not supported (F32, F16, Q4_0, Q4_1, Q8_0 are)"
                )
            }
        })
    }

    /// The GGUF type id.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
        }
    }

    /// `(elements per block, bytes per block)`.
    pub fn block_layout(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 => (1, 2),
            Self::Q4_0 => (QK, 18),
            Self::Q4_1 => (QK, 20),
            Self::Q8_0 => (QK, 34),
        }
    }
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// Dequantizes `n` elements of type `ty` from `bytes` (which must be exactly their size).
pub fn dequantize(ty: GgmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>> {
    let (block, block_bytes) = ty.block_layout();
    ensure!(
        n.is_multiple_of(block),
        "{n} elements is not a multiple of the {ty:?} block size {block}"
    );
    let expected = n / block * block_bytes;
    ensure!(
        bytes.len() == expected,
        "{ty:?} data of {n} elements needs {expected} bytes, got {}",
        bytes.len()
    );
    let mut out = Vec::with_capacity(n);
    match ty {
        GgmlType::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        GgmlType::F16 => out.extend(bytes.chunks_exact(2).map(|c| f16_at(c, 0))),
        GgmlType::Q4_0 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = f16_at(b, 0);
                let q = &b[2..18];
                out.extend(q.iter().map(|&v| ((v & 0x0F) as i32 - 8) as f32 * d));
                out.extend(q.iter().map(|&v| ((v >> 4) as i32 - 8) as f32 * d));
            }
        }
        GgmlType::Q4_1 => {
            for b in bytes.chunks_exact(block_bytes) {
                let (d, m) = (f16_at(b, 0), f16_at(b, 2));
                let q = &b[4..20];
                out.extend(q.iter().map(|&v| (v & 0x0F) as f32 * d + m));
                out.extend(q.iter().map(|&v| (v >> 4) as f32 * d + m));
            }
        }
        GgmlType::Q8_0 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = f16_at(b, 0);
                out.extend(b[2..34].iter().map(|&v| v as i8 as f32 * d));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn q4_1_block_by_hand() {
        // d = 0.5, m = -1; byte j holds lo = j, hi = 15 - j.
        let mut b = Vec::new();
        b.extend(h(0.5));
        b.extend(h(-1.0));
        b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let x = dequantize(GgmlType::Q4_1, &b, 32).unwrap();
        for j in 0..16 {
            assert_eq!(x[j], j as f32 * 0.5 - 1.0, "low nibble {j}");
            assert_eq!(x[j + 16], (15 - j) as f32 * 0.5 - 1.0, "high nibble {j}");
        }
    }

    #[test]
    fn q4_0_block_by_hand() {
        let mut b = Vec::new();
        b.extend(h(2.0));
        b.extend((0..16u8).map(|j| j | (8 << 4)));
        let x = dequantize(GgmlType::Q4_0, &b, 32).unwrap();
        assert_eq!(x[0], -16.0);
        assert_eq!(x[15], 14.0);
        assert!(x[16..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn q8_0_two_blocks_by_hand() {
        let mut b = Vec::new();
        for d in [0.25f32, -2.0] {
            b.extend(h(d));
            b.extend((0..32i8).map(|j| (j - 16) as u8));
        }
        let x = dequantize(GgmlType::Q8_0, &b, 64).unwrap();
        assert_eq!(x[0], -4.0);
        assert_eq!(x[31], 3.75);
        assert_eq!(x[32], 32.0);
        assert_eq!(x[63], -30.0);
    }

    #[test]
    fn f16_and_f32() {
        let b: Vec<u8> = [1.5f32, -0.25].iter().flat_map(|v| h(*v)).collect();
        assert_eq!(dequantize(GgmlType::F16, &b, 2).unwrap(), vec![1.5, -0.25]);
        let b: Vec<u8> = [1.0e-7f32, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(dequantize(GgmlType::F32, &b, 2).unwrap(), vec![1.0e-7, 3.0]);
    }

    #[test]
    fn wrong_sizes_and_types_are_named() {
        let e = dequantize(GgmlType::Q4_1, &[0; 19], 32).unwrap_err();
        assert!(e.to_string().contains("needs 20 bytes, got 19"), "{e}");
        let e = GgmlType::from_id(14).unwrap_err();
        assert!(e.to_string().contains("Q6_K"), "{e}");
    }
}
