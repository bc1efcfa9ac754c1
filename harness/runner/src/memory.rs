//! Up-front memory checks: before a stage does any work, estimate the bytes
//! it needs and refuse (exit 2, with the numbers) when that is more than
//! the machine has available or than `--max-memory` allows.
//!
//! Estimates are **lower bounds**: they count only buffers the stage
//! certainly holds at once, so a run refused here could never have fitted;
//! a run that passes may still need more. All arithmetic is checked: an
//! absurd size gives "more than 2^64 bytes", never a panic.
//!
//! - `check`, per toy seed (the workbench keeps every seed's data at once),
//!   with `N` samples, `d` observation dimensions, `B` bootstrap resamples
//!   and `R` consistency replicates:
//!   `16·B·N` (two sets of `B` bootstrap row draws of `N` indices, 8 bytes
//!   each) `+ (4 + 5R)·N·(4d + 16)` (at least `4 + 5R` cases of `N` rows:
//!   `M` on the ladder, independent, co-occurring and dense data, `R`
//!   replicates at `N` and `R` at `4N`; each row holds `d` f32 activations
//!   and two CSR row pointers of 8 bytes). With `--isolate` every running
//!   worker builds its own workbench: times `1 + jobs`.
//! - `train`, per SAE (jobs run one at a time), with `d_in` inputs,
//!   `d_sae` latents and a batch of `b` rows: `16·(2·d_in·d_sae + d_sae + d_in)`
//!   (parameters, gradients and AdamW's two moments, f32)
//!   `+ 8·b·d_sae` (the batch's pre-activations and codes, f32).

use anyhow::{Result, bail};
use rdpbench_core::conditions::CheckSettings;
use rdpbench_core::toy::ToyConfig;

/// A lower bound of the bytes a stage needs, and how it was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// `None`: more than `u64::MAX` bytes.
    pub bytes: Option<u64>,
    /// The formula with this run's numbers.
    pub formula: String,
}

fn mul(xs: &[u64]) -> Option<u64> {
    xs.iter().try_fold(1u64, |acc, &x| acc.checked_mul(x))
}

fn to_u64(x: usize) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// The `check` workbench's lower bound, for `workbenches` copies at once.
pub fn check_estimate(toy: &ToyConfig, s: &CheckSettings, workbenches: usize) -> Estimate {
    let n = to_u64(s.n_samples);
    let d = to_u64(toy.d);
    let b = to_u64(s.bootstrap_resamples);
    let r = to_u64(s.consistency_replicates);
    let seeds = to_u64(s.seeds.len());
    let copies = to_u64(workbenches.max(1));
    let boot = mul(&[16, b, n]);
    let cases = r
        .checked_mul(5)
        .and_then(|x| x.checked_add(4))
        .and_then(|rows| {
            let per_row = d.checked_mul(4)?.checked_add(16)?;
            mul(&[rows, n, per_row])
        });
    let bytes = boot
        .zip(cases)
        .and_then(|(a, c)| a.checked_add(c))
        .and_then(|per_seed| mul(&[per_seed, seeds, copies]));
    Estimate {
        bytes,
        formula: format!(
            "{copies} workbench(es) × {seeds} seed(s) × (16·B·N + (4 + 5R)·N·(4d + 16)) \
             with N = {n}, d = {d}, B = {b}, R = {r}"
        ),
    }
}

/// One SAE training job's lower bound.
pub fn train_estimate(d_in: usize, d_sae: usize, batch: usize) -> Estimate {
    let (d_in, f, b) = (to_u64(d_in), to_u64(d_sae), to_u64(batch));
    let params = mul(&[2, d_in, f])
        .and_then(|x| x.checked_add(f))
        .and_then(|x| x.checked_add(d_in))
        .and_then(|x| x.checked_mul(16));
    let batch_bytes = mul(&[8, b, f]);
    Estimate {
        bytes: params.zip(batch_bytes).and_then(|(p, q)| p.checked_add(q)),
        formula: format!(
            "16·(2·d_in·d_sae + d_sae + d_in) + 8·batch·d_sae with d_in = {d_in}, \
             d_sae = {f}, batch = {b}"
        ),
    }
}

/// Bytes for people: `1.5 GiB`, `512 B`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `--max-memory`: bytes, or a number with a unit `K`, `M`, `G`, `T`
/// (powers of 1024; `KiB`, `GB` … are read the same).
pub fn parse_bytes(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("--max-memory: `{text}` is not a size such as 8G or 512M"))?;
    let scale = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1u64,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => bail!("--max-memory: unknown unit in `{text}` (use K, M, G or T)"),
    };
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        bail!("--max-memory: `{text}` is not a usable size");
    }
    Ok(bytes as u64)
}

/// What the machine has for this process: `MemAvailable` of
/// `/proc/meminfo`, or the cgroup's limit minus its usage when that is
/// lower. `None` where neither can be read (not Linux).
pub fn machine_available() -> Option<(u64, String)> {
    let mut best: Option<(u64, String)> = None;
    let mut consider = |bytes: u64, source: String| {
        if best.as_ref().is_none_or(|(b, _)| bytes < *b) {
            best = Some((bytes, source));
        }
    };
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo")
        && let Some(kib) = text.lines().find_map(|l| {
            l.strip_prefix("MemAvailable:")
                .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
    {
        consider(
            kib.saturating_mul(1024),
            "MemAvailable in /proc/meminfo".into(),
        );
    }
    let read = |p: &str| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    for (limit, usage) in [
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ] {
        if let Some(max) = read(limit) {
            let used = read(usage).unwrap_or(0);
            consider(
                max.saturating_sub(used),
                format!("the cgroup limit {limit}"),
            );
        }
    }
    best
}

/// Refuses `estimate` for `stage` when it exceeds `max_memory` (if given)
/// or else what the machine has; the error names both numbers and the
/// formula.
pub fn ensure_fits(stage: &str, estimate: &Estimate, max_memory: Option<u64>) -> Result<()> {
    let budget = match max_memory {
        Some(m) => Some((m, "--max-memory".to_string())),
        None => machine_available(),
    };
    let Some((budget, source)) = budget else {
        return Ok(());
    };
    let need = match estimate.bytes {
        Some(b) if b <= budget => return Ok(()),
        Some(b) => format!("at least {}", human(b)),
        None => "more than 2^64 bytes".to_string(),
    };
    bail!(
        "{stage} needs {need} of memory but {} are available ({source}); \
         estimate: {}. Use smaller sizes, or set --max-memory if the estimate is wrong for this machine",
        human(budget),
        estimate.formula
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_estimate_matches_the_formula_by_hand() {
        let toy = ToyConfig {
            d: 32,
            ..ToyConfig::default()
        };
        let s = CheckSettings {
            seeds: vec![0, 1, 2],
            n_samples: 4000,
            bootstrap_resamples: 200,
            consistency_replicates: 4,
            ..CheckSettings::default()
        };
        // per seed: 16·200·4000 + 24·4000·144 = 12_800_000 + 13_824_000
        assert_eq!(check_estimate(&toy, &s, 1).bytes, Some(3 * 26_624_000));
        assert_eq!(check_estimate(&toy, &s, 3).bytes, Some(9 * 26_624_000));
    }

    #[test]
    fn absurd_sizes_overflow_to_none_instead_of_panicking() {
        let s = CheckSettings {
            n_samples: usize::MAX,
            ..CheckSettings::default()
        };
        assert_eq!(check_estimate(&ToyConfig::default(), &s, 1).bytes, None);
        assert_eq!(train_estimate(32, usize::MAX, 512).bytes, None);
        let e = ensure_fits(
            "check",
            &check_estimate(&ToyConfig::default(), &s, 1),
            Some(1 << 30),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("more than 2^64 bytes") && e.contains("1.0 GiB"),
            "{e}"
        );
    }

    #[test]
    fn train_estimate_matches_the_formula_by_hand() {
        // 16·(2·32·8 + 8 + 32) + 8·512·8 = 16·552 + 32768
        assert_eq!(train_estimate(32, 8, 512).bytes, Some(8832 + 32768));
        let e = ensure_fits(
            "train",
            &train_estimate(32, 100_000_000, 512),
            Some(1 << 30),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("d_sae = 100000000") && e.contains("GiB"), "{e}");
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("512").unwrap(), 512);
        assert_eq!(parse_bytes("8G").unwrap(), 8 << 30);
        assert_eq!(parse_bytes("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("64 MB").unwrap(), 64 << 20);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("5X").is_err());
    }

    #[test]
    fn the_machine_reports_some_memory_on_linux() {
        if cfg!(target_os = "linux") {
            let (bytes, source) = machine_available().expect("/proc/meminfo is readable");
            assert!(bytes > 0, "{source}");
        }
    }
}
