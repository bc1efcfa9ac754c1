//! The layout's promises, checked on the sources themselves:
//! - the host's non-test sources name no SAE architecture (every in-tree
//!   `plugins/sae-*` id is looked for as a string literal);
//! - no module of any workspace crate reaches, through `crate::` paths, a
//!   module that reaches back to it (no module cycles);
//! - `metrics/` holds only metric plugins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `text` without its `#[cfg(test)]` items (a `mod tests { … }` block or a
/// single item), found by brace matching.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(open) = after.find('{') else { break };
        let semi = after.find(';').unwrap_or(usize::MAX);
        if semi < open {
            rest = &after[semi + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (j, c) in after.char_indices().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Source lines without `//` comments (doc comments included).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim().is_empty())
}

/// The host's crates: everything the CLI is built from.
const HOST_SOURCES: [&str; 6] = [
    "harness/schema/src",
    "harness/store/src",
    "harness/plugin-host/src",
    "harness/runner/src",
    "harness/cli/src",
    "reports/src",
];

#[test]
fn host_sources_name_no_architecture() {
    let ids: Vec<String> = std::fs::read_dir(root().join("plugins"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("sae-").map(str::to_string)
        })
        // `plugins/sae-template` is what `rdpbench new sae` copies: the
        // scaffold names it (as it names `metrics/template`), no stage does.
        .filter(|id| id != "template")
        .collect();
    assert!(ids.len() >= 6, "in-tree architectures: {ids:?}");
    let mut found = Vec::new();
    for dir in HOST_SOURCES {
        let mut files = Vec::new();
        rust_files(&root().join(dir), &mut files);
        for f in files {
            let text = without_tests(&std::fs::read_to_string(&f).unwrap());
            for line in code_lines(&text) {
                for id in &ids {
                    if line.contains(&format!("\"{id}\"")) {
                        found.push(format!("{}: {}", f.display(), line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "architecture names in host sources:\n{}",
        found.join("\n")
    );
}

/// The top-level module a file belongs to (`src/a/b.rs` → `a`; `src/lib.rs`
/// and `src/main.rs` → none).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let m = first.trim_end_matches(".rs").to_string();
    (m != "lib" && m != "main").then_some(m)
}

/// The identifier `s` starts with (after spaces).
fn ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Cycle among the top-level modules of the crate in `src`, if any.
fn module_cycle(src: &Path) -> Option<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = top_module(src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let uses = edges.entry(from.clone()).or_default();
        for line in code_lines(&text) {
            for (i, _) in line.match_indices("crate::") {
                let before = line[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue; // `rdpbench_crate::`, `$crate::`
                }
                let after = &line[i + 7..];
                // `crate::{a::X, b}` names several modules on one line.
                let group = after
                    .strip_prefix('{')
                    .map(|g| g.split('}').next().unwrap_or(g));
                let names: Vec<String> = match group {
                    Some(g) => g.split(',').map(ident).collect(),
                    None => vec![ident(after)],
                };
                for name in names {
                    let is_module = files
                        .iter()
                        .any(|g| top_module(src, g).as_deref() == Some(name.as_str()));
                    if is_module && name != from {
                        uses.insert(name);
                    }
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, &edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_crate_has_a_module_cycle() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let table: toml::Table = manifest.parse().unwrap();
    let members = table["workspace"]["members"].as_array().unwrap();
    let mut crates = Vec::new();
    for m in members {
        let pattern = m.as_str().unwrap();
        match pattern.strip_suffix("/*") {
            Some(parent) => {
                for e in std::fs::read_dir(root().join(parent)).unwrap().flatten() {
                    if e.path().join("Cargo.toml").is_file() {
                        crates.push(e.path());
                    }
                }
            }
            None => crates.push(root().join(pattern)),
        }
    }
    assert!(crates.len() > 20, "{crates:?}");
    let mut cycles = Vec::new();
    for c in &crates {
        let src = c.join("src");
        if src.is_dir()
            && let Some(cycle) = module_cycle(&src)
        {
            cycles.push(format!("{}: {}", c.display(), cycle.join(" -> ")));
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let dir = std::env::temp_dir().join(format!("rdpbench-layout-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("src/a.rs"), "use crate::b::B;\n").unwrap();
    std::fs::write(
        dir.join("src/b.rs"),
        "pub struct B;\n// crate::a in a comment\n",
    )
    .unwrap();
    assert_eq!(module_cycle(&dir.join("src")), None);
    std::fs::write(
        dir.join("src/b.rs"),
        "use crate::{x, a::A};\npub struct B(A);\n",
    )
    .unwrap();
    let cycle = module_cycle(&dir.join("src")).expect("a -> b -> a");
    assert_eq!(cycle.first(), cycle.last());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn metrics_holds_only_metric_plugins() {
    for e in std::fs::read_dir(root().join("metrics")).unwrap().flatten() {
        let manifest = e.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let table: toml::Table = std::fs::read_to_string(&manifest).unwrap().parse().unwrap();
        let name = table["package"]["name"].as_str().unwrap();
        let lib = &table["lib"]["crate-type"];
        assert!(
            name.starts_with("rdpbench-metric-") && lib.to_string().contains("cdylib"),
            "{}: {name} is not a metric plugin",
            manifest.display()
        );
    }
}

#[test]
fn test_items_are_skipped_but_code_is_kept() {
    let text = "fn a() {}\n#[cfg(test)]\nmod tests { fn t() { let x = \"topk\"; } }\nfn b() {}\n";
    let kept = without_tests(text);
    assert!(kept.contains("fn a()") && kept.contains("fn b()") && !kept.contains("topk"));
}
