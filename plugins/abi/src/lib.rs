//! # rdpbench-abi: plugin ABI v1, the plugin-side glue and the C header
//!
//! The only rdpbench plugin crate with `unsafe` code; every `unsafe` block
//! carries a `// SAFETY:` comment. It depends on `rdpbench-api` (the traits
//! the glue calls) and is re-exported by `rdpbench-sdk` as
//! `rdpbench_sdk::abi` (this crate root), `rdpbench_sdk::export` (the
//! [`export`] module) and `rdpbench_sdk::export_plugin!`. Plugin authors
//! depend on `rdpbench-sdk`, not on this crate; the host depends on it for
//! the `#[repr(C)]` types.
//!
//! Plugin ABI v1: the `#[repr(C)]` declaration every plugin library exports.
//!
//! A library exports one symbol, [`ENTRY_SYMBOL`], of type [`EntryFn`]. It
//! returns a pointer to a static [`PluginDecl`]. The host reads
//! `abi_version` and `struct_size` (always the first two `u32` fields, in
//! every ABI version) and refuses the library before calling anything else
//! if they do not match. The C header `include/rdpbench.h` mirrors this file;
//! `tests/c_header.rs` compiles it and compares every size and offset.
//!
//! Rules of the road:
//! - Every function pointer returns a status code ([`STATUS_OK`],
//!   [`STATUS_ERROR`], [`STATUS_PANIC`]); plugin-side wrappers catch panics.
//! - Memory is freed by the side that allocated it: the host passes borrowed
//!   buffers in; the plugin returns buffers that the host hands back to the
//!   plugin's `free_*` functions.
//! - Dense matrices are row-major `f32`; codes and labels are CSR with `u64`
//!   `indptr` and `u32` column indices. A null `data`/`indptr` pointer marks an
//!   input that is absent; a null `values` pointer marks a pattern matrix.
//! - Specs and configs are JSON text, so they can grow without layout changes.
//! - Calls into one library are made from one thread at a time.

use std::ffi::{c_char, c_void};

pub mod export;

/// The author API the export macro names (`$crate::__api::Metric`, ...).
#[doc(hidden)]
pub use rdpbench_api as __api;

/// The SDK version every library built against this crate reports in
/// [`PluginDecl::sdk_version`] (all plugin crates share one version).
pub const SDK_VERSION: &str = rdpbench_api::SDK_VERSION;

/// Lets glibc keep freed blocks instead of returning every large tensor to
/// the kernel (each fresh `mmap` costs page faults and kernel page clearing
/// on first touch: `perf` showed `clear_page_erms` at 38% of an SAE training
/// step with an allocator that returned them). Once per process; a no-op off
/// glibc. Used by `rdpbench-train`; it lives here because this crate holds
/// all of the plugin stack's `unsafe` code.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator parameters; called once.
            unsafe {
                libc::mallopt(libc::M_MMAP_MAX, 0);
                libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            }
        });
    }
}

#[doc(hidden)]
pub const SDK_VERSION_CSTR: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(s) => s,
    Err(_) => panic!("version contains NUL"),
};

/// The ABI version this SDK speaks.
pub const ABI_VERSION: u32 = 1;

/// Name of the exported entry symbol (NUL-terminated).
pub const ENTRY_SYMBOL: &[u8] = b"rdpbench_plugin_entry\0";

/// Type of the exported entry symbol.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDecl;

/// The call succeeded.
pub const STATUS_OK: i32 = 0;
/// The call failed; the output's `message` says why.
pub const STATUS_ERROR: i32 = 1;
/// The plugin panicked; the output's `message` holds the panic payload.
pub const STATUS_PANIC: i32 = 2;

/// `MetricOutputC::kind`: a finite value.
pub const OUTPUT_VALUE: u32 = 0;
/// `MetricOutputC::kind`: explicitly undefined; `message` is the reason.
pub const OUTPUT_UNDEFINED: u32 = 1;

/// Borrowed UTF-8 bytes (not NUL-terminated).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RdpStr {
    pub ptr: *const u8,
    pub len: u64,
}

/// UTF-8 bytes owned by the plugin; give them back to `free_string`.
#[repr(C)]
#[derive(Debug)]
pub struct RdpString {
    pub ptr: *mut u8,
    pub len: u64,
}

impl RdpString {
    pub const EMPTY: RdpString = RdpString {
        ptr: std::ptr::null_mut(),
        len: 0,
    };
}

/// Borrowed dense row-major matrix; `data == NULL` means absent.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MatrixC {
    pub data: *const f32,
    pub rows: u64,
    pub cols: u64,
}

/// Borrowed CSR matrix; `indptr == NULL` means absent, `values == NULL` a pattern.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CsrC {
    pub indptr: *const u64,
    pub indices: *const u32,
    pub values: *const f32,
    pub n_rows: u64,
    pub n_cols: u64,
    pub nnz: u64,
}

/// CSR matrix owned by the plugin (returned by `sae_encode`).
#[repr(C)]
#[derive(Debug)]
pub struct CsrOwnedC {
    pub indptr: *mut u64,
    pub indices: *mut u32,
    pub values: *mut f32,
    pub n_rows: u64,
    pub n_cols: u64,
    pub nnz: u64,
}

/// Inputs of one metric evaluation (host-owned, borrowed by the plugin).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MetricInputC {
    pub struct_size: u32,
    pub n_tokens: u64,
    pub d_in: u64,
    pub d_sae: u64,
    pub n_concepts: u64,
    pub decoder: MatrixC,
    pub encoder: MatrixC,
    pub activations: MatrixC,
    pub codes: CsrC,
    pub labels: CsrC,
    pub concept_directions: MatrixC,
    pub config: RdpStr,
    /// 1: the host wants per-latent scores; 0: it will not read them.
    pub per_latent: u32,
}

/// Result of one metric evaluation. The host owns the per-latent buffers
/// (capacity `per_latent_capacity`, normally `d_sae`), so a successful call
/// allocates nothing in the plugin; the plugin owns `message`, released by
/// `metric_free_output`.
#[repr(C)]
#[derive(Debug)]
pub struct MetricOutputC {
    /// [`OUTPUT_VALUE`] or [`OUTPUT_UNDEFINED`].
    pub kind: u32,
    pub value: f64,
    /// Set by the host: room in `per_latent` and `per_latent_defined`.
    pub per_latent_capacity: u64,
    /// Host buffer for per-latent scores.
    pub per_latent: *mut f64,
    /// Host buffer: 1 where the per-latent score is defined, 0 where not.
    pub per_latent_defined: *mut u8,
    /// Set by the plugin: how many per-latent scores it wrote (0 = none).
    pub per_latent_len: u64,
    /// The reason when undefined, the error when the status is not OK.
    pub message: RdpString,
}

impl MetricOutputC {
    pub const EMPTY: MetricOutputC = MetricOutputC {
        kind: OUTPUT_VALUE,
        value: 0.0,
        per_latent_capacity: 0,
        per_latent: std::ptr::null_mut(),
        per_latent_defined: std::ptr::null_mut(),
        per_latent_len: 0,
        message: RdpString::EMPTY,
    };
}

/// Host callback: fill `out` with up to `rows` rows of `d_in` floats, store
/// the count in `*written` (0 = end of data), return a status.
pub type NextBatchFn =
    unsafe extern "C" fn(ctx: *mut c_void, out: *mut f32, rows: u64, written: *mut u64) -> i32;

/// Host callback: progress report (`json` is an object of scalar metrics).
pub type ProgressFn = unsafe extern "C" fn(ctx: *mut c_void, step: u64, total: u64, json: RdpStr);

/// Streaming data source handed to `sae_train`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BatchSourceC {
    pub ctx: *mut c_void,
    pub d_in: u64,
    pub next_batch: NextBatchFn,
}

/// Progress observer handed to `sae_train`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ObserverC {
    pub ctx: *mut c_void,
    pub on_progress: ProgressFn,
}

/// Arguments of `sae_train`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrainRequestC {
    pub struct_size: u32,
    pub config: RdpStr,
    pub data: BatchSourceC,
    pub observer: ObserverC,
}

/// Borrowed named tensor (host to plugin).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TensorViewC {
    pub name: RdpStr,
    pub shape: *const u64,
    pub ndim: u64,
    pub data: *const f32,
    pub len: u64,
}

/// Borrowed SAE weights (host to plugin, for `sae_encode`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WeightsViewC {
    pub cfg_json: RdpStr,
    pub tensors: *const TensorViewC,
    pub n_tensors: u64,
}

/// Named tensor owned by the plugin.
#[repr(C)]
#[derive(Debug)]
pub struct TensorC {
    pub name: RdpString,
    pub shape: *mut u64,
    pub ndim: u64,
    pub data: *mut f32,
    pub len: u64,
}

/// SAE weights owned by the plugin (returned by `sae_train`).
#[repr(C)]
#[derive(Debug)]
pub struct WeightsC {
    pub cfg_json: RdpString,
    pub tensors: *mut TensorC,
    pub n_tensors: u64,
}

/// The static declaration a plugin library exports. Indices select one of
/// the library's metrics (`0..metric_count`) or architectures (`0..sae_count`).
#[repr(C)]
#[derive(Debug)]
pub struct PluginDecl {
    /// Must equal [`ABI_VERSION`]; checked before anything else is read.
    pub abi_version: u32,
    /// `size_of::<PluginDecl>()` as the plugin was built; checked second.
    pub struct_size: u32,
    /// The SDK's crate version, NUL-terminated, e.g. `"0.1.0"`.
    pub sdk_version: *const c_char,
    /// Releases a string returned by any call below.
    pub free_string: unsafe extern "C" fn(s: RdpString),

    pub metric_count: u32,
    /// Writes the metric's `MetricSpec` as JSON to `*out` (or the error).
    pub metric_spec_json: unsafe extern "C" fn(index: u32, out: *mut RdpString) -> i32,
    pub metric_compute: unsafe extern "C" fn(
        index: u32,
        input: *const MetricInputC,
        out: *mut MetricOutputC,
    ) -> i32,
    /// Releases the plugin-owned part of an output (its `message`); a no-op,
    /// and skippable, when `message.ptr` is NULL.
    pub metric_free_output: unsafe extern "C" fn(out: *mut MetricOutputC),

    pub sae_count: u32,
    /// Writes the architecture's `SaeSpec` as JSON to `*out` (or the error).
    pub sae_spec_json: unsafe extern "C" fn(index: u32, out: *mut RdpString) -> i32,
    pub sae_train: unsafe extern "C" fn(
        index: u32,
        request: *const TrainRequestC,
        out: *mut WeightsC,
        error: *mut RdpString,
    ) -> i32,
    pub sae_free_weights: unsafe extern "C" fn(w: *mut WeightsC),
    pub sae_encode: unsafe extern "C" fn(
        index: u32,
        weights: *const WeightsViewC,
        x: MatrixC,
        out: *mut CsrOwnedC,
        error: *mut RdpString,
    ) -> i32,
    pub sae_free_csr: unsafe extern "C" fn(c: *mut CsrOwnedC),
}

// SAFETY: a `PluginDecl` is an immutable static: its pointer fields point at
// static data (the SDK version string) and its functions are thread-safe to
// *reference*; the host serialises calls into one library.
unsafe impl Sync for PluginDecl {}
