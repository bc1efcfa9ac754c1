//! The framing of the Python-metric interchange, protocol version 1
//! (specified in docs/python-metrics.md).
//!
//! A frame is one line of JSON (the header, UTF-8, `\n`-terminated; JSON
//! escapes every newline inside it) followed by the raw bytes of the buffers
//! its `buffers` array lists, in that order, back to back, each little-endian
//! and row-major. A buffer entry is `{"name", "dtype", "shape"}`; its length
//! is `product(shape) × width(dtype)`.

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{BufRead, Write};

/// The protocol's name in the worker's `hello`.
pub const PROTOCOL: &str = "rdpbench-py";
/// The protocol version this host speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The element types a buffer may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    F32,
    F64,
    U32,
    U64,
    I64,
    U8,
}

impl Dtype {
    pub fn width(self) -> usize {
        match self {
            Dtype::F64 | Dtype::U64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::U32 => 4,
            Dtype::U8 => 1,
        }
    }
}

/// One buffer's entry in a header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferSpec {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
}

impl BufferSpec {
    /// The buffer's length in bytes, or an error for a size that overflows.
    pub fn byte_len(&self) -> Result<usize> {
        self.shape
            .iter()
            .try_fold(self.dtype.width() as u64, |n, &d| n.checked_mul(d))
            .and_then(|n| usize::try_from(n).ok())
            .with_context(|| {
                format!(
                    "buffer `{}` of shape {:?} is too large",
                    self.name, self.shape
                )
            })
    }
}

/// A frame as read: its header and its buffers' bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub header: serde_json::Value,
    pub buffers: Vec<(BufferSpec, Vec<u8>)>,
}

impl Frame {
    /// The header's `type` member.
    pub fn kind(&self) -> &str {
        self.header
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("")
    }

    /// The header's string member `key`, or "".
    pub fn text(&self, key: &str) -> &str {
        self.header.get(key).and_then(|t| t.as_str()).unwrap_or("")
    }

    /// Buffer `name` as `f64`s, checked to hold `len` of them.
    pub fn f64s(&self, name: &str, len: usize) -> Result<Option<Vec<f64>>> {
        let Some((spec, bytes)) = self.buffers.iter().find(|(s, _)| s.name == name) else {
            return Ok(None);
        };
        ensure!(
            spec.dtype == Dtype::F64 && bytes.len() == len * 8,
            "buffer `{name}` is {:?} of shape {:?}; expected f64 of shape [{len}]",
            spec.dtype,
            spec.shape
        );
        Ok(Some(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ))
    }
}

/// A frame being built for writing: its buffers borrow the caller's data
/// (on little-endian targets without a copy).
#[derive(Debug, Default)]
pub struct FrameWriter<'a> {
    specs: Vec<BufferSpec>,
    chunks: Vec<Cow<'a, [u8]>>,
}

/// `data` as little-endian bytes: borrowed where the target is little-endian.
fn le_bytes<'a, T: bytemuck::Pod, const N: usize>(
    data: &'a [T],
    to_le: impl Fn(&T) -> [u8; N],
) -> Cow<'a, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(data))
    } else {
        Cow::Owned(data.iter().flat_map(to_le).collect())
    }
}

impl<'a> FrameWriter<'a> {
    pub fn f32s(&mut self, name: &str, shape: &[usize], data: &'a [f32]) {
        self.push(name, Dtype::F32, shape, le_bytes(data, |x| x.to_le_bytes()));
    }

    /// A 1-D `f32` buffer the frame owns.
    pub fn f32s_owned(&mut self, name: &str, data: Vec<f32>) {
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.push(name, Dtype::F32, &[data.len()], Cow::Owned(bytes));
    }

    pub fn u32s(&mut self, name: &str, data: &'a [u32]) {
        self.push(
            name,
            Dtype::U32,
            &[data.len()],
            le_bytes(data, |x| x.to_le_bytes()),
        );
    }

    pub fn u64s(&mut self, name: &str, data: &'a [u64]) {
        self.push(
            name,
            Dtype::U64,
            &[data.len()],
            le_bytes(data, |x| x.to_le_bytes()),
        );
    }

    fn push(&mut self, name: &str, dtype: Dtype, shape: &[usize], bytes: Cow<'a, [u8]>) {
        self.specs.push(BufferSpec {
            name: name.to_string(),
            dtype,
            shape: shape.iter().map(|&d| d as u64).collect(),
        });
        self.chunks.push(bytes);
    }

    /// Writes the frame: `header` (a JSON object) with `buffers` added, then
    /// the bytes; flushes.
    pub fn write(self, mut header: serde_json::Value, out: &mut impl Write) -> Result<()> {
        let obj = header
            .as_object_mut()
            .context("a frame header must be a JSON object")?;
        obj.insert("buffers".into(), serde_json::to_value(&self.specs)?);
        let mut line = serde_json::to_vec(&header)?;
        line.push(b'\n');
        out.write_all(&line)?;
        for chunk in &self.chunks {
            out.write_all(chunk)?;
        }
        out.flush()?;
        Ok(())
    }
}

/// Reads one frame; `None` at a clean end of the stream (before a header).
pub fn read_frame(input: &mut impl BufRead) -> Result<Option<Frame>> {
    let mut line = Vec::new();
    if input.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        bail!(
            "the stream ended inside a frame header ({} bytes read)",
            line.len()
        );
    }
    let header: serde_json::Value = serde_json::from_slice(&line).with_context(|| {
        format!(
            "a frame header is not JSON: {:?}",
            String::from_utf8_lossy(&line[..line.len().min(200)])
        )
    })?;
    let specs: Vec<BufferSpec> = match header.get("buffers") {
        None => Vec::new(),
        Some(b) => serde_json::from_value(b.clone()).context("a frame's `buffers` is malformed")?,
    };
    let mut buffers = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut bytes = vec![0u8; spec.byte_len()?];
        input
            .read_exact(&mut bytes)
            .with_context(|| format!("the stream ended inside buffer `{}`", spec.name))?;
        buffers.push((spec, bytes));
    }
    Ok(Some(Frame { header, buffers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_with_its_buffers_in_order() {
        let mut w = FrameWriter::default();
        w.f32s("m", &[2, 2], &[1.0, -2.5, 3.0, 0.0]);
        w.u64s("p", &[0, 1, 3]);
        let mut bytes = Vec::new();
        w.write(serde_json::json!({"type": "compute", "n": 2}), &mut bytes)
            .unwrap();
        // 4 f32 + 3 u64 after the header line.
        let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
        assert_eq!(bytes.len() - newline - 1, 16 + 24);
        let f = read_frame(&mut bytes.as_slice()).unwrap().unwrap();
        assert_eq!(f.kind(), "compute");
        assert_eq!(f.buffers[0].0.shape, vec![2, 2]);
        assert_eq!(&f.buffers[0].1[4..8], &(-2.5f32).to_le_bytes());
        assert_eq!(&f.buffers[1].1[16..24], &3u64.to_le_bytes());
        assert!(read_frame(&mut &bytes[bytes.len()..]).unwrap().is_none());
    }

    #[test]
    fn truncated_frames_are_errors_naming_the_buffer() {
        let mut w = FrameWriter::default();
        w.f32s("per_latent", &[3], &[1.0, 2.0, 3.0]);
        let mut bytes = Vec::new();
        w.write(serde_json::json!({"type": "value"}), &mut bytes)
            .unwrap();
        let cut = &bytes[..bytes.len() - 2];
        let e = read_frame(&mut &cut[..]).unwrap_err();
        assert!(format!("{e:#}").contains("per_latent"), "{e:#}");
        let e = read_frame(&mut &b"{\"type\":"[..]).unwrap_err();
        assert!(e.to_string().contains("inside a frame header"), "{e}");
    }

    #[test]
    fn f64_buffers_decode_and_check_their_length() {
        let header = serde_json::json!({"type": "value"});
        let mut bytes = Vec::new();
        for x in [0.5f64, f64::NAN] {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        let spec = BufferSpec {
            name: "per_latent".into(),
            dtype: Dtype::F64,
            shape: vec![2],
        };
        let f = Frame {
            header,
            buffers: vec![(spec, bytes)],
        };
        let v = f.f64s("per_latent", 2).unwrap().unwrap();
        assert_eq!(v[0], 0.5);
        assert!(v[1].is_nan());
        assert!(f.f64s("per_latent", 3).is_err());
        assert!(f.f64s("other", 2).unwrap().is_none());
    }
}
