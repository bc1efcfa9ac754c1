//! Plain data that crosses between the host and plugins: dense row-major `f32`
//! matrices and CSR sparse matrices, as owned values and as borrowed views.
//!
//! Shapes used throughout rdpbench:
//! - activations `x`: `[n_tokens, d_in]`
//! - decoder `W_dec`: `[d_sae, d_in]` (row `j` is latent `j`'s direction)
//! - encoder `W_enc`: `[d_in, d_sae]` (SAELens orientation)
//! - codes: CSR `[n_tokens, d_sae]`
//! - concept labels: CSR `[n_tokens, n_concepts]`, value = 1.0 where present

use anyhow::{Result, bail, ensure};

/// Borrowed dense row-major matrix `[rows, cols]`.
#[derive(Debug, Clone, Copy)]
pub struct MatrixView<'a> {
    pub rows: usize,
    pub cols: usize,
    pub data: &'a [f32],
}

impl<'a> MatrixView<'a> {
    /// Checks `data.len() == rows * cols`.
    pub fn new(rows: usize, cols: usize, data: &'a [f32]) -> Result<Self> {
        ensure!(
            rows.checked_mul(cols) == Some(data.len()),
            "matrix shape [{rows}, {cols}] does not match {} values",
            data.len()
        );
        Ok(Self { rows, cols, data })
    }

    /// Row `i` as a slice of length `cols`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Element `(i, j)`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.cols + j]
    }

    pub fn to_owned(&self) -> DenseMatrix {
        DenseMatrix {
            rows: self.rows,
            cols: self.cols,
            data: self.data.to_vec(),
        }
    }
}

/// Owned dense row-major matrix `[rows, cols]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseMatrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl DenseMatrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Checks `data.len() == rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        MatrixView::new(rows, cols, &data)?;
        Ok(Self { rows, cols, data })
    }

    pub fn view(&self) -> MatrixView<'_> {
        MatrixView {
            rows: self.rows,
            cols: self.cols,
            data: &self.data,
        }
    }

    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    #[inline]
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The transpose `[cols, rows]`.
    pub fn transpose(&self) -> DenseMatrix {
        let mut out = DenseMatrix::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        out
    }
}

/// Borrowed CSR matrix `[n_rows, n_cols]`: row `i` holds the entries
/// `indices[indptr[i]..indptr[i+1]]` with `values[...]` at the same positions.
/// `values` is empty for a pattern-only matrix (every stored entry is 1.0).
#[derive(Debug, Clone, Copy)]
pub struct CsrView<'a> {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: &'a [u64],
    pub indices: &'a [u32],
    pub values: &'a [f32],
}

impl<'a> CsrView<'a> {
    /// Validates the structure: `indptr` has `n_rows + 1` non-decreasing entries
    /// starting at 0 and ending at `nnz`; every index is `< n_cols`; indices
    /// are strictly increasing within a row; `values` is empty or has `nnz` entries.
    pub fn new(
        n_rows: usize,
        n_cols: usize,
        indptr: &'a [u64],
        indices: &'a [u32],
        values: &'a [f32],
    ) -> Result<Self> {
        let view = Self {
            n_rows,
            n_cols,
            indptr,
            indices,
            values,
        };
        view.validate()?;
        Ok(view)
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            self.indptr.len() == self.n_rows + 1,
            "CSR indptr has {} entries, expected n_rows + 1 = {}",
            self.indptr.len(),
            self.n_rows + 1
        );
        ensure!(self.indptr[0] == 0, "CSR indptr[0] must be 0");
        let nnz = self.indices.len();
        ensure!(
            self.indptr[self.n_rows] as usize == nnz,
            "CSR indptr ends at {} but there are {nnz} indices",
            self.indptr[self.n_rows]
        );
        ensure!(
            self.values.is_empty() || self.values.len() == nnz,
            "CSR has {} values for {nnz} indices",
            self.values.len()
        );
        for i in 0..self.n_rows {
            let (a, b) = (self.indptr[i], self.indptr[i + 1]);
            if a > b {
                bail!("CSR indptr decreases at row {i}");
            }
            let row = &self.indices[a as usize..b as usize];
            for (k, &c) in row.iter().enumerate() {
                if c as usize >= self.n_cols {
                    bail!("CSR row {i} has column {c} >= n_cols {}", self.n_cols);
                }
                if k > 0 && row[k - 1] >= c {
                    bail!("CSR row {i} columns are not strictly increasing");
                }
            }
        }
        Ok(())
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Whether the matrix stores only a pattern (all values 1.0).
    pub fn is_pattern(&self) -> bool {
        self.values.is_empty() && !self.indices.is_empty()
    }

    /// Column indices of row `i`.
    #[inline]
    pub fn row_indices(&self, i: usize) -> &'a [u32] {
        &self.indices[self.indptr[i] as usize..self.indptr[i + 1] as usize]
    }

    /// Values of row `i` (all 1.0 for a pattern matrix, returned as `None`).
    #[inline]
    pub fn row_values(&self, i: usize) -> Option<&'a [f32]> {
        if self.values.is_empty() {
            None
        } else {
            Some(&self.values[self.indptr[i] as usize..self.indptr[i + 1] as usize])
        }
    }

    /// Iterates `(column, value)` over row `i`.
    pub fn row_iter(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + 'a {
        let idx = self.row_indices(i);
        let vals = self.row_values(i);
        idx.iter()
            .enumerate()
            .map(move |(k, &c)| (c as usize, vals.map_or(1.0, |v| v[k])))
    }

    pub fn to_owned(&self) -> CsrMatrix {
        CsrMatrix {
            n_rows: self.n_rows,
            n_cols: self.n_cols,
            indptr: self.indptr.to_vec(),
            indices: self.indices.to_vec(),
            values: self.values.to_vec(),
        }
    }
}

/// Owned CSR matrix; see [`CsrView`].
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: Vec<u64>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl CsrMatrix {
    /// An empty matrix with `n_cols` columns, to be filled with [`CsrMatrix::push_row`].
    pub fn with_cols(n_cols: usize) -> Self {
        Self {
            n_rows: 0,
            n_cols,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Appends a row from `(column, value)` pairs sorted by column; zero
    /// values are skipped so that the stored pattern is the support.
    pub fn push_row(&mut self, entries: impl IntoIterator<Item = (u32, f32)>) {
        for (c, v) in entries {
            debug_assert!((c as usize) < self.n_cols);
            if v != 0.0 {
                self.indices.push(c);
                self.values.push(v);
            }
        }
        self.indptr.push(self.indices.len() as u64);
        self.n_rows += 1;
    }

    /// Builds and validates a matrix from its parts.
    pub fn from_parts(
        n_rows: usize,
        n_cols: usize,
        indptr: Vec<u64>,
        indices: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Self> {
        CsrView::new(n_rows, n_cols, &indptr, &indices, &values)?;
        Ok(Self {
            n_rows,
            n_cols,
            indptr,
            indices,
            values,
        })
    }

    /// Dense `[n_rows, n_cols]` to CSR, dropping zeros.
    pub fn from_dense(m: &MatrixView<'_>) -> Self {
        let mut out = Self::with_cols(m.cols);
        for i in 0..m.rows {
            out.push_row(m.row(i).iter().enumerate().map(|(j, &v)| (j as u32, v)));
        }
        out
    }

    pub fn view(&self) -> CsrView<'_> {
        CsrView {
            n_rows: self.n_rows,
            n_cols: self.n_cols,
            indptr: &self.indptr,
            indices: &self.indices,
            values: &self.values,
        }
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Dense copy `[n_rows, n_cols]`.
    pub fn to_dense(&self) -> DenseMatrix {
        let mut out = DenseMatrix::zeros(self.n_rows, self.n_cols);
        let v = self.view();
        for i in 0..self.n_rows {
            for (c, x) in v.row_iter(i) {
                out.data[i * self.n_cols + c] = x;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_round_trips_dense_and_drops_zeros() {
        let d = DenseMatrix::from_vec(2, 3, vec![0.0, 2.0, 0.0, 1.0, 0.0, 3.0]).unwrap();
        let c = CsrMatrix::from_dense(&d.view());
        assert_eq!(c.indptr, vec![0, 1, 3]);
        assert_eq!(c.indices, vec![1, 0, 2]);
        assert_eq!(c.values, vec![2.0, 1.0, 3.0]);
        assert_eq!(c.to_dense(), d);
    }

    #[test]
    fn csr_validation_names_the_problem() {
        let err = CsrView::new(2, 3, &[0, 1], &[0], &[]).unwrap_err();
        assert!(err.to_string().contains("n_rows + 1"), "{err}");
        let err = CsrView::new(1, 3, &[0, 1], &[5], &[]).unwrap_err();
        assert!(err.to_string().contains("column 5"), "{err}");
        let err = CsrView::new(1, 3, &[0, 2], &[1, 1], &[]).unwrap_err();
        assert!(err.to_string().contains("strictly increasing"), "{err}");
        let err = MatrixView::new(2, 2, &[1.0; 3]).unwrap_err();
        assert!(err.to_string().contains("[2, 2]"), "{err}");
    }

    #[test]
    fn transpose_is_an_involution() {
        let d = DenseMatrix::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(d.transpose().row(0), &[1.0, 4.0]);
        assert_eq!(d.transpose().transpose(), d);
    }
}
