//! [`Planting`]: the map from a toy into the background's space, and the
//! planted datasets and cases it makes.

use anyhow::{Result, ensure};
use rdpbench_sdk::data::{CsrMatrix, DenseMatrix};

use super::background::BackgroundStats;
use super::subspace::SubspaceBasis;
use crate::linalg::{left_mul, to_f64};
use crate::toy::EvalCase;

/// The background's own code, held fixed under the planted part: an SAE
/// trained on the background alone, evaluated on the same background rows.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundCode {
    /// `W_dec: [d_bg, d]`.
    pub decoder: DenseMatrix,
    /// `W_enc: [d, d_bg]`, when the SAE has one.
    pub encoder: Option<DenseMatrix>,
    /// Codes on the background rows, `[n, d_bg]`.
    pub codes: CsrMatrix,
}

/// Toy space `R^m` → background space `R^d`: `u ↦ u B` for directions,
/// `x^toy ↦ s · x^toy B` for the planted signal (module docs of
/// [`crate::planted`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Planting {
    pub subspace: SubspaceBasis,
    /// Planted magnitude of a `c = 1` concept, relative to the background's
    /// mean norm.
    pub magnitude: f64,
    /// `s = magnitude · E‖x_real‖`.
    pub scale: f64,
}

impl Planting {
    /// The planting of `subspace` at `magnitude` × the mean norm of `background`.
    pub fn new(
        subspace: SubspaceBasis,
        magnitude: f64,
        background: &BackgroundStats,
    ) -> Result<Self> {
        ensure!(
            magnitude.is_finite() && magnitude > 0.0,
            "the planted magnitude must be a positive number, not {magnitude}"
        );
        ensure!(
            background.d == subspace.basis.cols,
            "the planting subspace lives in d = {} but the background has d = {}",
            subspace.basis.cols,
            background.d
        );
        Ok(Self {
            scale: magnitude * background.mean_norm,
            subspace,
            magnitude,
        })
    }

    /// The toy dimension `m`.
    pub fn d_toy(&self) -> usize {
        self.subspace.basis.rows
    }

    /// The background dimension `d`.
    pub fn d(&self) -> usize {
        self.subspace.basis.cols
    }

    /// `toy B` for `toy: [r, m]` → `[r, d]` (an isometry on rows).
    pub fn embed(&self, toy: &DenseMatrix) -> Result<DenseMatrix> {
        ensure!(
            toy.cols == self.d_toy(),
            "a [{}, {}] toy matrix cannot be planted into a subspace of dimension {}",
            toy.rows,
            toy.cols,
            self.d_toy()
        );
        Ok(left_mul(&to_f64(&toy.data), toy.rows, &self.subspace.basis))
    }

    /// `x' = background[..r] + s · toy B` for toy rows `toy: [r, m]`.
    pub fn plant_rows(&self, background: &DenseMatrix, toy: &DenseMatrix) -> Result<DenseMatrix> {
        ensure!(
            background.cols == self.d() && background.rows >= toy.rows,
            "planting {} toy rows needs a background of at least that many rows in d = {}, \
             not [{}, {}]",
            toy.rows,
            self.d(),
            background.rows,
            background.cols
        );
        let mut out = self.embed(toy)?;
        let s = self.scale;
        for (o, &b) in out.data.iter_mut().zip(&background.data) {
            *o = (b as f64 + s * *o as f64) as f32;
        }
        Ok(out)
    }

    /// The toy case `case` planted on the first `n` rows of `background`
    /// (`n = case.n_tokens()`):
    /// - activations `x' = background + s · x^toy B`;
    /// - decoder: the background code's rows (latents `0..d_bg`, when given),
    ///   then the case's rows embedded (`w B`, unit norm kept);
    /// - codes: the background codes beside the case's codes times `s`, so
    ///   that `codes · decoder` reconstructs the planted part exactly as the
    ///   case reconstructed its toy rows;
    /// - encoder: `[W_enc^bg | Bᵀ W_enc^toy]` where both exist (`Bᵀ W_enc^toy`
    ///   alone without a background code), else none;
    /// - labels: the planted concepts; directions: `v_i = u_i B`.
    pub fn plant_case(
        &self,
        case: &EvalCase,
        background: &DenseMatrix,
        code: Option<&BackgroundCode>,
    ) -> Result<EvalCase> {
        let n = case.n_tokens();
        let activations = self.plant_rows(background, &case.activations)?;
        let embedded = self.embed(&case.decoder)?;
        let s = self.scale as f32;
        let mut scaled = case.codes.clone();
        for v in &mut scaled.values {
            *v *= s;
        }
        let bt = self.subspace.basis.transpose();
        let toy_encoder = case
            .encoder
            .as_ref()
            .map(|e| left_mul(&to_f64(&bt.data), bt.rows, e));
        let (decoder, codes, encoder) = match code {
            None => (embedded, scaled, toy_encoder),
            Some(bg) => {
                ensure!(
                    bg.decoder.cols == self.d() && bg.codes.n_cols == bg.decoder.rows,
                    "the background code has decoder [{}, {}] and codes [{}, {}]: not a code in d = {}",
                    bg.decoder.rows,
                    bg.decoder.cols,
                    bg.codes.n_rows,
                    bg.codes.n_cols,
                    self.d()
                );
                ensure!(
                    bg.codes.n_rows >= n,
                    "the background code covers {} rows but the case has {n}",
                    bg.codes.n_rows
                );
                let mut decoder = bg.decoder.clone();
                decoder.rows += embedded.rows;
                decoder.data.extend_from_slice(&embedded.data);
                let codes = hstack(&bg.codes, &scaled, n);
                let encoder = match (&bg.encoder, toy_encoder) {
                    (Some(e_bg), Some(e_toy)) => Some(hstack_dense(e_bg, &e_toy)?),
                    _ => None,
                };
                (decoder, codes, encoder)
            }
        };
        let planted = EvalCase {
            decoder,
            encoder,
            activations,
            codes,
            labels: case.labels.clone(),
            directions: self.embed(&case.directions)?,
        };
        planted.validate()?;
        Ok(planted)
    }
}

/// Rows `0..n` of `left` beside all rows of `right` (column offset `left.n_cols`).
fn hstack(left: &CsrMatrix, right: &CsrMatrix, n: usize) -> CsrMatrix {
    let (l, r) = (left.view(), right.view());
    let mut out = CsrMatrix::with_cols(left.n_cols + right.n_cols);
    let offset = left.n_cols as u32;
    for t in 0..n {
        out.push_row(
            l.row_iter(t)
                .map(|(j, v)| (j as u32, v))
                .chain(r.row_iter(t).map(|(j, v)| (j as u32 + offset, v))),
        );
    }
    out
}

/// `[a | b]` for dense matrices with the same rows.
fn hstack_dense(a: &DenseMatrix, b: &DenseMatrix) -> Result<DenseMatrix> {
    ensure!(
        a.rows == b.rows,
        "encoders with {} and {} input rows cannot sit side by side",
        a.rows,
        b.rows
    );
    let mut data = Vec::with_capacity(a.rows * (a.cols + b.cols));
    for i in 0..a.rows {
        data.extend_from_slice(a.row(i));
        data.extend_from_slice(b.row(i));
    }
    DenseMatrix::from_vec(a.rows, a.cols + b.cols, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planted::{PlantingSubspace, planting_basis, synthetic_background};
    use crate::toy::{ToyConfig, ToyModel, monosemantic, reconstruct};

    fn setup(d: usize) -> (ToyModel, DenseMatrix, Planting) {
        // The background is the noise: planted toys have none of their own.
        let toy = ToyConfig {
            noise_sigma: 0.0,
            ..ToyConfig::default()
        };
        let model = ToyModel::new(&toy, 0).unwrap();
        let bg = synthetic_background(400, d, 2).unwrap();
        let basis = planting_basis(&bg, model.d(), PlantingSubspace::Random, 3).unwrap();
        let p = Planting::new(basis, 0.5, &BackgroundStats::of(&bg).unwrap()).unwrap();
        (model, bg, p)
    }

    #[test]
    fn planting_adds_exactly_the_scaled_embedded_signal() {
        let (model, bg, p) = setup(48);
        let s = model.sample(0, 0, 300);
        let planted = p.plant_rows(&bg, &s.x).unwrap();
        let v = p.embed(model.directions()).unwrap();
        // x' − x_real = s Σ_i z_i c_i v_i, row by row.
        let signal = s.noiseless(&v);
        for t in 0..300 {
            for j in 0..48 {
                let want = bg.row(t)[j] as f64 + p.scale * signal.row(t)[j] as f64;
                let got = planted.row(t)[j] as f64;
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "row {t} col {j}"
                );
            }
        }
        // The planted directions stay orthonormal (the toy's are, n ≤ d).
        for i in 0..v.rows {
            for j in 0..v.rows {
                let dot: f64 = v
                    .row(i)
                    .iter()
                    .zip(v.row(j))
                    .map(|(a, b)| (*a * *b) as f64)
                    .sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-5);
            }
        }
        // The magnitude is relative to the mean background norm.
        let mean = BackgroundStats::of(&bg).unwrap().mean_norm;
        assert!((p.scale - 0.5 * mean).abs() < 1e-12);
    }

    #[test]
    fn a_planted_oracle_reconstructs_its_part_and_keeps_the_background_code() {
        let (model, bg, p) = setup(40);
        let data = model.sample(0, 0, 200);
        let mono = monosemantic(&model, &data);
        // A one-latent "background SAE" that fires on every row with its mean.
        let code = BackgroundCode {
            decoder: DenseMatrix::from_vec(1, 40, vec![0.25; 40]).unwrap(),
            encoder: None,
            codes: {
                let mut c = CsrMatrix::with_cols(1);
                for _ in 0..250 {
                    c.push_row([(0u32, 2.0f32)]);
                }
                c
            },
        };
        let case = p.plant_case(&mono, &bg, Some(&code)).unwrap();
        assert_eq!(case.d_sae(), 1 + model.n_concepts());
        assert_eq!(case.n_tokens(), 200);
        // Reconstruction = background latent + s · (M's toy reconstruction) B.
        let recon = reconstruct(&case.codes, &case.decoder);
        let toy_recon = p.embed(&reconstruct(&mono.codes, &mono.decoder)).unwrap();
        for t in 0..200 {
            for j in 0..40 {
                let want = 0.5 + p.scale * toy_recon.row(t)[j] as f64;
                assert!((recon.row(t)[j] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()));
            }
        }
        assert_eq!(case.labels, mono.labels);
        // Too short a background code is refused with both counts.
        let short = BackgroundCode {
            codes: CsrMatrix::with_cols(1),
            ..code
        };
        let err = p.plant_case(&mono, &bg, Some(&short)).unwrap_err();
        assert!(err.to_string().contains("0 rows"), "{err}");
    }

    #[test]
    fn a_faithful_toy_encoder_stays_faithful_on_the_planted_part() {
        let (model, bg, p) = setup(36);
        let data = model.sample(0, 0, 50);
        let mono = monosemantic(&model, &data);
        let enc = mono.encoder.as_ref().expect("M has an encoder");
        let case = p.plant_case(&mono, &bg, None).unwrap();
        let planted_enc = case.encoder.as_ref().unwrap();
        // (s · x^toy B) (Bᵀ W) = s · x^toy W: the toy encoder's code, scaled.
        let signal = p.embed(&data.x).unwrap();
        for t in 0..5 {
            for k in 0..enc.cols {
                let got: f64 = (0..36)
                    .map(|i| signal.row(t)[i] as f64 * planted_enc.row(i)[k] as f64)
                    .sum();
                let want: f64 = (0..model.d())
                    .map(|i| data.x.row(t)[i] as f64 * enc.row(i)[k] as f64)
                    .sum();
                assert!(
                    (got - want).abs() < 1e-4,
                    "row {t} latent {k}: {got} vs {want}"
                );
            }
        }
    }
}
