//! GGUF (v2/v3) reader: header, metadata key/values, tensor infos, aligned data section.
//!
//! Layout (all little-endian): magic `GGUF`, `u32` version, `u64` tensor count,
//! `u64` metadata count; metadata `(string key, u32 type, value)`; tensor infos
//! `(string name, u32 n_dims, u64 dims[n_dims], u32 ggml type, u64 offset)`; padding
//! to `general.alignment` (default 32); then the data section. A tensor's offset is
//! relative to the data section and must be a multiple of the alignment. Strings are
//! `u64` length + UTF-8 bytes. `dims[0]` is the innermost (contiguous) dimension, so a
//! ggml tensor with dims `[576, 49152]` is a row-major matrix of 49152 rows × 576.
//!
//! Everything is validated against the file size before use; errors name the file,
//! the key or tensor, and the byte offset.

use crate::dequant::GgmlType;
use anyhow::{Context, Result, bail, ensure};
use std::collections::HashMap;
use std::path::Path;

/// Default data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// The four magic bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";

/// One metadata value (GGUF value types 0..=12).
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<MetadataValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl MetadataValue {
    /// The GGUF type id of this value.
    pub fn type_id(&self) -> u32 {
        match self {
            Self::U8(_) => 0,
            Self::I8(_) => 1,
            Self::U16(_) => 2,
            Self::I16(_) => 3,
            Self::U32(_) => 4,
            Self::I32(_) => 5,
            Self::F32(_) => 6,
            Self::Bool(_) => 7,
            Self::String(_) => 8,
            Self::Array(_) => 9,
            Self::U64(_) => 10,
            Self::I64(_) => 11,
            Self::F64(_) => 12,
        }
    }

    /// Any integer type widened to `u64` (negative values are `None`).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Either float type widened to `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetadataValue]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where one tensor lives in the data section, and its shape and type.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost dimension.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset relative to the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements (product of dims).
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Shape in row-major (outermost first) order, as candle and numpy write it.
    pub fn shape_row_major(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// Bytes occupied in the data section.
    pub fn n_bytes(&self) -> u64 {
        let (block, bytes) = self.ggml_type.block_layout();
        self.n_elements() / block as u64 * bytes as u64
    }
}

/// A parsed GGUF file held in memory.
#[derive(Debug)]
pub struct GgufFile {
    /// Where it was read from (for error messages).
    pub source: String,
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, MetadataValue)>,
    metadata_index: HashMap<String, usize>,
    pub tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    pub alignment: u64,
    bytes: Vec<u8>,
    data_start: usize,
}

/// Cursor over the file bytes that refuses to read past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            bail!(
                "truncated: reading {what} needs {n} bytes at offset {}, file has {}",
                self.pos,
                self.bytes.len()
            );
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self
            .take(N, what)?
            .try_into()
            .expect("take returned N bytes"))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let at = self.pos;
        let len = self.u64(what)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= self.bytes.len())
            .with_context(|| format!("{what} at offset {at}: string length {len} exceeds file"))?;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec())
            .with_context(|| format!("{what} at offset {at}: string is not valid UTF-8"))
    }
    fn value(&mut self, type_id: u32, what: &str, depth: usize) -> Result<MetadataValue> {
        Ok(match type_id {
            0 => MetadataValue::U8(self.array::<1>(what)?[0]),
            1 => MetadataValue::I8(i8::from_le_bytes(self.array(what)?)),
            2 => MetadataValue::U16(u16::from_le_bytes(self.array(what)?)),
            3 => MetadataValue::I16(i16::from_le_bytes(self.array(what)?)),
            4 => MetadataValue::U32(self.u32(what)?),
            5 => MetadataValue::I32(i32::from_le_bytes(self.array(what)?)),
            6 => MetadataValue::F32(f32::from_le_bytes(self.array(what)?)),
            7 => match self.array::<1>(what)?[0] {
                0 => MetadataValue::Bool(false),
                1 => MetadataValue::Bool(true),
                b => bail!("{what}: bool byte is {b}, expected 0 or 1"),
            },
            8 => MetadataValue::String(self.string(what)?),
            9 => {
                ensure!(depth < 4, "{what}: arrays nested deeper than 4 levels");
                let elem = self.u32(what)?;
                let n = self.u64(what)?;
                // Every element takes at least one byte: bounds the allocation.
                ensure!(
                    n <= (self.bytes.len() - self.pos) as u64,
                    "{what}: array of {n} elements cannot fit in the rest of the file"
                );
                let mut out = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    out.push(self.value(elem, what, depth + 1)?);
                }
                MetadataValue::Array(out)
            }
            10 => MetadataValue::U64(self.u64(what)?),
            11 => MetadataValue::I64(i64::from_le_bytes(self.array(what)?)),
            12 => MetadataValue::F64(f64::from_le_bytes(self.array(what)?)),
            t => bail!("{what}: unknown metadata value type {t}"),
        })
    }
}

impl GgufFile {
    /// Reads and validates a GGUF file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(bytes, &path.display().to_string())
    }

    /// Parses and validates GGUF bytes; `source` names them in errors.
    pub fn parse(bytes: Vec<u8>, source: &str) -> Result<Self> {
        Self::parse_inner(bytes, source).with_context(|| format!("GGUF file {source}"))
    }

    fn parse_inner(bytes: Vec<u8>, source: &str) -> Result<Self> {
        let mut r = Reader {
            bytes: &bytes,
            pos: 0,
        };
        let magic = r.array::<4>("magic")?;
        ensure!(
            &magic == MAGIC,
            "not a GGUF file: magic is {magic:?}, expected {MAGIC:?}"
        );
        let version = r.u32("version")?;
        ensure!(
            version == 2 || version == 3,
            "unsupported GGUF version {version} (this reader handles 2 and 3)"
        );
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        let len = bytes.len() as u64;
        ensure!(
            n_tensors <= len && n_kv <= len,
            "header claims {n_tensors} tensors and {n_kv} metadata entries: more than the file can hold"
        );

        let mut metadata = Vec::with_capacity(n_kv as usize);
        let mut metadata_index = HashMap::new();
        for i in 0..n_kv {
            let key = r.string(&format!("metadata key #{i}"))?;
            let type_id = r.u32(&format!("metadata type of '{key}'"))?;
            let value = r.value(type_id, &format!("metadata '{key}'"), 0)?;
            ensure!(
                metadata_index.insert(key.clone(), metadata.len()).is_none(),
                "metadata key '{key}' appears twice"
            );
            metadata.push((key, value));
        }

        let alignment = match metadata_index.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(&i) => {
                let a = metadata[i].1.as_u64().filter(|a| a.is_power_of_two());
                a.context("metadata 'general.alignment' must be a power-of-two integer")?
            }
        };

        let mut tensors = Vec::with_capacity(n_tensors as usize);
        let mut tensor_index = HashMap::new();
        for i in 0..n_tensors {
            let name = r.string(&format!("tensor name #{i}"))?;
            let what = format!("tensor '{name}'");
            let n_dims = r.u32(&what)?;
            ensure!(
                (1..=4).contains(&n_dims),
                "{what}: {n_dims} dimensions (1 to 4 allowed)"
            );
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64(&what)?);
            }
            let type_id = r.u32(&what)?;
            let ggml_type = GgmlType::from_id(type_id).with_context(|| what.clone())?;
            let offset = r.u64(&what)?;
            let info = TensorInfo {
                name: name.clone(),
                dims,
                ggml_type,
                offset,
            };
            ensure!(
                info.dims.iter().all(|&d| d > 0),
                "{what}: zero-sized dimension in {:?}",
                info.dims
            );
            ensure!(
                info.dims
                    .iter()
                    .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                    .is_some_and(|n| n <= len * 2),
                "{what}: dims {:?} overflow or exceed the file size",
                info.dims
            );
            let (block, _) = ggml_type.block_layout();
            ensure!(
                info.dims[0].is_multiple_of(block as u64),
                "{what}: innermost dimension {} is not a multiple of the {ggml_type:?} block size {block}",
                info.dims[0]
            );
            ensure!(
                offset.is_multiple_of(alignment),
                "{what}: data offset {offset} is not a multiple of the alignment {alignment}"
            );
            ensure!(
                tensor_index.insert(name, tensors.len()).is_none(),
                "{what} appears twice"
            );
            tensors.push(info);
        }

        let data_start = (r.pos as u64).div_ceil(alignment) * alignment;
        ensure!(
            data_start <= len,
            "data section would start at {data_start}, past the end of the file ({len} bytes)"
        );
        let data_len = len - data_start;
        for t in &tensors {
            let end = t.offset.checked_add(t.n_bytes());
            ensure!(
                end.is_some_and(|e| e <= data_len),
                "tensor '{}': bytes {}..{} lie outside the data section ({data_len} bytes)",
                t.name,
                t.offset,
                t.offset.saturating_add(t.n_bytes())
            );
        }

        Ok(Self {
            source: source.to_string(),
            version,
            metadata,
            metadata_index,
            tensors,
            tensor_index,
            alignment,
            bytes,
            data_start: data_start as usize,
        })
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// A required integer metadata value; the error names the file and key.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        let v = self
            .get(key)
            .with_context(|| format!("{}: metadata '{key}' is missing", self.source))?;
        v.as_u64().with_context(|| {
            format!(
                "{}: metadata '{key}' must be a non-negative integer, found {v:?}",
                self.source
            )
        })
    }

    /// A required float metadata value; the error names the file and key.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        let v = self
            .get(key)
            .with_context(|| format!("{}: metadata '{key}' is missing", self.source))?;
        v.as_f64().with_context(|| {
            format!(
                "{}: metadata '{key}' must be a float, found {v:?}",
                self.source
            )
        })
    }

    /// A required string metadata value; the error names the file and key.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        let v = self
            .get(key)
            .with_context(|| format!("{}: metadata '{key}' is missing", self.source))?;
        v.as_str()
            .with_context(|| format!("{}: metadata '{key}' must be a string", self.source))
    }

    /// A required array of strings; the error names the file, key and element.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        let v = self
            .get(key)
            .with_context(|| format!("{}: metadata '{key}' is missing", self.source))?;
        let arr = v
            .as_array()
            .with_context(|| format!("{}: metadata '{key}' must be an array", self.source))?;
        arr.iter()
            .enumerate()
            .map(|(i, e)| {
                e.as_str().with_context(|| {
                    format!("{}: metadata '{key}'[{i}] must be a string", self.source)
                })
            })
            .collect()
    }

    /// A tensor's info by name.
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo> {
        let i = self
            .tensor_index
            .get(name)
            .with_context(|| format!("{}: tensor '{name}' is missing", self.source))?;
        Ok(&self.tensors[*i])
    }

    /// The raw (possibly quantized) bytes of a tensor.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> &[u8] {
        let start = self.data_start + info.offset as usize;
        &self.bytes[start..start + info.n_bytes() as usize]
    }

    /// A tensor dequantized to f32, row-major `[dims[n-1], …, dims[0]]`.
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>> {
        let info = self.tensor(name)?;
        crate::dequant::dequantize(
            info.ggml_type,
            self.tensor_bytes(info),
            info.n_elements() as usize,
        )
        .with_context(|| format!("{}: tensor '{name}'", self.source))
    }

    /// A tensor dequantized to f32 with its row-major shape checked against `expected`.
    pub fn dequantize_shaped(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        self.check_shape(name, expected)?;
        self.dequantize(name)
    }

    /// A tensor dequantized (by candle) to a CPU f32 tensor of row-major shape
    /// `expected`, which must be the tensor's shape.
    pub fn dequantize_tensor(&self, name: &str, expected: &[usize]) -> Result<candle_core::Tensor> {
        let info = self.check_shape(name, expected)?;
        crate::dequant::dequantize_tensor(info.ggml_type, self.tensor_bytes(info), expected)
            .with_context(|| format!("{}: tensor '{name}'", self.source))
    }

    fn check_shape(&self, name: &str, expected: &[usize]) -> Result<&TensorInfo> {
        let info = self.tensor(name)?;
        let shape = info.shape_row_major();
        ensure!(
            shape == expected,
            "{}: tensor '{name}' has shape {shape:?} (row-major), expected {expected:?}",
            self.source
        );
        Ok(info)
    }
}
