//! `rdpbench new metric NAME` and `rdpbench new sae NAME`: a ready-to-build
//! plugin crate, copied from the in-tree template of its kind
//! (`metrics/template` or `plugins/sae-template`, embedded in the binary at
//! build time) with the package, id and type renamed.
//!
//! Inside the rdpbench workspace the crate keeps `workspace = true`
//! dependencies (and `metrics/*` / `plugins/sae-*` make it a member).
//! Anywhere else it is standalone: every workspace dependency is rewritten
//! to what the workspace's own `Cargo.toml` pins (rdpbench crates by a path
//! *relative to the new crate* to the sources this binary was built from, so
//! no absolute path is baked in), with rdpbench's build profiles. It gets an
//! empty `[workspace]` only when an enclosing Cargo workspace would
//! otherwise claim it.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The workspace manifest this binary was built with: the versions and
/// features a standalone plugin crate pins.
const WORKSPACE_CARGO_TOML: &str = include_str!("../../../Cargo.toml");
/// The workspace root as this binary was built.
const WORKSPACE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// One kind of plugin the scaffold makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Metric,
    Sae,
}

/// An in-tree template crate.
#[derive(Debug)]
struct Template {
    cargo_toml: &'static str,
    lib_rs: &'static str,
    /// The `id` the template declares, as a Rust string literal.
    id_literal: &'static str,
    /// The template's type name.
    type_name: &'static str,
    package: &'static str,
    package_prefix: &'static str,
    /// Where new in-tree crates of this kind go, relative to the workspace.
    folder: &'static str,
    /// The template's own folder name (a reserved plugin name).
    folder_name: &'static str,
}

impl PluginKind {
    fn template(self) -> Template {
        match self {
            PluginKind::Metric => Template {
                cargo_toml: include_str!("../../../metrics/template/Cargo.toml"),
                lib_rs: include_str!("../../../metrics/template/src/lib.rs"),
                id_literal: "\"label-entropy\"",
                type_name: "LabelEntropy",
                package: "rdpbench-metric-template",
                package_prefix: "rdpbench-metric-",
                folder: "metrics",
                folder_name: "template",
            },
            PluginKind::Sae => Template {
                cargo_toml: include_str!("../../../plugins/sae-template/Cargo.toml"),
                lib_rs: include_str!("../../../plugins/sae-template/src/lib.rs"),
                id_literal: "\"template\"",
                type_name: "Template",
                package: "rdpbench-sae-template",
                package_prefix: "rdpbench-sae-",
                folder: "plugins",
                folder_name: "template",
            },
        }
    }

    /// `metric` or `sae`, as the command line spells it.
    pub fn word(self) -> &'static str {
        match self {
            PluginKind::Metric => "metric",
            PluginKind::Sae => "sae",
        }
    }

    /// The folder name of a new crate `name`: `NAME` or `sae-NAME`.
    pub fn crate_folder(self, name: &str) -> String {
        match self {
            PluginKind::Metric => name.to_string(),
            PluginKind::Sae => format!("sae-{name}"),
        }
    }

    /// The in-workspace folder of a new crate `name`: `metrics/NAME` or `plugins/sae-NAME`.
    pub fn workspace_folder(self, root: &Path, name: &str) -> PathBuf {
        root.join(self.template().folder)
            .join(self.crate_folder(name))
    }

    /// The package name of a new crate `name`.
    pub fn package(self, name: &str) -> String {
        format!("{}{name}", self.template().package_prefix)
    }
}

/// Checks a plugin name: 2-48 chars of `[a-z0-9-]`, starting with a letter,
/// no leading/trailing/double dash, not `template`.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = (2..=48).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !ok {
        bail!(
            "plugin name {name:?} is not valid: use 2-48 characters of a-z, 0-9 and single \
             dashes, starting with a letter (e.g. `my-metric`)"
        );
    }
    for kind in [PluginKind::Metric, PluginKind::Sae] {
        if kind.template().folder_name == name {
            bail!("`{name}` is taken by the {} template itself", kind.word());
        }
    }
    Ok(())
}

/// `my-metric` → `MyMetric`.
pub fn camel_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The rdpbench workspace root above `start`: a folder whose `Cargo.toml` has
/// a `[workspace]` that declares `rdpbench-sdk`.
pub fn find_workspace_root(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest)
            && text.contains("[workspace]")
            && text.contains("rdpbench-sdk")
        {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// `target` relative to the folder `base` (both absolute): `../../x/y`.
pub fn relative_path(target: &Path, base: &Path) -> PathBuf {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The absolute, symlink-free form of `dir`, which may not exist yet: its
/// nearest existing ancestor canonicalised, the rest appended.
fn resolve_new_dir(dir: &Path) -> Result<PathBuf> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()?.join(dir)
    };
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name().map(PathBuf::from).unwrap_or_default());
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let mut out = std::fs::canonicalize(existing)
        .with_context(|| format!("cannot resolve {}", existing.display()))?;
    for part in rest.iter().rev() {
        out.push(part);
    }
    Ok(out)
}

/// The manifest of the nearest Cargo workspace above `dir`, if any.
fn enclosing_workspace(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().skip(1).find_map(|d| {
        let m = d.join("Cargo.toml");
        std::fs::read_to_string(&m)
            .ok()
            .filter(|t| t.lines().any(|l| l.trim() == "[workspace]"))
            .map(|_| m)
    })
}

/// `NAME.workspace = true` / `NAME = { workspace = true, features = [...] }`
/// as the standalone dependency the workspace pins: rdpbench crates by path
/// (relative to `crate_dir` when given, else absolute), others by version,
/// features kept.
fn standalone_dependency(
    line: &str,
    workspace: &toml::Table,
    crate_dir: Option<&Path>,
) -> Result<String> {
    let (name, rest) = line
        .split_once('=')
        .map(|(n, r)| (n.trim(), r.trim()))
        .unwrap_or((line.trim(), ""));
    let name = name.trim_end_matches(".workspace").trim();
    let pinned = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.get(name))
        .with_context(|| {
            format!("the template depends on `{name}`, which the workspace does not pin")
        })?;
    let mut spec = match pinned {
        toml::Value::String(v) => {
            let mut t = toml::Table::new();
            t.insert("version".into(), v.clone().into());
            t
        }
        toml::Value::Table(t) => t.clone(),
        other => bail!("workspace dependency `{name}` is {other}, not a version or a table"),
    };
    if let Some(toml::Value::String(p)) = spec.get("path").cloned() {
        let abs = std::fs::canonicalize(Path::new(WORKSPACE_DIR).join(&p)).with_context(|| {
            format!("the rdpbench sources of `{name}` are not at {WORKSPACE_DIR}/{p}")
        })?;
        let path = match crate_dir {
            Some(dir) => relative_path(&abs, dir),
            None => abs,
        };
        spec.insert("path".into(), path.display().to_string().into());
        spec.remove("version");
    }
    if rest.starts_with('{') {
        let inline: toml::Table = format!("x = {rest}")
            .parse::<toml::Table>()
            .with_context(|| format!("cannot read the template's dependency line `{line}`"))?
            .remove("x")
            .and_then(|v| v.as_table().cloned())
            .unwrap_or_default();
        for (k, v) in inline {
            if k != "workspace" {
                spec.insert(k, v);
            }
        }
    }
    let value = toml::Value::Table(spec);
    Ok(format!("{name} = {value}"))
}

/// Where a new crate goes, as [`render`] needs it.
#[derive(Debug, Clone, Copy)]
pub enum Placement<'a> {
    /// A member of the rdpbench workspace: `workspace = true` dependencies.
    Workspace,
    /// A standalone crate in this (absolute, resolved) folder: rdpbench
    /// crates by relative path, and `[workspace]` when `own_workspace`.
    Standalone {
        crate_dir: &'a Path,
        own_workspace: bool,
    },
}

/// The files of a new plugin crate: `(relative path, contents)` (see the
/// module docs).
pub fn render(
    kind: PluginKind,
    name: &str,
    placement: Placement<'_>,
) -> Result<Vec<(PathBuf, String)>> {
    let (in_workspace, crate_dir, own_workspace) = match placement {
        Placement::Workspace => (true, None, false),
        Placement::Standalone {
            crate_dir,
            own_workspace,
        } => (false, Some(crate_dir), own_workspace),
    };
    validate_name(name)?;
    let t = kind.template();
    let camel = camel_case(name);
    let workspace: toml::Table = WORKSPACE_CARGO_TOML
        .parse()
        .context("the embedded workspace Cargo.toml is not TOML")?;
    let mut lines = Vec::new();
    for l in t.cargo_toml.lines() {
        let line = if l.starts_with("name = ") {
            format!("name = \"{}\"", kind.package(name))
        } else if l.starts_with("description") {
            format!("description = \"rdpbench {} plugin: {name}.\"", kind.word())
        } else if !in_workspace
            && (l.contains(".workspace = true") || l.contains("workspace = true,"))
        {
            if l.trim_start().starts_with('#') {
                l.to_string()
            } else {
                standalone_dependency(l, &workspace, crate_dir)?
            }
        } else {
            l.to_string()
        };
        lines.push(line);
    }
    let mut cargo = lines.join("\n");
    cargo.push('\n');
    if !in_workspace {
        // `[lints] workspace = true` has no workspace to inherit from.
        cargo = cargo.replace("[lints]\nworkspace = true\n", "");
        if own_workspace {
            cargo.push_str(
                "\n# Its own workspace root: the Cargo workspace around this folder would \
                 otherwise claim it.\n# To make it a member of that workspace instead, \
                 delete these two lines and add it to its `members`.\n[workspace]\n",
            );
        }
        if let Some(profile) = workspace.get("profile") {
            // rdpbench's own build profiles (dependencies optimised even in
            // debug builds: candle at opt-level 0 is ~100x slower), so the
            // crate builds like the in-tree plugins.
            let mut t = toml::Table::new();
            t.insert("profile".into(), profile.clone());
            cargo.push_str("\n# rdpbench's build profiles.\n");
            cargo.push_str(&toml::to_string(&t).context("cannot write the build profiles")?);
        }
    }
    let lib = t
        .lib_rs
        .replace(t.id_literal, &format!("\"{name}\""))
        .replace(t.type_name, &camel)
        .replace(
            &t.package.replace('-', "_"),
            &kind.package(name).replace('-', "_"),
        );
    let lib = format!(
        "// Scaffolded by `rdpbench new {} {name}` from {}: edit spec() and the\n\
         // math; keep export_plugin! last.\n{lib}",
        kind.word(),
        t.package
    );
    Ok(vec![
        (PathBuf::from("Cargo.toml"), cargo),
        (PathBuf::from("src/lib.rs"), lib),
    ])
}

/// Writes the new crate to `dest` (which must not exist) and returns the
/// files written; each is written atomically.
pub fn create(kind: PluginKind, name: &str, dest: &Path) -> Result<Vec<PathBuf>> {
    if dest.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            dest.display()
        );
    }
    let abs_dest = resolve_new_dir(dest)?;
    // A workspace member only where the workspace's member globs reach:
    // `metrics/NAME`, `plugins/sae-NAME`. Anywhere else (also inside the
    // workspace's folder tree, e.g. under target/) it is standalone.
    let in_workspace = abs_dest
        .parent()
        .and_then(find_workspace_root)
        .is_some_and(|root| abs_dest == kind.workspace_folder(&root, name));
    let placement = if in_workspace {
        Placement::Workspace
    } else {
        Placement::Standalone {
            crate_dir: &abs_dest,
            own_workspace: enclosing_workspace(&abs_dest).is_some(),
        }
    };
    let files = render(kind, name, placement)?;
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dest.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent"))
            .with_context(|| format!("cannot create {}", dest.display()))?;
        rdpbench_store::write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The Python metric template (`python/metrics/label_entropy.py`).
const PYTHON_TEMPLATE: &str = include_str!("../../../python/metrics/label_entropy.py");
/// The id the Python template declares (in `SPEC` and its docstring).
const PYTHON_TEMPLATE_ID: &str = "label-entropy-py";

/// The file name of a new Python metric `name`: `my_metric.py`.
pub fn python_file_name(name: &str) -> String {
    format!("{}.py", name.replace('-', "_"))
}

/// The text of a new Python metric `name`: the template with its id replaced.
pub fn render_python_metric(name: &str) -> Result<String> {
    validate_name(name)?;
    // The id in SPEC and in the docstring's title.
    let body = PYTHON_TEMPLATE.replace(PYTHON_TEMPLATE_ID, name);
    Ok(format!(
        "# Scaffolded by `rdpbench new metric {name} --lang python` from\n\
         # python/metrics/label_entropy.py: edit SPEC and compute().\n{body}"
    ))
}

/// Writes `dir/NAME.py` (which must not exist) atomically; returns its path.
pub fn create_python_metric(name: &str, dir: &Path) -> Result<PathBuf> {
    let text = render_python_metric(name)?;
    let path = dir.join(python_file_name(name));
    if path.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            path.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    rdpbench_store::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_camel_cased() {
        assert!(validate_name("my-metric").is_ok());
        for bad in ["My", "x", "-a", "a-", "a--b", "a_b", "template", "1abc"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert_eq!(camel_case("my-metric2"), "MyMetric2");
    }

    #[test]
    fn metric_render_renames_package_id_and_type() {
        let files = render(PluginKind::Metric, "my-metric", Placement::Workspace).unwrap();
        let cargo = &files[0].1;
        let lib = &files[1].1;
        assert!(cargo.contains("name = \"rdpbench-metric-my-metric\""));
        assert!(cargo.contains("rdpbench-sdk.workspace = true"));
        assert!(lib.contains("const ID: &str = \"my-metric\";"));
        assert!(lib.contains("pub struct MyMetric;"));
        assert!(lib.contains("export_plugin!(metrics: [MyMetric])"));
        assert!(!lib.contains("LabelEntropy"));
    }

    #[test]
    fn standalone_crates_pin_what_the_workspace_pins() {
        // A crate folder beside the workspace: `../<workspace>/plugins/...`.
        let root = std::fs::canonicalize(WORKSPACE_DIR).unwrap();
        let crate_dir = root.parent().unwrap().join("elsewhere").join("my-plugin");
        for (kind, own_workspace) in [(PluginKind::Metric, false), (PluginKind::Sae, true)] {
            let placement = Placement::Standalone {
                crate_dir: &crate_dir,
                own_workspace,
            };
            let files = render(kind, "my-plugin", placement).unwrap();
            let cargo: toml::Table = files[0].1.parse().expect("valid TOML");
            assert_eq!(
                cargo.contains_key("workspace"),
                own_workspace,
                "{kind:?}: [workspace] only when asked"
            );
            assert!(
                cargo.contains_key("profile"),
                "{kind:?}: rdpbench's profiles"
            );
            assert!(!cargo.contains_key("lints"), "{kind:?}: no inherited lints");
            let deps = cargo["dependencies"].as_table().unwrap();
            for (name, spec) in deps {
                let t = spec.as_table().unwrap_or_else(|| panic!("{name}: {spec}"));
                assert!(!t.contains_key("workspace"), "{kind:?}: {name} inherits");
                if name.starts_with("rdpbench-") {
                    let p = t["path"].as_str().unwrap();
                    assert!(p.starts_with("../"), "{name}: {p} is not relative");
                    // `crate_dir` does not exist: resolve `..` lexically.
                    let mut resolved = crate_dir.clone();
                    for c in Path::new(p).components() {
                        match c {
                            std::path::Component::ParentDir => {
                                resolved.pop();
                            }
                            other => resolved.push(other),
                        }
                    }
                    assert!(
                        resolved.join("Cargo.toml").is_file(),
                        "{name}: {p} → {}",
                        resolved.display()
                    );
                } else {
                    assert!(t.contains_key("version"), "{kind:?}: {name} has no version");
                }
            }
        }
    }

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative_path(Path::new("/a/b/plugins/sdk"), Path::new("/a/c/d")),
            PathBuf::from("../../b/plugins/sdk")
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b")),
            PathBuf::from(".")
        );
    }

    #[test]
    fn python_render_renames_the_id_only() {
        let text = render_python_metric("my-metric").unwrap();
        assert!(text.contains("\"id\": \"my-metric\""), "{text}");
        assert!(!text.contains("label-entropy-py"));
        assert_eq!(python_file_name("my-metric"), "my_metric.py");
        assert!(render_python_metric("Bad").is_err());
    }

    #[test]
    fn sae_render_renames_package_id_and_type() {
        let files = render(PluginKind::Sae, "my-sae", Placement::Workspace).unwrap();
        let (cargo, lib) = (&files[0].1, &files[1].1);
        assert!(cargo.contains("name = \"rdpbench-sae-my-sae\""));
        assert!(lib.contains("id: \"my-sae\".into()"), "{lib}");
        assert!(lib.contains("pub struct MySae;"));
        assert!(lib.contains("CandleSae(MySae)"));
        assert!(!lib.contains("id: \"template\""));
    }
}
