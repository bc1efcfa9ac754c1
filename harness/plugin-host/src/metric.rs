//! A metric that lives in a plugin library, callable as a plain [`Metric`].

use crate::call_gate::{CallKind, CallSite};
use crate::library::PluginLibrary;
use anyhow::{Context, Result, bail};
use rdpbench_sdk::abi::{
    CsrC, MatrixC, MetricInputC, MetricOutputC, OUTPUT_UNDEFINED, OUTPUT_VALUE, RdpStr,
    STATUS_ERROR, STATUS_OK, STATUS_PANIC,
};
use rdpbench_sdk::{CsrView, MatrixView, Metric, MetricInput, MetricOutput, MetricSpec};
use std::sync::Arc;

/// Metric `index` of a loaded library. Cheap to clone; keeps the library alive.
#[derive(Debug, Clone)]
pub struct LoadedMetric {
    library: Arc<PluginLibrary>,
    index: u32,
    spec: MetricSpec,
}

fn matrix_c(m: Option<MatrixView<'_>>) -> MatrixC {
    match m {
        Some(m) => MatrixC {
            data: m.data.as_ptr(),
            rows: m.rows as u64,
            cols: m.cols as u64,
        },
        None => MatrixC {
            data: std::ptr::null(),
            rows: 0,
            cols: 0,
        },
    }
}

fn csr_c(c: Option<CsrView<'_>>) -> CsrC {
    match c {
        Some(c) => CsrC {
            indptr: c.indptr.as_ptr(),
            indices: c.indices.as_ptr(),
            values: if c.values.is_empty() {
                std::ptr::null()
            } else {
                c.values.as_ptr()
            },
            n_rows: c.n_rows as u64,
            n_cols: c.n_cols as u64,
            nnz: c.indices.len() as u64,
        },
        None => CsrC {
            indptr: std::ptr::null(),
            indices: std::ptr::null(),
            values: std::ptr::null(),
            n_rows: 0,
            n_cols: 0,
            nnz: 0,
        },
    }
}

impl LoadedMetric {
    pub(crate) fn new(library: Arc<PluginLibrary>, index: u32, spec: MetricSpec) -> Self {
        Self {
            library,
            index,
            spec,
        }
    }

    pub fn library(&self) -> &Arc<PluginLibrary> {
        &self.library
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The metric's index within its library.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How calls of this metric are named in the library's call gate.
    pub fn call_site(&self) -> CallSite {
        CallSite {
            kind: CallKind::MetricCompute,
            index: self.index,
            label: format!("metric `{}` compute", self.spec.id),
        }
    }

    /// The spec as read when the library was loaded.
    pub fn cached_spec(&self) -> &MetricSpec {
        &self.spec
    }
}

impl Metric for LoadedMetric {
    fn spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    /// Calls the plugin. The host validated the input matrices when it built
    /// them; this passes only pointers. A non-finite value is an error naming
    /// the plugin, never a silent NaN.
    fn compute(&self, input: &MetricInput<'_>) -> Result<MetricOutput> {
        if let Some(python) = self.library.python() {
            let _pass = self.library.gate().enter(self.call_site())?;
            let limit = self.library.gate().limits().call;
            return python.compute(input, limit).with_context(|| {
                format!(
                    "Python metric `{}` ({})",
                    self.spec.id,
                    self.library.path().display()
                )
            });
        }
        let c = MetricInputC {
            struct_size: std::mem::size_of::<MetricInputC>() as u32,
            n_tokens: input.n_tokens as u64,
            d_in: input.d_in as u64,
            d_sae: input.d_sae as u64,
            n_concepts: input.n_concepts as u64,
            decoder: matrix_c(input.decoder),
            encoder: matrix_c(input.encoder),
            activations: matrix_c(input.activations),
            codes: csr_c(input.codes),
            labels: csr_c(input.labels),
            concept_directions: matrix_c(input.concept_directions),
            config: RdpStr {
                ptr: input.config.as_ptr(),
                len: input.config.len() as u64,
            },
            per_latent: input.per_latent as u32,
        };
        let (status, kind, value, per_latent, message) =
            self.library
                .locked_with_scratch(self.call_site(), |decl, scratch| {
                    let cap = if input.per_latent { input.d_sae } else { 0 };
                    let mut out = MetricOutputC::EMPTY;
                    if cap > 0 {
                        scratch.per_latent.resize(cap, 0.0);
                        scratch.defined.resize(cap, 0);
                        out.per_latent_capacity = cap as u64;
                        out.per_latent = scratch.per_latent.as_mut_ptr();
                        out.per_latent_defined = scratch.defined.as_mut_ptr();
                    }
                    // SAFETY: `c` borrows buffers that outlive the call; `out` points
                    // at host buffers of `cap` elements.
                    let status = unsafe { (decl.metric_compute)(self.index, &c, &mut out) };
                    let n = (out.per_latent_len as usize).min(cap);
                    let per_latent = (status == STATUS_OK && n > 0).then(|| {
                        scratch.per_latent[..n]
                            .iter()
                            .zip(&scratch.defined[..n])
                            .map(|(&v, &d)| (d != 0).then_some(v))
                            .collect::<Vec<_>>()
                    });
                    let message = if out.message.ptr.is_null() {
                        String::new()
                    } else {
                        // SAFETY: the plugin wrote `len` bytes of message.
                        let bytes = unsafe {
                            std::slice::from_raw_parts(out.message.ptr, out.message.len as usize)
                        };
                        let text = String::from_utf8_lossy(bytes).into_owned();
                        // SAFETY: `out` was written by this library's compute; its
                        // message is released once, here.
                        unsafe { (decl.metric_free_output)(&mut out) };
                        text
                    };
                    (status, out.kind, out.value, per_latent, message)
                })?;
        let who = || {
            format!(
                "metric `{}` ({})",
                self.spec.id,
                self.library.path().display()
            )
        };
        match status {
            STATUS_OK => {}
            STATUS_ERROR => bail!("{} failed: {message}", who()),
            STATUS_PANIC => bail!("{} panicked: {message}", who()),
            other => bail!("{} returned unknown status {other}: {message}", who()),
        }
        match kind {
            OUTPUT_VALUE => {
                if !value.is_finite() {
                    bail!(
                        "{} returned {value}: a metric must return a finite value or an explicit \
                         `MetricOutput::Undefined` with a reason",
                        who()
                    );
                }
                if let Some(j) = per_latent
                    .iter()
                    .flatten()
                    .position(|v| v.is_some_and(|v| !v.is_finite()))
                {
                    bail!(
                        "{} returned a non-finite per-latent score for latent {j}",
                        who()
                    );
                }
                Ok(MetricOutput::Value { value, per_latent })
            }
            OUTPUT_UNDEFINED => Ok(MetricOutput::Undefined { reason: message }),
            other => bail!("{} returned unknown output kind {other}", who()),
        }
    }
}
