//! The ggml tensor types this crate accepts, and their dequantization by candle
//! (`candle_core::quantized`: `QTensor` over the raw blocks, then `dequantize` to f32 on
//! the CPU; bit-identical to ggml's reference `dequantize_row_*`).
//!
//! SmolLM2-135M-Instruct.Q4_1.gguf holds F32 (norm weights), Q8_0 (token embedding) and
//! Q4_1 (every linear weight); F16 and Q4_0 are accepted too. Block formats (ggml
//! `ggml-common.h`), all little-endian, blocks of 32 values:
//! - Q4_0 (18 bytes): `f16 d`, 16 bytes of nibbles; `x[j] = (lo(q[j]) − 8)·d`,
//!   `x[j+16] = (hi(q[j]) − 8)·d` for `j < 16`.
//! - Q4_1 (20 bytes): `f16 d`, `f16 m`, 16 bytes; `x[j] = lo(q[j])·d + m`,
//!   `x[j+16] = hi(q[j])·d + m`.
//! - Q8_0 (34 bytes): `f16 d`, 32 × `i8 q`; `x[j] = q[j]·d`.

use anyhow::{Result, bail, ensure};
use candle_core::quantized::{GgmlDType, ggml_file::qtensor_from_ggml};
use candle_core::{Device, Tensor};

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

    /// candle's name for the type.
    pub fn candle(self) -> GgmlDType {
        match self {
            Self::F32 => GgmlDType::F32,
            Self::F16 => GgmlDType::F16,
            Self::Q4_0 => GgmlDType::Q4_0,
            Self::Q4_1 => GgmlDType::Q4_1,
            Self::Q8_0 => GgmlDType::Q8_0,
        }
    }

    /// `(elements per block, bytes per block)`.
    pub fn block_layout(self) -> (usize, usize) {
        let t = self.candle();
        (t.block_size(), t.type_size())
    }
}

/// Dequantizes `n` elements of type `ty` from `bytes` (exactly their size) into a CPU
/// f32 tensor of row-major shape `shape` (`n` = product of `shape`).
pub fn dequantize_tensor(ty: GgmlType, bytes: &[u8], shape: &[usize]) -> Result<Tensor> {
    let n: usize = shape.iter().product();
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
    // candle views the bytes as its block structs (f16 fields, or f32): they must sit
    // at an address aligned for them. A slice of a file buffer at a 32-aligned offset
    // normally is; otherwise the bytes are copied into an 8-aligned buffer first.
    let aligned;
    let bytes = if (bytes.as_ptr() as usize).is_multiple_of(8) {
        bytes
    } else {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        aligned = words;
        &bytemuck::cast_slice::<u64, u8>(&aligned)[..bytes.len()]
    };
    let q = qtensor_from_ggml(ty.candle(), bytes, shape.to_vec(), &Device::Cpu)?;
    Ok(q.dequantize(&Device::Cpu)?)
}

/// Dequantizes `n` elements of type `ty` from `bytes` (which must be exactly their size).
pub fn dequantize(ty: GgmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>> {
    Ok(dequantize_tensor(ty, bytes, &[n])?.to_vec1()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

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
