//! One settings type per stage, each a section of the configuration.

pub mod bench;
pub mod planted;
pub mod rdp;
pub mod real;
pub mod train;
pub mod validity;

pub use bench::BenchSettings;
pub use planted::PlantedSettings;
pub use rdp::RdpSettings;
pub use real::RealSettings;
pub use train::TrainSettings;
pub use validity::{ValiditySettings, validity_toy};

use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// Every architecture of `[section].architectures` has a non-empty,
/// finite `[section].sparsity.<architecture>` list.
pub fn validate_sparsity(
    section: &str,
    architectures: &[String],
    sparsity: &BTreeMap<String, Vec<f64>>,
) -> Result<()> {
    if architectures.is_empty() {
        bail!("[{section}].architectures is empty");
    }
    for arch in architectures {
        match sparsity.get(arch) {
            None => bail!(
                "[{section}].sparsity has no entry for architecture `{arch}` (add `{arch} = [..]` under [{section}.sparsity])"
            ),
            Some(levels) if levels.is_empty() => bail!("[{section}].sparsity.{arch} is empty"),
            Some(levels) => {
                if let Some(v) = levels.iter().find(|v| !v.is_finite()) {
                    bail!("[{section}].sparsity.{arch} holds {v}, not a finite number");
                }
            }
        }
    }
    Ok(())
}
