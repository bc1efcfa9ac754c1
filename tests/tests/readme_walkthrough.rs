//! Replays README.md's "Write your first metric plugin" walkthrough, command
//! by command, in a scratch workspace: what the README promises is what a
//! user gets.
//!
//! In the README, `rdpbench` stands for the built binary; here it is this
//! build's binary. The scratch workspace has the same shape as ours (a
//! `[workspace]` with `metrics/*` members and `rdpbench-sdk` as a workspace
//! dependency), and its plugins are found through `RDPBENCH_PLUGIN_PATH`,
//! since they are not built next to this binary.

mod common;

use common::{Scratch, build_dir, rdpbench, run};
use std::process::Command;

fn walkthrough_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("README has a walkthrough:start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README has a walkthrough:end marker");
    readme[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("rdpbench ") || l.starts_with("cargo "))
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn readme_walkthrough_works_as_written() {
    let commands = walkthrough_commands();
    assert!(
        commands.len() >= 3,
        "walkthrough has its commands: {commands:?}"
    );
    let ws = Scratch::new("walkthrough");
    let sdk =
        std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk")).unwrap();
    std::fs::write(
        ws.path().join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"3\"\nmembers = [\"metrics/*\"]\n\n[workspace.dependencies]\n\
             rdpbench-sdk = {{ path = {:?} }}\nanyhow = \"1\"\nserde = {{ version = \"1\", features = [\"derive\"] }}\n",
            sdk.display().to_string()
        ),
    )
    .unwrap();
    // Persistent across runs, so only the first run compiles the SDK.
    let target = build_dir().join("walkthrough-target");
    let mut listed = String::new();
    for cmd in &commands {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let mut c = if words[0] == "rdpbench" {
            rdpbench()
        } else {
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        };
        c.args(&words[1..])
            .current_dir(ws.path())
            .env("CARGO_TARGET_DIR", &target)
            .env("RDPBENCH_PLUGIN_PATH", target.join("release"));
        let (code, stdout, stderr) = run(&mut c);
        assert_eq!(
            code, 0,
            "`{cmd}` failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        if cmd.contains("plugins list") {
            listed.push_str(&stdout);
        }
    }
    assert!(
        ws.path().join("metrics/my-metric/src/lib.rs").is_file(),
        "the walkthrough scaffolds metrics/my-metric"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.contains("my-metric") && l.contains("librdpbench_metric_my_metric")),
        "`rdpbench plugins list` shows my-metric:\n{listed}"
    );
}
