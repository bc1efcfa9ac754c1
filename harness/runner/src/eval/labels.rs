//! Per-token labels of `rdpbench eval --labels`.
//!
//! Format: a 1-D integer tensor `[N]` (`.npy`, or `.safetensors` with one
//! tensor), one class id per token, aligned with the activations' rows; `−1`
//! marks a token without a label. Label-based metrics read them as one-hot
//! rows `[N, n_labels]`, `n_labels = max id + 1` (the shape the toy's
//! concept labels and `rdpbench real`'s POS labels have).

use super::tensor_file::TensorFile;
use anyhow::{Result, bail, ensure};
use rdpbench_sdk::CsrMatrix;
use std::path::Path;

/// The first `keep` rows of the labels in `path`, which must hold
/// `n_tokens` of them; one-hot CSR.
pub fn read_labels(path: &Path, n_tokens: usize, keep: usize) -> Result<CsrMatrix> {
    let mut t = TensorFile::open(path, None)?;
    ensure!(
        t.shape.len() == 1 && !t.dtype.is_float(),
        "{}: labels must be a 1-D integer tensor [N]; found {} of shape {:?}",
        path.display(),
        t.dtype.name(),
        t.shape
    );
    ensure!(
        t.shape[0] == n_tokens,
        "{}: {} labels for {n_tokens} activation rows",
        path.display(),
        t.shape[0]
    );
    let ids = t.read_i64(0, keep)?;
    one_hot(&ids, path)
}

fn one_hot(ids: &[i64], path: &Path) -> Result<CsrMatrix> {
    if let Some(bad) = ids.iter().find(|&&v| v < -1) {
        bail!("{}: label {bad} (ids are ≥ 0, −1 for none)", path.display());
    }
    let n_labels = ids.iter().copied().max().unwrap_or(-1).max(-1) + 1;
    let mut m = CsrMatrix::with_cols(n_labels as usize);
    for &v in ids {
        if v >= 0 {
            m.push_row([(v as u32, 1.0)]);
        } else {
            m.push_row([]);
        }
    }
    Ok(m)
}

/// `rows` empty label rows with no label columns.
pub fn no_labels(rows: usize) -> CsrMatrix {
    let mut m = CsrMatrix::with_cols(0);
    for _ in 0..rows {
        m.push_row([]);
    }
    m
}

/// The first `rows` rows of `m`.
pub fn first_rows(m: &CsrMatrix, rows: usize) -> CsrMatrix {
    let nnz = m.indptr[rows] as usize;
    CsrMatrix {
        n_rows: rows,
        n_cols: m.n_cols,
        indptr: m.indptr[..=rows].to_vec(),
        indices: m.indices[..nnz].to_vec(),
        values: if m.values.is_empty() {
            Vec::new()
        } else {
            m.values[..nnz].to_vec()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_rows_and_missing_labels() {
        let m = one_hot(&[2, -1, 0], Path::new("l.npy")).unwrap();
        assert_eq!((m.n_rows, m.n_cols), (3, 3));
        assert_eq!(m.indptr, vec![0, 1, 1, 2]);
        assert_eq!(m.indices, vec![2, 0]);
        let e = one_hot(&[-3], Path::new("l.npy")).unwrap_err().to_string();
        assert!(e.contains("l.npy") && e.contains("-3"), "{e}");
        let head = first_rows(&m, 2);
        assert_eq!((head.n_rows, head.indices.clone()), (2, vec![2]));
    }
}
