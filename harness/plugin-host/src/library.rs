//! Opening one plugin library and checking its declaration before any call.
//!
//! This module and its siblings `metric.rs` and `sae.rs` are the only places
//! in the host with `unsafe` code: the FFI boundary.

use crate::call_gate::{Blocked, CallGate, CallKind, CallSite};
use rdpbench_schema::results::{PluginError, PluginErrorKind};
use rdpbench_sdk::abi::{ABI_VERSION, ENTRY_SYMBOL, EntryFn, PluginDecl, RdpString, STATUS_OK};
use rdpbench_sdk::{MetricSpec, SaeSpec};
use sha2::{Digest, Sha256};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Host-owned output buffers reused across calls into one library.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub per_latent: Vec<f64>,
    pub defined: Vec<u8>,
}

/// An open plugin library whose declaration passed the ABI checks.
///
/// Libraries are never unloaded: a Rust library may have spawned threads or
/// registered thread-local destructors, and unloading it under them is
/// unsound. They live until the process exits.
///
/// A Python metric file ([`crate::python`]) is a library too: one metric,
/// no SAE, behind the same gate, so every stage and the supervisor treat it
/// like a native one.
pub struct PluginLibrary {
    path: PathBuf,
    sha256: String,
    sdk_version: String,
    backend: Backend,
    /// Calls into one library are serialised (its allocator, its thread
    /// pool), each under a wall-clock limit: see [`CallGate`].
    gate: CallGate,
    /// Buffers reused across calls; only the call holding the gate takes them.
    scratch: Mutex<Scratch>,
}

/// What answers the calls.
enum Backend {
    /// A shared library and its checked declaration.
    Native {
        decl: *const PluginDecl,
        _lib: ManuallyDrop<libloading::Library>,
    },
    /// A Python metric file and its worker process.
    Python(Box<crate::python::PythonMetric>),
}

// SAFETY: `decl` points into the library's static data, which is immutable and
// lives as long as the library (forever, see above). All calls through it
// are serialised by `gate`. A Python backend holds only Send + Sync data.
unsafe impl Send for PluginLibrary {}
// SAFETY: as above.
unsafe impl Sync for PluginLibrary {}

impl std::fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("sdk_version", &self.sdk_version)
            .finish_non_exhaustive()
    }
}

/// Lowercase hex SHA-256 of a byte string.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    Ok(sha256_hex(&std::fs::read(path)?))
}

/// Whether `bytes` start like a shared library of some platform
/// (ELF, Mach-O 32/64 either endianness or fat, PE's `MZ`).
fn has_library_magic(bytes: &[u8]) -> bool {
    const MAGICS: [&[u8]; 7] = [
        b"\x7fELF",
        &[0xfe, 0xed, 0xfa, 0xce],
        &[0xfe, 0xed, 0xfa, 0xcf],
        &[0xce, 0xfa, 0xed, 0xfe],
        &[0xcf, 0xfa, 0xed, 0xfe],
        &[0xca, 0xfe, 0xba, 0xbe],
        b"MZ",
    ];
    MAGICS.iter().any(|m| bytes.starts_with(m))
}

impl PluginLibrary {
    /// Opens `path` and checks, in order: it loads as a shared library, it
    /// exports the entry symbol, the entry returns a declaration, the
    /// declaration's ABI version and struct size match this host's.
    pub fn open(path: &Path) -> Result<Self, PluginError> {
        let err = |kind, msg: String| PluginError::new(path, kind, msg);
        let bytes = std::fs::read(path).map_err(|e| {
            err(
                PluginErrorKind::NotALibrary,
                format!("cannot read file: {e}"),
            )
        })?;
        if !has_library_magic(&bytes) {
            return Err(err(
                PluginErrorKind::NotALibrary,
                "not a shared library: the file does not start with an ELF, Mach-O or PE header"
                    .into(),
            ));
        }
        let sha256 = sha256_hex(&bytes);
        // SAFETY: loading a library runs its initialisers. Native plugins are
        // trusted code by design (see DESIGN.md); this is the point where that
        // trust is extended.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
            err(
                PluginErrorKind::NotALibrary,
                // libloading's message is just "dlopen failed"; the loader's
                // reason (e.g. a missing dependency) is in the source chain.
                format!(
                    "not a loadable shared library: {}",
                    anyhow::Error::from(e)
                        .chain()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(": ")
                ),
            )
        })?;
        // SAFETY: the symbol's type is fixed by ABI v1 for every version:
        // `extern "C" fn() -> *const PluginDecl` whose pointee starts with two u32.
        let entry: EntryFn = match unsafe { lib.get::<EntryFn>(ENTRY_SYMBOL) } {
            Ok(sym) => *sym,
            Err(_) => {
                return Err(err(
                    PluginErrorKind::NotAPlugin,
                    "exports no `rdpbench_plugin_entry` symbol: not an rdpbench plugin \
                     (did you forget `rdpbench_sdk::export_plugin!`?)"
                        .into(),
                ));
            }
        };
        // SAFETY: calling the entry symbol; the SDK's entry only returns a static pointer.
        let decl = unsafe { entry() };
        if decl.is_null() {
            return Err(err(
                PluginErrorKind::AbiMismatch,
                "entry symbol returned NULL".into(),
            ));
        }
        // SAFETY: every ABI version starts the declaration with
        // `abi_version: u32, struct_size: u32`; read only those before checking.
        let (abi_version, struct_size) = unsafe {
            let head = decl as *const u32;
            (head.read(), head.add(1).read())
        };
        if abi_version != ABI_VERSION {
            return Err(err(
                PluginErrorKind::AbiMismatch,
                format!(
                    "built for plugin ABI version {abi_version}, this host speaks version {ABI_VERSION}: \
                     rebuild it against rdpbench-sdk {}",
                    rdpbench_sdk::SDK_VERSION
                ),
            ));
        }
        let expected = std::mem::size_of::<PluginDecl>() as u32;
        if struct_size != expected {
            return Err(err(
                PluginErrorKind::AbiMismatch,
                format!(
                    "declaration is {struct_size} bytes, this host expects {expected} for ABI \
                     version {ABI_VERSION}: the plugin was built with a different SDK layout"
                ),
            ));
        }
        // SAFETY: version and size checked: `decl` is a valid `PluginDecl`.
        let d = unsafe { &*decl };
        let sdk_version = if d.sdk_version.is_null() {
            "unknown".to_string()
        } else {
            // SAFETY: the SDK stores a static NUL-terminated string here.
            unsafe { std::ffi::CStr::from_ptr(d.sdk_version) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(Self {
            path: path.to_path_buf(),
            sha256,
            sdk_version,
            backend: Backend::Native {
                decl,
                _lib: ManuallyDrop::new(lib),
            },
            gate: CallGate::new(path),
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// Opens a Python metric file: starts its worker and reads its spec
    /// (bounded by `call_limit`, at least [`crate::python::STARTUP_LIMIT`]).
    pub fn open_python(
        path: &Path,
        call_limit: Option<std::time::Duration>,
    ) -> Result<Self, PluginError> {
        let bytes = std::fs::read(path).map_err(|e| {
            PluginError::new(
                path,
                PluginErrorKind::NotALibrary,
                format!("cannot read file: {e}"),
            )
        })?;
        let metric = crate::python::PythonMetric::open(path, call_limit).map_err(|e| {
            PluginError::new(
                path,
                PluginErrorKind::Failed,
                format!("Python metric: {e:#}"),
            )
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            sha256: sha256_hex(&bytes),
            sdk_version: format!(
                "{} v{} ({})",
                crate::python_protocol::PROTOCOL,
                crate::python_protocol::PROTOCOL_VERSION,
                metric.runtime()
            ),
            backend: Backend::Python(Box::new(metric)),
            gate: CallGate::new(path),
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// The Python metric behind this "library", if it is a `.py` file.
    pub fn python(&self) -> Option<&crate::python::PythonMetric> {
        match &self.backend {
            Backend::Python(m) => Some(m),
            Backend::Native { .. } => None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lowercase hex SHA-256 of the library file as loaded.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn sdk_version(&self) -> &str {
        &self.sdk_version
    }

    /// The native declaration. Only native libraries are called through
    /// it: a Python file declares one metric and no SAE, and its metric is
    /// called through [`Self::python`] (see `metric.rs`).
    pub(crate) fn decl(&self) -> &PluginDecl {
        match &self.backend {
            // SAFETY: checked in `open`; the library is never unloaded.
            Backend::Native { decl, .. } => unsafe { &**decl },
            Backend::Python(_) => unreachable!(
                "{}: a Python metric file has no native declaration",
                self.path.display()
            ),
        }
    }

    pub fn metric_count(&self) -> u32 {
        match &self.backend {
            Backend::Native { .. } => self.decl().metric_count,
            Backend::Python(_) => 1,
        }
    }

    pub fn sae_count(&self) -> u32 {
        match &self.backend {
            Backend::Native { .. } => self.decl().sae_count,
            Backend::Python(_) => 0,
        }
    }

    /// This library's call gate: the call in flight, limits, a hung culprit.
    pub fn gate(&self) -> &CallGate {
        &self.gate
    }

    /// Runs `f` as call `site`, holding this library's gate; fails without
    /// calling when the library is blocked by a hung call.
    pub(crate) fn locked<T>(
        &self,
        site: CallSite,
        f: impl FnOnce(&PluginDecl) -> T,
    ) -> Result<T, Blocked> {
        self.locked_with_scratch(site, |decl, _| f(decl))
    }

    /// [`Self::locked`] with the library's reusable buffers.
    pub(crate) fn locked_with_scratch<T>(
        &self,
        site: CallSite,
        f: impl FnOnce(&PluginDecl, &mut Scratch) -> T,
    ) -> Result<T, Blocked> {
        let _pass = self.gate.enter(site)?;
        let mut scratch = self
            .scratch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(f(self.decl(), &mut scratch))
    }

    /// Copies a plugin-owned string and gives it back to the plugin.
    pub(crate) fn take_string(&self, decl: &PluginDecl, s: RdpString) -> String {
        if s.ptr.is_null() {
            return String::new();
        }
        // SAFETY: the plugin returned `len` valid bytes at `ptr`.
        let text = unsafe { std::slice::from_raw_parts(s.ptr, s.len as usize) };
        let text = String::from_utf8_lossy(text).into_owned();
        // SAFETY: `s` was allocated by this library and is freed once, here.
        unsafe { (decl.free_string)(s) };
        text
    }

    fn spec_json(
        &self,
        f: unsafe extern "C" fn(u32, *mut RdpString) -> i32,
        index: u32,
        what: &str,
    ) -> Result<String, String> {
        let site = CallSite {
            kind: CallKind::Spec,
            index,
            label: format!("{what} #{index} spec"),
        };
        self.locked(site, |decl| {
            let mut out = RdpString::EMPTY;
            // SAFETY: `out` is a valid place for the plugin to write.
            let status = unsafe { f(index, &mut out) };
            let text = self.take_string(decl, out);
            if status == STATUS_OK {
                Ok(text)
            } else {
                Err(text)
            }
        })
        .map_err(|blocked| blocked.to_string())?
    }

    /// The spec of metric `index`, parsed and validated.
    pub fn metric_spec(&self, index: u32) -> Result<MetricSpec, PluginError> {
        if let Backend::Python(m) = &self.backend {
            return Ok(m.spec().clone());
        }
        let json = self
            .spec_json(self.decl().metric_spec_json, index, "metric")
            .map_err(|e| {
                PluginError::new(
                    &self.path,
                    PluginErrorKind::Failed,
                    format!("metric #{index}: spec() failed: {e}"),
                )
            })?;
        let spec: MetricSpec = serde_json::from_str(&json).map_err(|e| {
            PluginError::new(
                &self.path,
                PluginErrorKind::BadSpec,
                format!("metric #{index}: spec is not valid MetricSpec JSON: {e}"),
            )
        })?;
        spec.validate().map_err(|e| {
            PluginError::new(
                &self.path,
                PluginErrorKind::BadSpec,
                format!("metric #{index}: {e}"),
            )
        })?;
        Ok(spec)
    }

    /// The spec of SAE architecture `index`, parsed.
    pub fn sae_spec(&self, index: u32) -> Result<SaeSpec, PluginError> {
        let json = self
            .spec_json(self.decl().sae_spec_json, index, "SAE architecture")
            .map_err(|e| {
                PluginError::new(
                    &self.path,
                    PluginErrorKind::Failed,
                    format!("SAE architecture #{index}: spec() failed: {e}"),
                )
            })?;
        let spec: SaeSpec = serde_json::from_str(&json).map_err(|e| {
            PluginError::new(
                &self.path,
                PluginErrorKind::BadSpec,
                format!("SAE architecture #{index}: spec is not valid SaeSpec JSON: {e}"),
            )
        })?;
        // Declared hyperparameters, knob and SAELens layout must agree with
        // each other: the host trains and loads from them.
        spec.validate().map_err(|e| {
            PluginError::new(
                &self.path,
                PluginErrorKind::BadSpec,
                format!("SAE architecture #{index}: {e:#}"),
            )
        })?;
        Ok(spec)
    }
}
