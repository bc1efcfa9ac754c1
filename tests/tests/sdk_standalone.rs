//! The plugin-author crates (`plugins/{api,abi,train,sdk,kernels}`) build
//! outside the workspace: their manifests inherit nothing from it (a
//! workspace field cannot be found from a copied or symlinked folder), and
//! what they spell out equals what the workspace pins.

mod common;

use common::Scratch;
use std::path::Path;
use std::process::Command;

const CRATES: [&str; 5] = ["api", "abi", "train", "sdk", "kernels"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn manifest(path: &Path) -> toml::Table {
    std::fs::read_to_string(path)
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A dependency spec as a table (a bare string is a version).
fn as_table(v: &toml::Value) -> toml::Table {
    match v {
        toml::Value::String(s) => {
            let mut t = toml::Table::new();
            t.insert("version".into(), s.clone().into());
            t
        }
        toml::Value::Table(t) => t.clone(),
        other => panic!("dependency spec {other}"),
    }
}

#[test]
fn plugin_author_crates_inherit_nothing_and_pin_what_the_workspace_pins() {
    let ws = manifest(&root().join("Cargo.toml"));
    let ws = ws["workspace"].as_table().unwrap();
    let ws_deps = ws["dependencies"].as_table().unwrap();
    let ws_pkg = ws["package"].as_table().unwrap();
    for c in CRATES {
        let path = root().join("plugins").join(c).join("Cargo.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("workspace = true"),
            "{}: inherits from the workspace",
            path.display()
        );
        let m = manifest(&path);
        let pkg = m["package"].as_table().unwrap();
        for key in ["version", "edition", "rust-version"] {
            assert_eq!(pkg.get(key), ws_pkg.get(key), "{c}: package.{key}");
        }
        assert_eq!(m.get("lints"), ws.get("lints"), "{c}: lints");
        let mut tables = vec![m.get("dependencies")];
        if let Some(targets) = m.get("target").and_then(|t| t.as_table()) {
            tables.extend(targets.values().map(|t| t.get("dependencies")));
        }
        for deps in tables.into_iter().flatten() {
            for (name, spec) in deps.as_table().unwrap() {
                let ours = as_table(spec);
                // A dependency only this crate uses (kernels: pulp) has no pin to match.
                let Some(theirs) = ws_deps.get(name).map(as_table) else {
                    continue;
                };
                for key in ["version", "features", "default-features"] {
                    assert_eq!(ours.get(key), theirs.get(key), "{c}: {name}.{key}");
                }
                if let Some(p) = theirs.get("path").and_then(|p| p.as_str()) {
                    let ours_path = ours["path"].as_str().unwrap();
                    assert_eq!(
                        std::fs::canonicalize(path.parent().unwrap().join(ours_path)).unwrap(),
                        std::fs::canonicalize(root().join(p)).unwrap(),
                        "{c}: {name}.path"
                    );
                }
            }
        }
    }
}

#[test]
fn a_plugin_crate_resolves_the_sdk_through_a_symlinked_plugins_folder() {
    let s = Scratch::new("sdk-symlink");
    let krate = s.path().join("my-metric");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root().join("plugins"), krate.join("plugins")).unwrap();
    #[cfg(not(unix))]
    return;
    std::fs::write(krate.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"my-metric\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nrdpbench-sdk = { path = \"plugins/sdk\" }\n\
         rdpbench-kernels = { path = \"plugins/kernels\" }\n\n[workspace]\n",
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--offline", "--format-version", "1"])
        .current_dir(&krate)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for c in CRATES {
        let name = format!("rdpbench-{c}");
        assert!(names.contains(&name.as_str()), "{name} not in {names:?}");
    }
}
