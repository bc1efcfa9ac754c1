//! Row-streamed reading of one tensor from a `.safetensors` or `.npy` file,
//! without loading the file: the header gives the data offset, rows are
//! read with seeks and converted to `f32` (floats) or `i64` (integers).
//!
//! Formats (little-endian only; errors name the file):
//! - `.safetensors`: `u64` header length, JSON header
//!   `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": …}`,
//!   then the data; the tensor is `key`, or the only one when `key` is `None`.
//! - `.npy` (format 1.0-3.0): magic `\x93NUMPY`, version, header length
//!   (`u16` for 1.x, `u32` after), a Python dict literal
//!   `{'descr': '<f4', 'fortran_order': False, 'shape': (N, d), }`, then the
//!   data in C order.

use anyhow::{Context, Result, bail, ensure};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    F16,
    Bf16,
    I64,
    I32,
    I16,
    I8,
    U8,
}

impl Dtype {
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::Bf16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
            Dtype::F16 => "f16",
            Dtype::Bf16 => "bf16",
            Dtype::I64 => "i64",
            Dtype::I32 => "i32",
            Dtype::I16 => "i16",
            Dtype::I8 => "i8",
            Dtype::U8 => "u8",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::Bf16)
    }
}

/// One tensor in a file, open for row reads.
#[derive(Debug)]
pub struct TensorFile {
    pub path: PathBuf,
    /// `safetensors` or `npy`.
    pub format: &'static str,
    /// The safetensors key read (empty for `.npy`).
    pub key: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    file: File,
    data_offset: u64,
}

fn safetensors_dtype(s: &str) -> Option<Dtype> {
    Some(match s {
        "F32" => Dtype::F32,
        "F64" => Dtype::F64,
        "F16" => Dtype::F16,
        "BF16" => Dtype::Bf16,
        "I64" => Dtype::I64,
        "I32" => Dtype::I32,
        "I16" => Dtype::I16,
        "I8" => Dtype::I8,
        "U8" => Dtype::U8,
        _ => return None,
    })
}

fn npy_dtype(descr: &str) -> Option<Dtype> {
    Some(match descr {
        "<f4" => Dtype::F32,
        "<f8" => Dtype::F64,
        "<f2" => Dtype::F16,
        "<i8" => Dtype::I64,
        "<i4" => Dtype::I32,
        "<i2" => Dtype::I16,
        "|i1" => Dtype::I8,
        "|u1" => Dtype::U8,
        _ => return None,
    })
}

/// The value of `'key': value` in a `.npy` header dict (up to the next
/// top-level comma or the closing brace).
fn npy_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(inner) = rest.strip_prefix('(') {
        return Some(&inner[..inner.find(')')?]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

impl TensorFile {
    /// Opens `path` (by extension) and reads the header of tensor `key`.
    pub fn open(path: &Path, key: Option<&str>) -> Result<Self> {
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let file_len = file.metadata()?.len();
        let (format, key, dtype, shape, data_offset) = match ext {
            "safetensors" => {
                let mut len = [0u8; 8];
                file.read_exact(&mut len)
                    .with_context(|| format!("{} is not a safetensors file", path.display()))?;
                let n = u64::from_le_bytes(len);
                ensure!(
                    n < 100_000_000 && 8 + n <= file_len,
                    "{} is not a safetensors file (header length {n})",
                    path.display()
                );
                let mut header = vec![0u8; n as usize];
                file.read_exact(&mut header)?;
                let header: serde_json::Value =
                    serde_json::from_slice(&header).with_context(|| {
                        format!("{}: the safetensors header is not JSON", path.display())
                    })?;
                let obj = header
                    .as_object()
                    .with_context(|| format!("{}: bad safetensors header", path.display()))?;
                let names: Vec<&String> = obj
                    .keys()
                    .filter(|k| k.as_str() != "__metadata__")
                    .collect();
                let key = match key {
                    Some(k) => k.to_string(),
                    None => match names.as_slice() {
                        [one] => one.to_string(),
                        _ => bail!(
                            "{} holds {} tensors ({names:?}); name the one to read with --key",
                            path.display(),
                            names.len()
                        ),
                    },
                };
                let t = obj.get(&key).with_context(|| {
                    format!("{}: no tensor `{key}` (it has {names:?})", path.display())
                })?;
                let dt = t["dtype"].as_str().unwrap_or("");
                let dtype = safetensors_dtype(dt).with_context(|| {
                    format!(
                        "{}: tensor `{key}` has dtype {dt}, which rdpbench does not read",
                        path.display()
                    )
                })?;
                let shape: Vec<usize> = t["shape"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_u64().map(|v| v as usize))
                            .collect()
                    })
                    .unwrap_or_default();
                let begin = t["data_offsets"][0].as_u64().with_context(|| {
                    format!("{}: tensor `{key}` has no data_offsets", path.display())
                })?;
                let end = t["data_offsets"][1].as_u64().unwrap_or(0);
                let expect = shape.iter().product::<usize>() * dtype.size();
                ensure!(
                    end - begin == expect as u64 && 8 + n + end <= file_len,
                    "{}: tensor `{key}` holds {} bytes for shape {shape:?} of {} (expected {expect})",
                    path.display(),
                    end.saturating_sub(begin),
                    dtype.name()
                );
                ("safetensors", key, dtype, shape, 8 + n + begin)
            }
            "npy" => {
                ensure!(
                    key.is_none(),
                    "{}: --key applies to .safetensors files only",
                    path.display()
                );
                let mut magic = [0u8; 8];
                file.read_exact(&mut magic)
                    .with_context(|| format!("{} is not a .npy file", path.display()))?;
                ensure!(
                    &magic[..6] == b"\x93NUMPY",
                    "{} is not a .npy file",
                    path.display()
                );
                let (hlen, pre) = if magic[6] == 1 {
                    let mut b = [0u8; 2];
                    file.read_exact(&mut b)?;
                    (u16::from_le_bytes(b) as usize, 10)
                } else {
                    let mut b = [0u8; 4];
                    file.read_exact(&mut b)?;
                    (u32::from_le_bytes(b) as usize, 12)
                };
                let mut header = vec![0u8; hlen];
                file.read_exact(&mut header)?;
                let header = String::from_utf8_lossy(&header).to_string();
                let descr = npy_field(&header, "descr")
                    .map(|d| d.trim_matches(|c| c == '\'' || c == '"'))
                    .with_context(|| format!("{}: .npy header has no descr", path.display()))?;
                let dtype = npy_dtype(descr).with_context(|| {
                    format!(
                        "{}: dtype {descr} is not one rdpbench reads (<f4, <f2, <f8, integers)",
                        path.display()
                    )
                })?;
                ensure!(
                    npy_field(&header, "fortran_order") == Some("False"),
                    "{}: Fortran-ordered arrays are not read; save it in C order",
                    path.display()
                );
                let shape: Vec<usize> = npy_field(&header, "shape")
                    .with_context(|| format!("{}: .npy header has no shape", path.display()))?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<usize>())
                    .collect::<std::result::Result<_, _>>()
                    .with_context(|| format!("{}: bad .npy shape", path.display()))?;
                let offset = (pre + hlen) as u64;
                let bytes = shape.iter().product::<usize>() * dtype.size();
                ensure!(
                    offset + bytes as u64 <= file_len,
                    "{}: the file is shorter than shape {shape:?} of {} needs",
                    path.display(),
                    dtype.name()
                );
                ("npy", String::new(), dtype, shape, offset)
            }
            other => bail!(
                "{}: unknown extension `{other}`; activations and labels are read from .safetensors or .npy",
                path.display()
            ),
        };
        Ok(Self {
            path: path.to_path_buf(),
            format,
            key,
            dtype,
            shape,
            file,
            data_offset,
        })
    }

    /// Elements per row (the product of all dimensions after the first).
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    fn read_bytes(&mut self, start_row: usize, rows: usize) -> Result<Vec<u8>> {
        let row_bytes = self.row_len() * self.dtype.size();
        let mut buf = vec![0u8; rows * row_bytes];
        self.file.seek(SeekFrom::Start(
            self.data_offset + (start_row * row_bytes) as u64,
        ))?;
        self.file.read_exact(&mut buf).with_context(|| {
            format!(
                "{}: cannot read rows {start_row}..{}",
                self.path.display(),
                start_row + rows
            )
        })?;
        Ok(buf)
    }

    /// Rows `start_row..start_row + rows` as `f32` (a float tensor).
    pub fn read_f32(&mut self, start_row: usize, rows: usize) -> Result<Vec<f32>> {
        ensure!(
            self.dtype.is_float(),
            "{}: {} is not a float dtype",
            self.path.display(),
            self.dtype.name()
        );
        let b = self.read_bytes(start_row, rows)?;
        Ok(match self.dtype {
            Dtype::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F64 => b
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
            Dtype::F16 => b
                .chunks_exact(2)
                .map(|c| {
                    rdpbench_plugin_host::saelens::f16_to_f32(u16::from_le_bytes([c[0], c[1]]))
                })
                .collect(),
            Dtype::Bf16 => b
                .chunks_exact(2)
                .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
                .collect(),
            _ => unreachable!("checked float"),
        })
    }

    /// Rows `start_row..start_row + rows` as `i64` (an integer tensor).
    pub fn read_i64(&mut self, start_row: usize, rows: usize) -> Result<Vec<i64>> {
        ensure!(
            !self.dtype.is_float(),
            "{}: {} is not an integer dtype",
            self.path.display(),
            self.dtype.name()
        );
        let b = self.read_bytes(start_row, rows)?;
        Ok(match self.dtype {
            Dtype::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
                .collect(),
            Dtype::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4")) as i64)
                .collect(),
            Dtype::I16 => b
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            Dtype::I8 => b.iter().map(|&v| v as i8 as i64).collect(),
            Dtype::U8 => b.iter().map(|&v| v as i64).collect(),
            _ => unreachable!("checked integer"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rdpbench-tensor-file-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn npy_f16_and_i32_rows_read_back() {
        // Hand-written .npy 1.0: shape (3, 2) of <f2 values 1, -2, 0.5, 0, 3, 1.
        let header = "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let pad = 64 - (10 + header.len() + 1) % 64;
        let h = format!("{header}{}\n", " ".repeat(pad));
        bytes.extend((h.len() as u16).to_le_bytes());
        bytes.extend(h.as_bytes());
        for v in [0x3c00u16, 0xc000, 0x3800, 0x0000, 0x4200, 0x3c00] {
            bytes.extend(v.to_le_bytes());
        }
        let p = scratch("a.npy");
        std::fs::write(&p, &bytes).unwrap();
        let mut t = TensorFile::open(&p, None).unwrap();
        assert_eq!((t.dtype, t.shape.clone()), (Dtype::F16, vec![3, 2]));
        assert_eq!(t.read_f32(1, 2).unwrap(), vec![0.5, 0.0, 3.0, 1.0]);
        // A 1-D integer array.
        let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16 + 1).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.push(b'\n');
        for v in [2i32, -1, 7] {
            bytes.extend(v.to_le_bytes());
        }
        let p = scratch("l.npy");
        std::fs::write(&p, &bytes).unwrap();
        let mut t = TensorFile::open(&p, None).unwrap();
        assert_eq!(t.shape, vec![3]);
        assert_eq!(t.read_i64(0, 3).unwrap(), vec![2, -1, 7]);
        assert!(
            t.read_f32(0, 1)
                .unwrap_err()
                .to_string()
                .contains("not a float")
        );
    }

    #[test]
    fn safetensors_bf16_by_key_and_the_only_tensor() {
        // Header {"x": BF16 [2, 2] at 0..8, "y": F32 [1] at 8..12}.
        let header = r#"{"x":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        for v in [1.0f32, -2.0, 0.5, 4.0] {
            bytes.extend(((v.to_bits() >> 16) as u16).to_le_bytes());
        }
        bytes.extend(7.0f32.to_le_bytes());
        let p = scratch("a.safetensors");
        std::fs::write(&p, &bytes).unwrap();
        let e = TensorFile::open(&p, None).unwrap_err().to_string();
        assert!(e.contains("holds 2 tensors") && e.contains("--key"), "{e}");
        let mut t = TensorFile::open(&p, Some("x")).unwrap();
        assert_eq!(t.read_f32(0, 2).unwrap(), vec![1.0, -2.0, 0.5, 4.0]);
        let e = TensorFile::open(&p, Some("z")).unwrap_err().to_string();
        assert!(e.contains("no tensor `z`"), "{e}");
    }
}
