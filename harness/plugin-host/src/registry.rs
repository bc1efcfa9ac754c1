//! Discovering plugins in folders, loading them, and resolving id collisions.
//! One bad file never stops the others: its problem is recorded and the
//! search goes on.

use crate::library::PluginLibrary;
use crate::metric::LoadedMetric;
use crate::sae::LoadedSae;
use rdpbench_schema::results::{PluginError, PluginErrorKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Shared-library file extension on this platform.
pub const DYLIB_EXTENSION: &str = std::env::consts::DLL_EXTENSION;

/// Library file-name prefixes of plugins built in this workspace. In a cargo
/// build folder only these are loaded (the folder holds other libraries, and
/// our deliberately broken test plugins); in a plugin folder, every library is.
pub const BUILD_DIR_PREFIXES: [&str; 2] = ["rdpbench_metric_", "rdpbench_sae_"];

/// Where to look for plugins.
#[derive(Debug, Clone, Default)]
pub struct PluginSearch {
    /// Folders whose every shared library is a plugin.
    pub dirs: Vec<PathBuf>,
    /// Cargo build folders (e.g. `target/release`): only `librdpbench_metric_*`
    /// and `librdpbench_sae_*` libraries are loaded.
    pub build_dirs: Vec<PathBuf>,
    /// Individual library files.
    pub files: Vec<PathBuf>,
}

/// Everything that was loaded, and everything that went wrong.
#[derive(Debug, Default)]
pub struct PluginSet {
    pub libraries: Vec<Arc<PluginLibrary>>,
    pub metrics: Vec<LoadedMetric>,
    pub saes: Vec<LoadedSae>,
    pub errors: Vec<PluginError>,
    /// The wall-clock limits of calls into these libraries
    /// ([`PluginSet::set_call_limits`]).
    pub call_limits: crate::call_gate::CallLimits,
}

fn is_library(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some(DYLIB_EXTENSION)
}

/// A Python metric file (`*.py`; see [`crate::python`]).
pub fn is_python_metric(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some(crate::python::PYTHON_EXTENSION)
}

fn file_stem_without_lib(path: &Path) -> Option<&str> {
    let stem = path.file_stem()?.to_str()?;
    Some(stem.strip_prefix("lib").unwrap_or(stem))
}

/// Library files of a folder, sorted by name so runs are deterministic;
/// in a plugin folder (not a build folder) Python metric files too.
fn list_dir(dir: &Path, only_workspace_plugins: bool) -> Result<Vec<PathBuf>, std::io::Error> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let python = !only_workspace_plugins && is_python_metric(&path);
        if !path.is_file() || !(is_library(&path) || python) {
            continue;
        }
        if python {
            out.push(path);
            continue;
        }
        if only_workspace_plugins {
            let Some(stem) = file_stem_without_lib(&path) else {
                continue;
            };
            if !BUILD_DIR_PREFIXES.iter().any(|p| stem.starts_with(p)) {
                continue;
            }
        }
        out.push(path);
    }
    out.sort();
    Ok(out)
}

/// Reads a spec on a thread of its own, bounded by the library's call limit
/// (none set: on this thread). A read that overruns it blocks the library
/// (see [`crate::call_gate`]) and is a load error naming the hang; the
/// reading thread is abandoned inside the plugin.
fn read_spec<T: Send + 'static>(
    lib: &Arc<PluginLibrary>,
    read: impl FnOnce(&PluginLibrary) -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    if lib.gate().limits().call.is_none() {
        return read(lib);
    }
    let failed = |message: String| PluginError::new(lib.path(), PluginErrorKind::Failed, message);
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = lib.clone();
    std::thread::Builder::new()
        .name("spec-read".into())
        .spawn(move || {
            let _ = tx.send(read(&owned));
        })
        .map_err(|e| failed(format!("cannot start a thread to read its spec: {e}")))?;
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(20)) {
            Ok(result) => return result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(failed("reading its spec panicked the host thread".into()));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Some(hang) = lib.gate().overdue() {
                    lib.gate().block(hang.clone());
                    return Err(failed(format!(
                        "{hang}; its other declarations are skipped"
                    )));
                }
            }
        }
    }
}

impl PluginSet {
    /// Loads every plugin the search names. Missing build folders are skipped
    /// quietly (nothing was built there yet); a missing plugin folder or file
    /// is recorded as an error.
    pub fn discover(search: &PluginSearch) -> Self {
        Self::discover_limited(search, crate::call_gate::CallLimits::default())
    }

    /// [`PluginSet::discover`] with wall-clock `limits` on every call into
    /// the libraries, from the first spec read on.
    pub fn discover_limited(search: &PluginSearch, limits: crate::call_gate::CallLimits) -> Self {
        let mut set = PluginSet {
            call_limits: limits,
            ..PluginSet::default()
        };
        let mut files: Vec<PathBuf> = Vec::new();
        for dir in &search.dirs {
            match list_dir(dir, false) {
                Ok(found) => files.extend(found),
                Err(e) => set.errors.push(PluginError::new(
                    dir,
                    PluginErrorKind::NotALibrary,
                    format!("cannot read plugin folder: {e}"),
                )),
            }
        }
        for dir in &search.build_dirs {
            if let Ok(found) = list_dir(dir, true) {
                files.extend(found);
            }
        }
        files.extend(search.files.iter().cloned());
        let mut seen = std::collections::BTreeSet::new();
        for path in files {
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                set.load_file(&path);
            }
        }
        set
    }

    /// Loads one library and registers its metrics and architectures.
    pub fn load_file(&mut self, path: &Path) {
        tracing::debug!(path = %path.display(), "loading plugin");
        let opened = if is_python_metric(path) {
            PluginLibrary::open_python(path, self.call_limits.call)
        } else {
            PluginLibrary::open(path)
        };
        let lib = match opened {
            Ok(lib) => {
                lib.gate().set_limits(self.call_limits);
                Arc::new(lib)
            }
            Err(e) => {
                self.errors.push(e);
                return;
            }
        };
        for i in 0..lib.metric_count() {
            match read_spec(&lib, move |l| l.metric_spec(i)) {
                Ok(spec) => {
                    if let Some(other) = self.metrics.iter().find(|m| m.id() == spec.id) {
                        self.errors.push(PluginError::new(
                            path,
                            PluginErrorKind::IdCollision,
                            format!(
                                "metric id `{}` is already provided by {}; this one is skipped",
                                spec.id,
                                other.library().path().display()
                            ),
                        ));
                        continue;
                    }
                    self.metrics.push(LoadedMetric::new(lib.clone(), i, spec));
                }
                Err(e) => self.errors.push(e),
            }
        }
        for i in 0..lib.sae_count() {
            match read_spec(&lib, move |l| l.sae_spec(i)) {
                Ok(spec) => {
                    if let Some(other) = self.saes.iter().find(|s| s.id() == spec.id) {
                        self.errors.push(PluginError::new(
                            path,
                            PluginErrorKind::IdCollision,
                            format!(
                                "SAE architecture id `{}` is already provided by {}; this one is skipped",
                                spec.id,
                                other.library().path().display()
                            ),
                        ));
                        continue;
                    }
                    self.saes.push(LoadedSae::new(lib.clone(), i, spec));
                }
                Err(e) => self.errors.push(e),
            }
        }
        self.libraries.push(lib);
    }

    /// The SAE architecture plugin `id`, or an error naming the loaded ones.
    pub fn sae(&self, id: &str) -> anyhow::Result<&LoadedSae> {
        self.saes.iter().find(|s| s.id() == id).ok_or_else(|| {
            let have: Vec<&str> = self.saes.iter().map(|s| s.id()).collect();
            anyhow::anyhow!(
                "no SAE architecture plugin `{id}` is loaded (loaded: {have:?}); build them with `cargo build --release --workspace`, or add the plugin's folder to RDPBENCH_PLUGIN_PATH"
            )
        })
    }

    /// The sparsity knob that SAE architecture `id` declares.
    pub fn sparsity_knob(&self, id: &str) -> anyhow::Result<String> {
        Ok(self.sae(id)?.sparsity_knob()?.to_string())
    }

    pub fn metric(&self, id: &str) -> Option<&LoadedMetric> {
        self.metrics.iter().find(|m| m.id() == id)
    }

    /// Keeps only the metrics whose ids are listed (all when `ids` is empty);
    /// an unknown id is an error naming the ids that exist.
    pub fn select_metrics(&mut self, ids: &[String]) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let known: BTreeMap<&str, ()> = self.metrics.iter().map(|m| (m.id(), ())).collect();
        for id in ids {
            if !known.contains_key(id.as_str()) {
                anyhow::bail!(
                    "no loaded metric has id `{id}`; loaded: {}",
                    known.keys().copied().collect::<Vec<_>>().join(", ")
                );
            }
        }
        self.metrics.retain(|m| ids.iter().any(|id| id == m.id()));
        Ok(())
    }
}
