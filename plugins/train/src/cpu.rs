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
