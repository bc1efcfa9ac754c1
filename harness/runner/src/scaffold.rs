//! `rdpbench new metric NAME`: a ready-to-build metric crate, copied from
//! `metrics/template` (embedded in the binary at build time).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const TEMPLATE_CARGO_TOML: &str = include_str!("../../../metrics/template/Cargo.toml");
const TEMPLATE_LIB_RS: &str = include_str!("../../../metrics/template/src/lib.rs");
const TEMPLATE_ID: &str = "label-entropy";
const TEMPLATE_TYPE: &str = "LabelEntropy";
const TEMPLATE_PACKAGE: &str = "rdpbench-metric-template";
/// The SDK's source folder as this binary was built; used when the new crate
/// lives outside the rdpbench workspace.
const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugins/sdk");

/// Checks a metric name: 2-48 chars of `[a-z0-9-]`, starting with a letter,
/// no leading/trailing/double dash.
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
            "metric name {name:?} is not valid: use 2-48 characters of a-z, 0-9 and single \
             dashes, starting with a letter (e.g. `my-metric`)"
        );
    }
    if name == "template" {
        bail!("`template` is taken by the template itself");
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

/// The files of a new metric crate: `(relative path, contents)`.
/// `in_workspace` keeps `workspace = true` dependencies; otherwise the crate
/// is standalone and depends on the SDK by path.
pub fn render(name: &str, in_workspace: bool) -> Result<Vec<(PathBuf, String)>> {
    validate_name(name)?;
    let camel = camel_case(name);
    let mut cargo = TEMPLATE_CARGO_TOML
        .replace(TEMPLATE_PACKAGE, &format!("rdpbench-metric-{name}"))
        .lines()
        .map(|l| {
            if l.starts_with("description") {
                format!("description = \"rdpbench metric plugin: {name}.\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    cargo.push('\n');
    if !in_workspace {
        let sdk = std::fs::canonicalize(SDK_DIR)
            .with_context(|| format!("the rdpbench SDK sources are not at {SDK_DIR}"))?;
        cargo = cargo
            .replace(
                "rdpbench-sdk.workspace = true",
                &format!(
                    "rdpbench-sdk = {{ path = {:?} }}",
                    sdk.display().to_string()
                ),
            )
            .replace("anyhow.workspace = true", "anyhow = \"1\"");
        cargo.push_str("\n# Standalone: not part of the rdpbench workspace.\n[workspace]\n");
    }
    let lib = TEMPLATE_LIB_RS
        .replace(&format!("\"{TEMPLATE_ID}\""), &format!("\"{name}\""))
        .replace(TEMPLATE_TYPE, &camel);
    let lib = format!(
        "// Scaffolded by `rdpbench new metric {name}` from the label-entropy template:\n\
         // edit spec() and compute(), keep export_plugin! last.\n{lib}"
    );
    Ok(vec![
        (PathBuf::from("Cargo.toml"), cargo),
        (PathBuf::from("src/lib.rs"), lib),
    ])
}

/// Writes the new crate to `dest` (which must not exist) and returns the files written.
pub fn create(name: &str, dest: &Path) -> Result<Vec<PathBuf>> {
    if dest.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            dest.display()
        );
    }
    let abs_dest = if dest.is_absolute() {
        dest.to_path_buf()
    } else {
        std::env::current_dir()?.join(dest)
    };
    let in_workspace = abs_dest.parent().and_then(find_workspace_root).is_some();
    let files = render(name, in_workspace)?;
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dest.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent"))
            .with_context(|| format!("cannot create {}", dest.display()))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
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
    fn render_renames_package_id_and_type() {
        let files = render("my-metric", true).unwrap();
        let cargo = &files[0].1;
        let lib = &files[1].1;
        assert!(cargo.contains("name = \"rdpbench-metric-my-metric\""));
        assert!(cargo.contains("rdpbench-sdk.workspace = true"));
        assert!(lib.contains("const ID: &str = \"my-metric\";"));
        assert!(lib.contains("pub struct MyMetric;"));
        assert!(lib.contains("export_plugin!(metrics: [MyMetric])"));
        assert!(!lib.contains("LabelEntropy"));
        let standalone = render("my-metric", false).unwrap();
        assert!(standalone[0].1.contains("rdpbench-sdk = { path = "));
        assert!(standalone[0].1.contains("[workspace]"));
    }
}
