//! `rdpbench plugins list|inspect` and `rdpbench new metric`.

use anyhow::{Context, Result};
use rdpbench_plugin_host::{PluginSearch, PluginSet};
use rdpbench_runner::scaffold::{self, PluginKind};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes machine output to stdout.
pub fn out(text: &str) -> Result<()> {
    let text = rdpbench_schema::sanitize::neutralize_text(text);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    Ok(())
}

/// The folder of the running binary: cargo's `target/<profile>`, where the
/// workspace's own plugins are built.
pub fn build_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

/// Environment variable with extra plugin folders (`:`-separated, like `PATH`).
pub const PLUGIN_PATH_ENV: &str = "RDPBENCH_PLUGIN_PATH";

/// The plugin search the configuration describes, plus the entries of
/// `RDPBENCH_PLUGIN_PATH`: folders, or single files (a library or a `.py`
/// metric).
pub fn search_of(config: &Config) -> PluginSearch {
    let mut dirs = config.plugins.paths.clone();
    let mut files = Vec::new();
    if let Some(extra) = std::env::var_os(PLUGIN_PATH_ENV) {
        for p in std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()) {
            if p.is_file() {
                files.push(p);
            } else {
                dirs.push(p);
            }
        }
    }
    PluginSearch {
        dirs,
        build_dirs: if config.plugins.build_dir {
            build_dir().into_iter().collect()
        } else {
            Vec::new()
        },
        files,
    }
}

/// Reports load errors on stderr; returns the exit class they imply.
pub fn report_errors(set: &PluginSet) -> Exit {
    for e in &set.errors {
        eprintln!(
            "error: {}",
            rdpbench_schema::sanitize::neutralize(&e.to_string())
        );
    }
    if set.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Plugin
    }
}

fn specs_json(set: &PluginSet) -> serde_json::Value {
    serde_json::json!({
        "metrics": set.metrics.iter().map(|m| serde_json::json!({
            "spec": m.cached_spec(),
            "library": m.library().path(),
            "sha256": m.library().sha256(),
        })).collect::<Vec<_>>(),
        "saes": set.saes.iter().map(|s| serde_json::json!({
            "spec": rdpbench_sdk::SaeArchitecture::spec(s),
            "library": s.library().path(),
            "sha256": s.library().sha256(),
        })).collect::<Vec<_>>(),
        "errors": set.errors,
    })
}

fn table(set: &PluginSet) -> String {
    let mut rows = vec![[
        "KIND".to_string(),
        "ID".to_string(),
        "ORIENTATION".to_string(),
        "INPUTS".to_string(),
        "LIBRARY".to_string(),
    ]];
    for m in &set.metrics {
        let s = m.cached_spec();
        let kind = if s.is_oracle() {
            "metric (oracle)"
        } else {
            "metric"
        };
        rows.push([
            kind.to_string(),
            s.id.clone(),
            match s.orientation {
                rdpbench_sdk::Orientation::HigherIsMorePolysemantic => "higher = more poly",
                rdpbench_sdk::Orientation::HigherIsLessPolysemantic => "higher = less poly",
            }
            .to_string(),
            s.inputs
                .iter()
                .map(|i| i.name())
                .collect::<Vec<_>>()
                .join(","),
            m.library().path().display().to_string(),
        ]);
    }
    for a in &set.saes {
        let s = rdpbench_sdk::SaeArchitecture::spec(a);
        rows.push([
            "sae".to_string(),
            s.id,
            "-".to_string(),
            s.saelens_architecture,
            a.library().path().display().to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    for m in &set.metrics {
        let s = m.cached_spec();
        text.push_str(&format!(
            "\n{} (v{}): {}\n  citation: {}\n",
            s.id, s.version, s.description, s.citation
        ));
    }
    text
}

pub fn list(config: &Config, json: bool) -> Result<Exit> {
    let set = PluginSet::discover(&search_of(config));
    if json {
        out(&serde_json::to_string_pretty(&specs_json(&set))?)?;
    } else {
        if set.metrics.is_empty() && set.saes.is_empty() && set.errors.is_empty() {
            eprintln!(
                "no plugins found; build them with `cargo build --workspace` or add folders to \
                 [plugins].paths"
            );
        }
        out(&table(&set))?;
    }
    Ok(report_errors(&set))
}

pub fn inspect(path: &Path, json: bool) -> Result<Exit> {
    if !path.is_file() {
        return Err(usage_error(anyhow::anyhow!(
            "{} is not a file",
            path.display()
        )));
    }
    let mut set = PluginSet::default();
    set.load_file(path);
    if let Some(lib) = set.libraries.first() {
        if json {
            let mut v = specs_json(&set);
            v["abi_version"] = rdpbench_sdk::abi::ABI_VERSION.into();
            v["sdk_version"] = lib.sdk_version().into();
            out(&serde_json::to_string_pretty(&v)?)?;
        } else {
            let mut text = format!(
                "library:     {}\nsha256:      {}\nabi version: {}\nsdk version: {}\nmetrics:     {}\nsaes:        {}\n",
                lib.path().display(),
                lib.sha256(),
                rdpbench_sdk::abi::ABI_VERSION,
                lib.sdk_version(),
                lib.metric_count(),
                lib.sae_count(),
            );
            for m in &set.metrics {
                text.push_str(&format!(
                    "\n{}\n",
                    serde_json::to_string_pretty(m.cached_spec())?
                ));
            }
            out(&text)?;
        }
    }
    Ok(report_errors(&set))
}

/// `rdpbench new metric|sae NAME [--dir PARENT]`: scaffolds a plugin crate
/// in the workspace (`metrics/NAME`, `plugins/sae-NAME`) or, with `--dir`,
/// a standalone crate in `PARENT/NAME` (`PARENT/sae-NAME`).
pub fn new_plugin(kind: PluginKind, name: &str, dir: Option<PathBuf>) -> Result<Exit> {
    scaffold::validate_name(name).map_err(usage_error)?;
    let dest = match dir {
        Some(parent) => parent.join(kind.crate_folder(name)),
        None => {
            let cwd = std::env::current_dir()?;
            let root = scaffold::find_workspace_root(&cwd)
                .context(
                    "not inside the rdpbench workspace: pass --dir PARENT for a standalone crate",
                )
                .map_err(usage_error)?;
            kind.workspace_folder(&root, name)
        }
    };
    let files = scaffold::create(kind, name, &dest).map_err(usage_error)?;
    for f in &files {
        eprintln!("created {}", f.display());
    }
    let package = kind.package(name);
    let lib = package.replace('-', "_");
    let in_workspace = std::fs::read_to_string(dest.join("Cargo.toml"))
        .is_ok_and(|t| t.contains("rdpbench-sdk.workspace = true"));
    if in_workspace {
        eprintln!(
            "next: `cargo build --release -p {package}`, then `rdpbench plugins list` (the workspace's build folder is searched)"
        );
    } else {
        eprintln!(
            "next: `cargo build --release --manifest-path {}/Cargo.toml`, then \
             `RDPBENCH_PLUGIN_PATH={}/target/release rdpbench plugins list` (finds lib{lib}.so)",
            dest.display(),
            dest.display()
        );
    }
    Ok(Exit::Ok)
}

/// `rdpbench new metric NAME --lang python [--dir DIR]`: writes `DIR/NAME.py`
/// (dashes as underscores; DIR defaults to the current folder) from the
/// Python template, and prints how to check it.
pub fn new_python_metric(name: &str, dir: Option<PathBuf>) -> Result<Exit> {
    scaffold::validate_name(name).map_err(usage_error)?;
    let dir = match dir {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    let file = scaffold::create_python_metric(name, &dir).map_err(usage_error)?;
    eprintln!("created {}", file.display());
    eprintln!(
        "next: `rdpbench check --plugin {} --metrics {name} --seeds 0` (or \
         `RDPBENCH_PLUGIN_PATH={} rdpbench check --metrics {name}`); needs python3 with numpy \
         ({} names another interpreter)",
        file.display(),
        dir.display(),
        rdpbench_plugin_host::python::PYTHON_ENV,
    );
    Ok(Exit::Ok)
}
