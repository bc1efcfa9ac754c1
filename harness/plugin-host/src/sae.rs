//! An SAE architecture that lives in a plugin library, callable as a plain
//! [`SaeArchitecture`]. The host's data source and progress observer are
//! handed to the plugin as C callbacks.

use crate::call_gate::{CallKind, CallSite};
use crate::library::PluginLibrary;
use anyhow::{Result, bail};
use rdpbench_sdk::abi::{
    BatchSourceC, CsrOwnedC, MatrixC, ObserverC, RdpStr, RdpString, STATUS_ERROR, STATUS_OK,
    STATUS_PANIC, TensorViewC, TrainRequestC, WeightsC, WeightsViewC,
};
use rdpbench_sdk::{
    BatchSource, CsrMatrix, MatrixView, NamedTensor, SaeArchitecture, SaeSpec, SaeWeights,
    TrainObserver, TrainRequest,
};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// Architecture `index` of a loaded library.
#[derive(Debug, Clone)]
pub struct LoadedSae {
    library: Arc<PluginLibrary>,
    index: u32,
    spec: SaeSpec,
}

impl LoadedSae {
    pub(crate) fn new(library: Arc<PluginLibrary>, index: u32, spec: SaeSpec) -> Self {
        Self {
            library,
            index,
            spec,
        }
    }

    pub fn library(&self) -> &Arc<PluginLibrary> {
        &self.library
    }

    /// The spec the plugin declared when it was loaded.
    pub fn cached_spec(&self) -> &SaeSpec {
        &self.spec
    }

    /// The hyperparameter this architecture declares as its sparsity knob;
    /// an error naming the plugin when it declares none (it cannot be swept).
    pub fn sparsity_knob(&self) -> Result<&str> {
        match self.spec.sparsity_knob.as_deref() {
            Some(k) if !k.is_empty() => Ok(k),
            _ => bail!(
                "SAE plugin `{}` ({}) declares no sparsity knob (SaeSpec.sparsity_knob), so it cannot be swept; rebuild it against rdpbench-sdk >= 0.1 and declare one",
                self.spec.id,
                self.library.path().display()
            ),
        }
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    fn call_site(&self, kind: CallKind, what: &str) -> CallSite {
        CallSite {
            kind,
            index: self.index,
            label: format!("SAE architecture `{}` {what}", self.spec.id),
        }
    }

    fn check_status(&self, what: &str, status: i32, error: String) -> Result<()> {
        let who = format!(
            "SAE architecture `{}` ({})",
            self.spec.id,
            self.library.path().display()
        );
        match status {
            STATUS_OK => Ok(()),
            STATUS_ERROR => bail!("{who}: {what} failed: {error}"),
            STATUS_PANIC => bail!("{who}: {what} panicked: {error}"),
            other => bail!("{who}: {what} returned unknown status {other}: {error}"),
        }
    }
}

fn rdp_str(s: &str) -> RdpStr {
    RdpStr {
        ptr: s.as_ptr(),
        len: s.len() as u64,
    }
}

struct Callbacks<'a> {
    data: &'a mut dyn BatchSource,
    observer: &'a mut dyn TrainObserver,
    /// The first error the data source raised, reported after the call.
    data_error: Option<anyhow::Error>,
}

unsafe extern "C" fn next_batch(
    ctx: *mut c_void,
    out: *mut f32,
    rows: u64,
    written: *mut u64,
) -> i32 {
    // SAFETY: `ctx` is the `Callbacks` passed by `train` and outlives the call;
    // `out` has room for `rows * d_in` floats (the plugin's side of the contract).
    let cb = unsafe { &mut *(ctx as *mut Callbacks<'_>) };
    let n = rows as usize * cb.data.d_in();
    // SAFETY: as above.
    let buf = unsafe { std::slice::from_raw_parts_mut(out, n) };
    match catch_unwind(AssertUnwindSafe(|| cb.data.next_batch(buf, rows as usize))) {
        Ok(Ok(k)) => {
            // SAFETY: `written` is a valid place (plugin's contract).
            unsafe { written.write(k as u64) };
            STATUS_OK
        }
        Ok(Err(e)) => {
            cb.data_error.get_or_insert(e);
            STATUS_ERROR
        }
        Err(_) => {
            cb.data_error
                .get_or_insert(anyhow::anyhow!("the host's data source panicked"));
            STATUS_PANIC
        }
    }
}

unsafe extern "C" fn on_progress(ctx: *mut c_void, step: u64, total: u64, json: RdpStr) {
    // SAFETY: see `next_batch`; `json` borrows `len` bytes for the call.
    let cb = unsafe { &mut *(ctx as *mut Callbacks<'_>) };
    // SAFETY: as above.
    let bytes = unsafe { rdpbench_sdk::export::slice_from(json.ptr, json.len) };
    let text = String::from_utf8_lossy(bytes);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        cb.observer.on_progress(step, total, &text)
    }));
}

impl SaeArchitecture for LoadedSae {
    fn spec(&self) -> SaeSpec {
        self.spec.clone()
    }

    fn train(&self, request: TrainRequest<'_>) -> Result<SaeWeights> {
        let d_in = request.data.d_in() as u64;
        let mut cb = Callbacks {
            data: request.data,
            observer: request.observer,
            data_error: None,
        };
        let ctx = &mut cb as *mut Callbacks<'_> as *mut c_void;
        let c = TrainRequestC {
            struct_size: std::mem::size_of::<TrainRequestC>() as u32,
            config: rdp_str(request.config),
            data: BatchSourceC {
                ctx,
                d_in,
                next_batch,
            },
            observer: ObserverC { ctx, on_progress },
        };
        let site = self.call_site(CallKind::SaeTrain, "train");
        let (status, error, weights) = self.library.locked(site, |decl| {
            let mut out = WeightsC {
                cfg_json: RdpString::EMPTY,
                tensors: std::ptr::null_mut(),
                n_tensors: 0,
            };
            let mut error = RdpString::EMPTY;
            // SAFETY: `c` and the callbacks' context outlive the call.
            let status = unsafe { (decl.sae_train)(self.index, &c, &mut out, &mut error) };
            let error = self.library.take_string(decl, error);
            let weights = (status == STATUS_OK).then(|| {
                // SAFETY: on success the plugin filled `out` with `n_tensors` tensors.
                let tensors = unsafe {
                    rdpbench_sdk::export::slice_from(out.tensors as *const _, out.n_tensors)
                };
                let tensors = tensors
                    .iter()
                    .map(|t: &rdpbench_sdk::abi::TensorC| {
                        // SAFETY: each tensor's buffers hold `ndim` dims and `len` floats.
                        unsafe {
                            NamedTensor {
                                name: String::from_utf8_lossy(rdpbench_sdk::export::slice_from(
                                    t.name.ptr, t.name.len,
                                ))
                                .into_owned(),
                                shape: rdpbench_sdk::export::slice_from(t.shape, t.ndim)
                                    .iter()
                                    .map(|&d| d as usize)
                                    .collect(),
                                data: rdpbench_sdk::export::slice_from(t.data, t.len).to_vec(),
                            }
                        }
                    })
                    .collect();
                // SAFETY: `cfg_json` holds `len` bytes.
                let cfg =
                    unsafe { rdpbench_sdk::export::slice_from(out.cfg_json.ptr, out.cfg_json.len) };
                SaeWeights {
                    cfg_json: String::from_utf8_lossy(cfg).into_owned(),
                    tensors,
                }
            });
            // SAFETY: `out` was written by this library's train; freed once.
            unsafe { (decl.sae_free_weights)(&mut out) };
            (status, error, weights)
        })?;
        if let Some(e) = cb.data_error.take() {
            return Err(e.context(format!("training `{}`", self.spec.id)));
        }
        self.check_status("train", status, error)?;
        let weights = weights.expect("status OK implies weights");
        for t in &weights.tensors {
            let n: usize = t.shape.iter().product();
            if n != t.data.len() {
                bail!(
                    "SAE architecture `{}` returned tensor `{}` of shape {:?} with {} values",
                    self.spec.id,
                    t.name,
                    t.shape,
                    t.data.len()
                );
            }
        }
        Ok(weights)
    }

    fn encode(&self, weights: &SaeWeights, x: MatrixView<'_>) -> Result<CsrMatrix> {
        let shapes: Vec<Vec<u64>> = weights
            .tensors
            .iter()
            .map(|t| t.shape.iter().map(|&d| d as u64).collect())
            .collect();
        let views: Vec<TensorViewC> = weights
            .tensors
            .iter()
            .zip(&shapes)
            .map(|(t, s)| TensorViewC {
                name: rdp_str(&t.name),
                shape: s.as_ptr(),
                ndim: s.len() as u64,
                data: t.data.as_ptr(),
                len: t.data.len() as u64,
            })
            .collect();
        let w = WeightsViewC {
            cfg_json: rdp_str(&weights.cfg_json),
            tensors: views.as_ptr(),
            n_tensors: views.len() as u64,
        };
        let xc = MatrixC {
            data: x.data.as_ptr(),
            rows: x.rows as u64,
            cols: x.cols as u64,
        };
        let site = self.call_site(CallKind::SaeEncode, "encode");
        let (status, error, parts) = self.library.locked(site, |decl| {
            let mut out = CsrOwnedC {
                indptr: std::ptr::null_mut(),
                indices: std::ptr::null_mut(),
                values: std::ptr::null_mut(),
                n_rows: 0,
                n_cols: 0,
                nnz: 0,
            };
            let mut error = RdpString::EMPTY;
            // SAFETY: `w`, its tensors and `x` outlive the call.
            let status = unsafe { (decl.sae_encode)(self.index, &w, xc, &mut out, &mut error) };
            let error = self.library.take_string(decl, error);
            let parts = (status == STATUS_OK && !out.indptr.is_null()).then(|| {
                // SAFETY: on success the plugin returned a CSR with these sizes.
                unsafe {
                    (
                        out.n_rows as usize,
                        out.n_cols as usize,
                        rdpbench_sdk::export::slice_from(out.indptr, out.n_rows + 1).to_vec(),
                        rdpbench_sdk::export::slice_from(out.indices, out.nnz).to_vec(),
                        rdpbench_sdk::export::slice_from(out.values, out.nnz).to_vec(),
                    )
                }
            });
            // SAFETY: `out` was written by this library's encode; freed once.
            unsafe { (decl.sae_free_csr)(&mut out) };
            (status, error, parts)
        })?;
        self.check_status("encode", status, error)?;
        let Some((n_rows, n_cols, indptr, indices, values)) = parts else {
            bail!(
                "SAE architecture `{}`: encode returned no codes",
                self.spec.id
            );
        };
        if n_rows != x.rows {
            bail!(
                "SAE architecture `{}`: encode returned {n_rows} rows for {} inputs",
                self.spec.id,
                x.rows
            );
        }
        CsrMatrix::from_parts(n_rows, n_cols, indptr, indices, values)
            .map_err(|e| e.context(format!("codes from SAE architecture `{}`", self.spec.id)))
    }
}
