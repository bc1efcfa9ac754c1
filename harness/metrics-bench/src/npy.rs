//! Minimal `.npy` (NumPy format 1.0) writer for little-endian `f32`, `u32`
//! and `u64` arrays in C order, enough for `numpy.load`.

use anyhow::Result;
use std::path::Path;

/// An element type `.npy` can name.
pub trait NpyElement: Copy {
    /// The NumPy dtype string, e.g. `<f4`.
    const DESCR: &'static str;
    fn write_le(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl NpyElement for u32 {
    const DESCR: &'static str = "<u4";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
impl NpyElement for u64 {
    const DESCR: &'static str = "<u8";
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The header of a format-1.0 file, padded so the data starts at a multiple
/// of 64 bytes.
fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes `data` with `shape` (product must equal `data.len()`) to `path`.
pub fn write<T: NpyElement>(path: &Path, shape: &[usize], data: &[T]) -> Result<()> {
    anyhow::ensure!(
        shape.iter().product::<usize>() == data.len(),
        "npy {}: shape {shape:?} does not match {} values",
        path.display(),
        data.len()
    );
    let mut bytes = header(T::DESCR, shape);
    bytes.reserve(std::mem::size_of_val(data));
    for &x in data {
        x.write_le(&mut bytes);
    }
    Ok(rdpbench_store::write_atomic(path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_names_dtype_and_shape() {
        let h = header("<f4", &[3, 2]);
        assert_eq!(h.len() % 64, 0);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(
            text.contains("'descr': '<f4'") && text.contains("'shape': (3, 2)"),
            "{text}"
        );
        assert!(String::from_utf8_lossy(&header("<u8", &[5])).contains("(5,)"));
        assert_eq!(h[h.len() - 1], b'\n');
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let dir = std::env::temp_dir().join("rdpbench-npy-test.npy");
        let err = write(&dir, &[2, 2], &[1.0f32; 3]).unwrap_err();
        assert!(err.to_string().contains("[2, 2]"), "{err}");
    }
}
