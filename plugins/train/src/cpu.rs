//! Helpers shared by the CPU kernels of [`fused`](crate::fused) and
//! [`sparse_decode`](crate::sparse_decode): the row-block size of their
//! parallel loops and access to a tensor's contiguous `f32` storage. Both
//! kernel modules use this one; neither uses the other's helpers, so the
//! module graph has no cycle (`fused` -> `sparse_decode` -> `cpu`).

use candle_core::{CpuStorage, DType, Device, Error, Layout, Result, Storage, Tensor};

/// Rows per parallel task.
pub(crate) const ROW_BLOCK: usize = 64;

/// The contiguous `f32` slice of a storage under `layout`.
pub(crate) fn slice<'a>(s: &'a CpuStorage, layout: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => Err(Error::Msg(format!(
            "{what}: expected a contiguous f32 tensor"
        ))),
    }
}

/// Runs `f` on the contiguous `f32` values of a CPU tensor.
pub(crate) fn with_slice<R>(t: &Tensor, what: &str, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(f(slice(s, layout, what)?)),
        _ => Err(Error::Msg(format!("{what}: expected a CPU tensor"))),
    }
}

/// Whether every tensor is an `f32` tensor on the CPU (the kernels' fast path).
pub(crate) fn is_cpu_f32(ts: &[&Tensor]) -> bool {
    ts.iter()
        .all(|t| matches!(t.device(), Device::Cpu) && t.dtype() == DType::F32)
}

/// Runs `f` on the contiguous `f32` storage of a CPU tensor **in place**:
/// every tensor sharing that storage (a `Var` and its clones) sees the
/// change, as after `Var::set`, without the two copies `set` costs
/// (to a fresh tensor, then into the storage).
///
/// Takes the storage's write lock: the caller must not hold a read guard
/// of the same storage (e.g. from [`with_slice`]) while calling it.
pub(crate) fn with_slice_mut<R>(
    t: &Tensor,
    what: &str,
    f: impl FnOnce(&mut [f32]) -> R,
) -> Result<R> {
    let op = InPlace {
        what,
        f: std::cell::RefCell::new(Some(f)),
        out: std::cell::RefCell::new(None),
    };
    t.inplace_op1(&op)?;
    op.out
        .into_inner()
        .ok_or_else(|| Error::Msg(format!("{what}: the in-place pass did not run")))
}

/// The candle in-place op behind [`with_slice_mut`]: calls the closure once
/// on the storage's contiguous `f32` slice and keeps its result.
struct InPlace<'a, F, R> {
    what: &'a str,
    f: std::cell::RefCell<Option<F>>,
    out: std::cell::RefCell<Option<R>>,
}

impl<F: FnOnce(&mut [f32]) -> R, R> candle_core::InplaceOp1 for InPlace<'_, F, R> {
    fn name(&self) -> &'static str {
        "rdpbench-in-place-f32"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let CpuStorage::F32(data) = storage else {
            return Err(Error::Msg(format!("{}: expected an f32 tensor", self.what)));
        };
        let Some((a, b)) = layout.contiguous_offsets() else {
            return Err(Error::Msg(format!(
                "{}: expected a contiguous f32 tensor",
                self.what
            )));
        };
        let f = self
            .f
            .borrow_mut()
            .take()
            .ok_or_else(|| Error::Msg(format!("{}: the in-place pass ran twice", self.what)))?;
        *self.out.borrow_mut() = Some(f(&mut data[a..b]));
        Ok(())
    }
}
