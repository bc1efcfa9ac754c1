//! Times [`max_abs_cosine`] alone (no plugin host) on seeded random unit
//! rows, for profiling the kernel:
//!
//! `cargo run --release -p rdpbench-metric-decoder-cosine --example gram_max_timing -- [n] [d] [reps]`
//!
//! Defaults: n = 16384, d = 512 (the metric bench's decoder shape), 5 calls.
//! Prints each call's wall time, the median and the mean of the result (to
//! check that variants agree). Threads: `RDPBENCH_THREADS`.

use rdpbench_metric_decoder_cosine::gram_max::max_abs_cosine;
use std::time::Instant;

/// `[n, d]` rows with entries uniform in [-0.5, 0.5) from a seeded
/// splitmix64 stream, each normalized to unit length in `f64`.
fn unit_rows(n: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut u: Vec<f64> = (0..n * d).map(|_| next()).collect();
    for row in u.chunks_mut(d) {
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    u
}

fn main() -> anyhow::Result<()> {
    let arg = |i: usize, default: usize| -> anyhow::Result<usize> {
        std::env::args()
            .nth(i)
            .map_or(Ok(default), |s| s.parse().map_err(anyhow::Error::from))
    };
    let (n, d, reps) = (arg(1, 16384)?, arg(2, 512)?, arg(3, 5)?);
    let u = unit_rows(n, d, 7);
    let mut times = Vec::with_capacity(reps);
    let mut mean = f64::NAN;
    for _ in 0..reps {
        let t = Instant::now();
        let best = max_abs_cosine(&u, n, d)?;
        times.push(t.elapsed().as_secs_f64());
        mean = best.iter().sum::<f64>() / n as f64;
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[reps / 2];
    eprintln!("n {n} d {d}: times {times:.3?} s, median {median:.3} s, mean max |cos| {mean:.17}");
    Ok(())
}
