//! AdamW (Loshchilov & Hutter 2019) as one fused, parallel pass per
//! parameter over raw `f32` slices, with its state open for checkpoints.
//!
//! For a parameter `θ` with gradient `g`, at step `t = 1, 2, …`:
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g              v ← β₂ v + (1 − β₂) g²
//! m̂ = m / (1 − β₁ᵗ)                   v̂ = v / (1 − β₂ᵗ)
//! θ ← θ (1 − η λ) − η m̂ / (√v̂ + ε)
//! ```
//!
//! Every element is computed with the same `f32` operations, in the same
//! order, as `candle_nn::AdamW` (which builds each line from separate tensor
//! ops with a temporary per op): the results are bit-identical (tested), but
//! one pass reads `θ, g, m, v` once and writes `θ, m, v` once, split over the
//! rayon pool. That pass is for CPU parameters; a parameter on another
//! device (CUDA) keeps its moments as tensors on that device and is updated
//! with candle's own composition of tensor ops (same formulas, no host copy
//! per step). Both paths are bit-identical on the CPU (tested).

use anyhow::{Context as _, Result, ensure};
use candle_core::backprop::GradStore;
use candle_core::{DType, Storage, Tensor, Var};
use rayon::prelude::*;

use crate::cpu::with_slice_mut;

/// Elements per parallel task (256 KiB of `f32`: big enough to amortise
/// scheduling, small enough to balance two to a few dozen threads).
const CHUNK: usize = 1 << 16;

/// AdamW hyperparameters (`η` is set per step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// The optimiser state of one parameter: first and second moments, each
/// with the parameter's shape (row-major, flattened).
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

/// Where a parameter's optimiser state lives and which path updates it.
#[derive(Debug)]
enum SlotState {
    /// Host slices, updated by the fused parallel pass (CPU parameters).
    Host(Moments),
    /// Tensors on the parameter's device, updated by tensor ops (GPU parameters).
    Device { m: Tensor, v: Tensor },
}

#[derive(Debug)]
struct Slot {
    var: Var,
    state: SlotState,
}

/// Fused AdamW over a fixed list of parameters.
#[derive(Debug)]
pub struct AdamW {
    slots: Vec<Slot>,
    /// Steps taken (`t` of the bias corrections).
    step_t: u64,
    params: AdamWParams,
}

/// The per-step constants, cast to `f32` exactly as candle's scalar tensor ops cast them.
#[derive(Debug, Clone, Copy)]
struct StepConstants {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    scale_m: f32,
    scale_v: f32,
    decay: f32,
    eps: f32,
    lr: f32,
}

impl StepConstants {
    fn new(p: &AdamWParams, t: u64) -> Self {
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        Self {
            beta1: p.beta1 as f32,
            one_minus_beta1: (1.0 - p.beta1) as f32,
            beta2: p.beta2 as f32,
            one_minus_beta2: (1.0 - p.beta2) as f32,
            scale_m: (1.0 / (1.0 - p.beta1.powi(t))) as f32,
            scale_v: (1.0 / (1.0 - p.beta2.powi(t))) as f32,
            decay: (1.0 - p.lr * p.weight_decay) as f32,
            eps: p.eps as f32,
            lr: p.lr as f32,
        }
    }
}

/// One AdamW update of a slice: `theta`, `m`, `v` in place from `g`.
///
/// The `+ 0.0` terms are deliberate: candle's `tensor * s` is the affine map
/// `x·s + 0`, which turns `−0.0` into `+0.0`; keeping them keeps every bit.
fn update(theta: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], c: StepConstants) {
    for (((th, m), v), &g) in theta.iter_mut().zip(m).zip(v).zip(g) {
        let next_m = (*m * c.beta1 + 0.0) + (g * c.one_minus_beta1 + 0.0);
        let next_v = (*v * c.beta2 + 0.0) + ((g * g) * c.one_minus_beta2 + 0.0);
        let m_hat = next_m * c.scale_m + 0.0;
        let v_hat = next_v * c.scale_v + 0.0;
        let decayed = *th * c.decay + 0.0;
        let adjusted = m_hat / (v_hat.sqrt() * 1.0 + c.eps);
        *th = decayed - (adjusted * c.lr + 0.0);
        *m = next_m;
        *v = next_v;
    }
}

/// The contiguous `f32` values of a CPU tensor, copied only when the tensor
/// is not already a contiguous slice of its storage.
fn with_cpu_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    if let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets())
        && t.dtype() == DType::F32
    {
        return Ok(f(&cpu.as_slice::<f32>()?[start..end]));
    }
    drop(storage);
    let v = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    Ok(f(&v))
}

/// One AdamW update of a CPU parameter in its own storage (no copy), split
/// over the rayon pool in fixed chunks (results do not depend on the thread count).
fn update_in_place(var: &Var, moments: &mut Moments, g: &[f32], c: StepConstants) -> Result<()> {
    let Moments { m, v } = moments;
    ensure!(
        g.len() == m.len(),
        "AdamW: a gradient of {} values for a parameter of {}",
        g.len(),
        m.len()
    );
    with_slice_mut(var.as_tensor(), "AdamW", |theta| {
        theta
            .par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((th, m), v), g)| update(th, m, v, g, c));
    })
    .context("AdamW: cannot update a parameter")
}

impl AdamW {
    /// An optimiser over `vars` (all `f32`), moments at zero, `t = 0`. CPU
    /// parameters take the fused path, others the on-device tensor path.
    pub fn new(vars: Vec<Var>, params: AdamWParams) -> Result<Self> {
        Self::with_path(vars, params, |var| var.device().is_cpu())
    }

    /// As [`AdamW::new`], with `fused(var)` choosing each parameter's path.
    fn with_path(
        vars: Vec<Var>,
        params: AdamWParams,
        fused: impl Fn(&Var) -> bool,
    ) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|var| {
                ensure!(
                    var.dtype() == DType::F32,
                    "AdamW: parameter of dtype {:?}, expected f32",
                    var.dtype()
                );
                let n = var.elem_count();
                let state = if fused(&var) {
                    SlotState::Host(Moments {
                        m: vec![0.0; n],
                        v: vec![0.0; n],
                    })
                } else {
                    SlotState::Device {
                        m: var.zeros_like()?,
                        v: var.zeros_like()?,
                    }
                };
                Ok(Slot { var, state })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            slots,
            step_t: 0,
            params,
        })
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step_t
    }

    /// Moments of every parameter, in the order of [`AdamW::new`] (copied
    /// to the host for parameters on another device).
    pub fn moments(&self) -> Result<Vec<Moments>> {
        self.slots
            .iter()
            .map(|s| match &s.state {
                SlotState::Host(mo) => Ok(mo.clone()),
                SlotState::Device { m, v } => Ok(Moments {
                    m: m.flatten_all()?.to_vec1()?,
                    v: v.flatten_all()?.to_vec1()?,
                }),
            })
            .collect()
    }

    /// Restores the state saved from [`AdamW::step_count`] and [`AdamW::moments`].
    pub fn restore(&mut self, step_t: u64, moments: Vec<Moments>) -> Result<()> {
        ensure!(
            moments.len() == self.slots.len(),
            "AdamW state has {} parameters, the optimiser {}",
            moments.len(),
            self.slots.len()
        );
        for (i, (slot, mo)) in self.slots.iter_mut().zip(moments).enumerate() {
            let n = slot.var.elem_count();
            ensure!(
                mo.m.len() == n && mo.v.len() == n,
                "AdamW state of parameter {i}: moments of {} and {} values, the parameter has {n}",
                mo.m.len(),
                mo.v.len()
            );
            slot.state = match slot.state {
                SlotState::Host(_) => SlotState::Host(mo),
                SlotState::Device { .. } => {
                    let (shape, dev) = (slot.var.shape(), slot.var.device());
                    SlotState::Device {
                        m: Tensor::from_vec(mo.m, shape, dev)?,
                        v: Tensor::from_vec(mo.v, shape, dev)?,
                    }
                }
            };
        }
        self.step_t = step_t;
        Ok(())
    }

    /// Backpropagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// One step with one host gradient per parameter, in the order the
    /// parameters were given to [`AdamW::new`] (each row-major, the
    /// parameter's shape flattened): what a hand-written backward pass
    /// (e.g. [`crate::sparse_step`]) hands over. Every parameter must live on
    /// the CPU; the update is the same as [`AdamW::step`]'s, bit for bit.
    pub fn step_slices(&mut self, grads: &[&[f32]]) -> Result<()> {
        ensure!(
            grads.len() == self.slots.len(),
            "AdamW: {} gradients for {} parameters",
            grads.len(),
            self.slots.len()
        );
        self.step_t += 1;
        let c = StepConstants::new(&self.params, self.step_t);
        for (slot, g) in self.slots.iter_mut().zip(grads) {
            let SlotState::Host(moments) = &mut slot.state else {
                anyhow::bail!("AdamW: step_slices needs every parameter on the CPU");
            };
            update_in_place(&slot.var, moments, g, c)?;
        }
        Ok(())
    }

    /// One step with the gradients in `grads` (parameters without a gradient stay put).
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_t += 1;
        let c = StepConstants::new(&self.params, self.step_t);
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let shape = slot.var.shape().clone();
            ensure!(
                g.shape() == &shape,
                "AdamW: gradient of shape {:?} for a parameter of shape {shape:?}",
                g.dims()
            );
            match &mut slot.state {
                SlotState::Host(moments) => {
                    with_cpu_f32(g, |g| update_in_place(&slot.var, moments, g, c))??;
                }
                SlotState::Device { m, v } => {
                    let p = &self.params;
                    let next_m = ((&*m * p.beta1)? + (g * (1.0 - p.beta1))?)?;
                    let next_v = ((&*v * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
                    let m_hat = (&next_m * f64::from(c.scale_m))?;
                    let v_hat = (&next_v * f64::from(c.scale_v))?;
                    let decayed = (slot.var.as_tensor() * (1.0 - p.lr * p.weight_decay))?;
                    let adjusted = (m_hat / (v_hat.sqrt()? + p.eps)?)?;
                    let next = (decayed - (adjusted * p.lr)?)?;
                    slot.var
                        .set(&next)
                        .context("AdamW: cannot update a parameter")?;
                    (*m, *v) = (next_m, next_v);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use candle_core::Device;
    use candle_nn::Optimizer as _;

    fn randn(n: usize, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64::new(seed, 3);
        (0..n).map(|_| g.normal() as f32).collect()
    }

    /// The fused step equals candle's AdamW (a composition of tensor ops)
    /// bit for bit, over several steps with weight decay and a changing rate,
    /// on a parameter long enough to be split over several parallel chunks.
    #[test]
    fn fused_adamw_equals_candle_composition_bitwise() -> Result<()> {
        let dev = Device::Cpu;
        let shapes = [(3usize, 5usize), (2, CHUNK + 17)];
        let make = |seed: u64| -> Result<Vec<Var>> {
            shapes
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| Ok(Var::from_vec(randn(r * c, seed + i as u64), (r, c), &dev)?))
                .collect()
        };
        let (ours, theirs) = (make(1)?, make(1)?);
        let p = AdamWParams {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        };
        let mut fused = AdamW::new(ours.clone(), p)?;
        let mut reference = candle_nn::AdamW::new(
            theirs.clone(),
            candle_nn::ParamsAdamW {
                lr: p.lr,
                beta1: p.beta1,
                beta2: p.beta2,
                eps: p.eps,
                weight_decay: p.weight_decay,
            },
        )?;
        for step in 0..4u64 {
            let lr = p.lr / (step + 1) as f64;
            fused.set_learning_rate(lr);
            reference.set_learning_rate(lr);
            // A loss whose gradient is a fixed random matrix times θ (non-trivial, sign-changing).
            let loss = |vars: &[Var]| -> Result<Tensor> {
                let mut total = Tensor::zeros((), DType::F32, &dev)?;
                for (i, v) in vars.iter().enumerate() {
                    let n = v.elem_count();
                    let w = Tensor::from_vec(randn(n, 100 + step * 7 + i as u64), v.shape(), &dev)?;
                    total = (total + (v.as_tensor() * v.as_tensor())?.mul(&w)?.sum_all()?)?;
                }
                Ok(total)
            };
            fused.backward_step(&loss(&ours)?)?;
            reference.backward_step(&loss(&theirs)?)?;
            for (a, b) in ours.iter().zip(&theirs) {
                let (a, b) = (
                    a.flatten_all()?.to_vec1::<f32>()?,
                    b.flatten_all()?.to_vec1::<f32>()?,
                );
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "step {step}: fused AdamW differs from candle's"
                );
            }
        }
        assert_eq!(fused.step_count(), 4);
        Ok(())
    }

    /// The on-device path (tensor ops, used for GPU parameters), forced onto
    /// CPU parameters, takes the same steps as the fused path bit for bit,
    /// reports the same moments, and restores from them.
    #[test]
    fn tensor_op_path_equals_fused_path_bitwise() -> Result<()> {
        let dev = Device::Cpu;
        let p = AdamWParams {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.05,
        };
        let make = || -> Result<Vec<Var>> {
            Ok(vec![
                Var::from_vec(randn(4 * 7, 11), (4, 7), &dev)?,
                Var::from_vec(randn(9, 12), 9, &dev)?,
            ])
        };
        let (a, b) = (make()?, make()?);
        let mut fused = AdamW::new(a.clone(), p)?;
        let mut ops = AdamW::with_path(b.clone(), p, |_| false)?;
        assert!(matches!(ops.slots[0].state, SlotState::Device { .. }));
        let bits = |vars: &[Var]| -> Result<Vec<u32>> {
            let mut out = Vec::new();
            for v in vars {
                out.extend(
                    v.flatten_all()?
                        .to_vec1::<f32>()?
                        .iter()
                        .map(|x| x.to_bits()),
                );
            }
            Ok(out)
        };
        for step in 0..3u64 {
            let loss = |vars: &[Var]| -> Result<Tensor> {
                let mut total = Tensor::zeros((), DType::F32, &dev)?;
                for (i, v) in vars.iter().enumerate() {
                    let w = Tensor::from_vec(
                        randn(v.elem_count(), 50 + step + i as u64),
                        v.shape(),
                        &dev,
                    )?;
                    total = (total + (v.as_tensor() * v.as_tensor())?.mul(&w)?.sum_all()?)?;
                }
                Ok(total)
            };
            fused.backward_step(&loss(&a)?)?;
            ops.backward_step(&loss(&b)?)?;
            assert_eq!(bits(&a)?, bits(&b)?, "step {step}: parameters differ");
        }
        assert_eq!(fused.moments()?, ops.moments()?);
        // Restoring the fused state into a fresh tensor-op optimiser continues identically.
        let c: Vec<Var> = b
            .iter()
            .map(|v| Var::from_tensor(v.as_tensor()))
            .collect::<candle_core::Result<_>>()?;
        let mut resumed = AdamW::with_path(c.clone(), p, |_| false)?;
        resumed.restore(fused.step_count(), fused.moments()?)?;
        let g = |vars: &[Var]| -> Result<Tensor> {
            let mut total = Tensor::zeros((), DType::F32, &dev)?;
            for v in vars {
                total = (total + v.as_tensor().sqr()?.sum_all()?)?;
            }
            Ok(total)
        };
        fused.backward_step(&g(&a)?)?;
        resumed.backward_step(&g(&c)?)?;
        assert_eq!(bits(&a)?, bits(&c)?, "resumed tensor-op path differs");
        Ok(())
    }

    #[test]
    fn restore_rejects_wrong_sizes() -> Result<()> {
        let v = Var::from_vec(vec![0.0f32; 6], (2, 3), &Device::Cpu)?;
        let mut opt = AdamW::new(
            vec![v],
            AdamWParams {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        )?;
        let bad = Moments {
            m: vec![0.0; 5],
            v: vec![0.0; 6],
        };
        let err = opt.restore(3, vec![bad]).unwrap_err().to_string();
        assert!(
            err.contains("5 and 6 values") && err.contains("has 6"),
            "{err}"
        );
        Ok(())
    }
}
