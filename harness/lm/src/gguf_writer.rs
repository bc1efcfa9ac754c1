//! A minimal GGUF v3 writer, for tests that need a small model file they make themselves
//! (the reader's tests and the llama forward's hand-computable cases).
//!
//! Tensors are given as f32 row-major data with their row-major shape and stored as
//! F32, F16, Q8_0 or Q4_1 (simple round-to-nearest quantizers, not ggml's).

use crate::dequant::{GgmlType, QK};
use crate::gguf::{DEFAULT_ALIGNMENT, MAGIC, MetadataValue};
use anyhow::{Result, bail, ensure};
use half::f16;

/// Collects metadata and tensors, then serializes them.
#[derive(Debug, Default)]
pub struct GgufWriter {
    metadata: Vec<(String, MetadataValue)>,
    tensors: Vec<(String, Vec<usize>, GgmlType, Vec<u8>)>,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &MetadataValue) -> Result<()> {
    match v {
        MetadataValue::U8(x) => out.push(*x),
        MetadataValue::I8(x) => out.extend(x.to_le_bytes()),
        MetadataValue::U16(x) => out.extend(x.to_le_bytes()),
        MetadataValue::I16(x) => out.extend(x.to_le_bytes()),
        MetadataValue::U32(x) => out.extend(x.to_le_bytes()),
        MetadataValue::I32(x) => out.extend(x.to_le_bytes()),
        MetadataValue::F32(x) => out.extend(x.to_le_bytes()),
        MetadataValue::Bool(x) => out.push(u8::from(*x)),
        MetadataValue::String(s) => put_string(out, s),
        MetadataValue::Array(items) => {
            let elem = items.first().map_or(4, MetadataValue::type_id);
            if items.iter().any(|i| i.type_id() != elem) {
                bail!("GGUF arrays must be homogeneous");
            }
            out.extend(elem.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for i in items {
                put_value(out, i)?;
            }
        }
        MetadataValue::U64(x) => out.extend(x.to_le_bytes()),
        MetadataValue::I64(x) => out.extend(x.to_le_bytes()),
        MetadataValue::F64(x) => out.extend(x.to_le_bytes()),
    }
    Ok(())
}

/// Quantizes f32 values (a multiple of the block size for block types) to `ty`'s bytes.
pub fn quantize(ty: GgmlType, x: &[f32]) -> Result<Vec<u8>> {
    let (block, _) = ty.block_layout();
    ensure!(
        x.len().is_multiple_of(block),
        "{} values is not a multiple of {block}",
        x.len()
    );
    let mut out = Vec::new();
    match ty {
        GgmlType::F32 => out.extend(x.iter().flat_map(|v| v.to_le_bytes())),
        GgmlType::F16 => out.extend(x.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes())),
        GgmlType::Q8_0 => {
            for b in x.chunks_exact(QK) {
                let amax = b.iter().fold(0f32, |a, v| a.max(v.abs()));
                let d = amax / 127.0;
                let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(
                    b.iter()
                        .map(|v| (v * inv).round().clamp(-127.0, 127.0) as i8 as u8),
                );
            }
        }
        GgmlType::Q4_1 => {
            for b in x.chunks_exact(QK) {
                let lo = b.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = b.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let d = (hi - lo) / 15.0;
                let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(f16::from_f32(lo).to_le_bytes());
                let q = |v: f32| ((v - lo) * inv).round().clamp(0.0, 15.0) as u8;
                out.extend((0..QK / 2).map(|j| q(b[j]) | (q(b[j + QK / 2]) << 4)));
            }
        }
        GgmlType::Q4_0 => bail!("the test writer does not quantize Q4_0"),
    }
    Ok(out)
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one metadata entry (file order is insertion order).
    pub fn metadata(&mut self, key: &str, value: MetadataValue) -> &mut Self {
        self.metadata.push((key.to_string(), value));
        self
    }

    /// Adds a tensor: `data` is row-major with row-major `shape`, stored as `ty`.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ty: GgmlType,
        data: &[f32],
    ) -> Result<&mut Self> {
        ensure!(
            shape.iter().product::<usize>() == data.len(),
            "tensor '{name}': shape {shape:?} does not match {} values",
            data.len()
        );
        let bytes = quantize(ty, data)?;
        self.tensors
            .push((name.to_string(), shape.to_vec(), ty, bytes));
        Ok(self)
    }

    /// Serializes to GGUF v3 bytes with the default alignment (32).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let align = DEFAULT_ALIGNMENT as usize;
        let mut out = Vec::new();
        out.extend(MAGIC);
        out.extend(3u32.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        for (k, v) in &self.metadata {
            put_string(&mut out, k);
            out.extend(v.type_id().to_le_bytes());
            put_value(&mut out, v)?;
        }
        let mut offset = 0usize;
        for (name, shape, ty, bytes) in &self.tensors {
            put_string(&mut out, name);
            out.extend((shape.len() as u32).to_le_bytes());
            for d in shape.iter().rev() {
                out.extend((*d as u64).to_le_bytes());
            }
            out.extend(ty.id().to_le_bytes());
            out.extend((offset as u64).to_le_bytes());
            offset = (offset + bytes.len()).div_ceil(align) * align;
        }
        out.resize(out.len().div_ceil(align) * align, 0);
        for (_, _, _, bytes) in &self.tensors {
            out.extend(bytes);
            out.resize(out.len().div_ceil(align) * align, 0);
        }
        Ok(out)
    }
}
