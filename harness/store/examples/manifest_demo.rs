//! Writes a small results folder through the store and prints its run.json:
//! `cargo run -p rdpbench-store --example manifest_demo [FOLDER]`.

use rdpbench_store::{ResultDir, ResultFile, Stage, Status, Store, StoreError};
use std::io::Write;

fn main() -> Result<(), StoreError> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("rdpbench-store-demo"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = Store::open(&dir, "rdpbench run --skip bench")?;
    store.start_run(&[Stage::Bench])?;
    store.run_stage(Stage::Check, |w| {
        w.write(ResultFile::CheckJson, b"{\"schema_version\": 1}\n")?;
        w.write(ResultFile::CheckCsv, b"metric,condition,verdict\n")?;
        Ok::<_, StoreError>(())
    })?;
    store.run_stage(Stage::Train, |w| {
        w.commit_folder(
            ResultDir::TrainSaes,
            "topk-k8-s0",
            &[
                ("cfg.json", b"{\"architecture\": \"topk\"}\n"),
                ("sae_weights.safetensors", b"...weights..."),
            ],
        )?;
        w.write_in(ResultDir::TrainSaes, "topk-k8-s0/eval.json", b"{}\n")?;
        w.write(ResultFile::TrainJson, b"{\"jobs\": []}\n")?;
        Ok::<_, StoreError>(())
    })?;
    let r: Result<(), Box<dyn std::error::Error>> =
        store.run_stage(
            Stage::Rdp,
            |_| Err("no SAE plugin `gated` is loaded".into()),
        );
    assert!(r.is_err());
    store.mark(Stage::Real, Status::Skipped, "no --real-cache")?;
    let text =
        std::fs::read(dir.join(rdpbench_store::MANIFEST_FILE)).map_err(|e| StoreError::Io {
            op: "read".into(),
            path: dir.join(rdpbench_store::MANIFEST_FILE),
            source: e,
        })?;
    std::io::stdout().write_all(&text).expect("stdout");
    Ok(())
}
