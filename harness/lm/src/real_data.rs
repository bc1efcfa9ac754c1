//! Where `scripts/fetch-real-data.sh` puts the optional real data.
//!
//! Root: `$RDPBENCH_REAL_DATA`, else `target/real-data` under the workspace root.
//! Nothing here is required: callers that find a path missing say which set-up step
//! provides it.

use anyhow::{Result, ensure};
use std::path::PathBuf;

/// Environment variable overriding the real-data folder.
pub const ENV_VAR: &str = "RDPBENCH_REAL_DATA";
/// The SmolLM2 GGUF file name inside `smollm2/`.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The real-data root folder.
pub fn root() -> PathBuf {
    match std::env::var_os(ENV_VAR) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/real-data"),
    }
}

/// Path of the SmolLM2-135M-Instruct GGUF (may not exist).
pub fn smollm2_gguf() -> PathBuf {
    root().join("smollm2").join(SMOLLM2_FILE)
}

/// Folder of the Brown corpus passages (may not exist).
pub fn brown_dir() -> PathBuf {
    root().join("brown")
}

/// Folder of the sae-probes CSV files (may not exist).
pub fn sae_probes_dir() -> PathBuf {
    root().join("sae-probes").join("cleaned_data")
}

/// Fails with a message naming the set-up command when `path` does not exist.
pub fn require(path: &std::path::Path) -> Result<()> {
    ensure!(
        path.exists(),
        "{} not found: run scripts/fetch-real-data.sh (or set {ENV_VAR} to where it put the data)",
        path.display()
    );
    Ok(())
}
