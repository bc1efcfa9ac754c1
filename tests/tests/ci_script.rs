//! `.ci/run` runs the test command that README.md documents.

#[test]
fn ci_runs_the_readme_test_command() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    let command = "cargo build --workspace && cargo test --workspace";
    assert!(readme.contains(command), "README.md documents `{command}`");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run runs `{command}`"
    );
}
