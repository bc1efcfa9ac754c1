//! Shared helpers for the end-to-end tests.
//!
//! The tests load real plugin libraries and run the real `rdpbench` binary.
//! Both are built by `cargo build --workspace`, which the README's test
//! command runs before `cargo test` (cargo test alone does not build the
//! cdylibs of other packages).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A 4-SAE toy train sweep (TopK, d_sae 16, k 1 and 3, seeds 0 and 1, 100
/// steps): the sharded and Slurm tests' `[train]` table.
pub const TRAIN_CONFIG: &str = r#"
[train]
architectures = ["topk"]
widths = [16]
seeds = [0, 1]
steps = 100
batch_size = 128
eval_every = 0
eval_samples = 512

[train.sparsity]
topk = [1.0, 3.0]
"#;

/// cargo's `target/<profile>` folder: this test binary lives in its `deps/`.
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Path of a library built in this workspace, e.g. `lib("test_plugin_nan")`.
pub fn lib(stem: &str) -> PathBuf {
    let name = format!(
        "{}{stem}.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    );
    let p = build_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace` before `cargo test` (see README.md)",
        p.display()
    );
    p
}

/// The `rdpbench` binary of this build.
pub fn rdpbench() -> Command {
    let p = build_dir().join(format!("rdpbench{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace` before `cargo test` (see README.md)",
        p.display()
    );
    let mut c = Command::new(p);
    c.env_remove("RUST_LOG").env_remove("RDPBENCH_PLUGIN_PATH");
    c
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("command runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A fresh, empty folder under the build folder, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = build_dir().join("test-scratch").join(format!(
            "{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch folder");
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a stage body returns: its outcome, the result to store, and the
/// exporters of the result's files.
pub type StageOutput<T, R> = (T, R, Vec<Box<dyn rdpbench_reports::Exporter<R>>>);

/// Runs `body` as `stage` of the results store at `out` (as the CLI does):
/// `body` gets the stage writer and computes; its result is written in
/// every format of its exporters and the stage committed.
pub fn in_stage<T, R>(
    out: &Path,
    stage: rdpbench_store::Stage,
    body: impl FnOnce(&mut rdpbench_store::StageWriter<'_>) -> anyhow::Result<StageOutput<T, R>>,
) -> anyhow::Result<T> {
    let mut store = rdpbench_store::Store::open(out, "rdpbench-tests")?;
    store.run_stage(stage, |w| {
        let (outcome, run, exporters) = body(w)?;
        for e in &exporters {
            let file = e.file().expect("stage exporters render files");
            w.write(file, e.render(&run)?.as_bytes())?;
        }
        Ok(outcome)
    })
}
