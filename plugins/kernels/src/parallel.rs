//! Deterministic data parallelism over fixed chunks.
//!
//! [`map_chunks`] cuts `0..n` into chunks of a fixed length chosen by the
//! caller (never by the thread count), runs `f` on every chunk on up to
//! [`threads`] scoped threads, and returns the results in chunk order. The
//! chunk boundaries and the order of the results do not depend on how many
//! threads ran or how they were scheduled, so merging the results in order
//! gives the same bits on 1 thread or 16.

use std::ops::Range;
use std::sync::OnceLock;

/// Environment variable that caps the number of threads a metric uses.
pub const THREADS_ENV: &str = "RDPBENCH_THREADS";

/// Worker threads for metric kernels: `RDPBENCH_THREADS` when set to a
/// positive integer, else the machine's available parallelism. Read once.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&t| t > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Applies `f` to the chunks `[0, len)`, `[len, 2·len)`, … of `0..n` and
/// returns the results in chunk order. Chunk `i` runs on thread
/// `i mod threads()`; with one chunk, or one thread, everything runs on the
/// caller's thread. `chunk_len` is clamped to at least 1.
pub fn map_chunks<T, F>(n: usize, chunk_len: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(Range<usize>) -> T + Sync,
{
    let chunk_len = chunk_len.max(1);
    let n_chunks = n.div_ceil(chunk_len);
    let range = |i: usize| i * chunk_len..((i + 1) * chunk_len).min(n);
    let workers = threads().min(n_chunks);
    if workers <= 1 {
        return (0..n_chunks).map(|i| f(range(i))).collect();
    }
    let mut per_worker: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let f = &f;
                scope.spawn(move || {
                    (w..n_chunks)
                        .step_by(workers)
                        .map(|i| (i, f(range(i))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out: Vec<Option<T>> = (0..n_chunks).map(|_| None).collect();
    for list in per_worker.iter_mut() {
        for (i, t) in list.drain(..) {
            out[i] = Some(t);
        }
    }
    out.into_iter()
        .map(|t| t.expect("every chunk ran exactly once"))
        .collect()
}

/// A chunk length that splits `n` items into about `per_thread` chunks per
/// worker, but never below `min_len` items (so tiny inputs stay on one
/// thread). Depends on `threads()`: use it only where the merge of chunk
/// results is exact (integer counts, maxima, disjoint outputs), never for
/// floating-point sums.
pub fn balanced_chunk_len(n: usize, per_thread: usize, min_len: usize) -> usize {
    let parts = (threads() * per_thread.max(1)).max(1);
    n.div_ceil(parts).max(min_len).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_in_order() {
        let got = map_chunks(10, 3, |r| (r.start, r.end));
        assert_eq!(got, vec![(0, 3), (3, 6), (6, 9), (9, 10)]);
        assert!(map_chunks(0, 3, |r| r.len()).is_empty());
        // chunk_len 0 is clamped to 1.
        assert_eq!(map_chunks(2, 0, |r| r.len()), vec![1, 1]);
    }

    #[test]
    fn ordered_merge_of_float_sums_is_reproducible() {
        let xs: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 1000) as f64 * 1e-3 + 1e-9)
            .collect();
        let sum = || -> f64 {
            map_chunks(xs.len(), 257, |r| xs[r].iter().sum::<f64>())
                .iter()
                .sum()
        };
        let a = sum();
        // Same chunking, same bits, however the threads were scheduled.
        for _ in 0..5 {
            assert_eq!(sum().to_bits(), a.to_bits());
        }
        // And the same as a sequential loop over the same chunks.
        let seq: f64 = (0..xs.len().div_ceil(257))
            .map(|i| {
                xs[i * 257..((i + 1) * 257).min(xs.len())]
                    .iter()
                    .sum::<f64>()
            })
            .sum();
        assert_eq!(seq.to_bits(), a.to_bits());
    }

    #[test]
    fn balanced_length_respects_the_floor() {
        assert!(balanced_chunk_len(10, 4, 1000) >= 1000);
        assert!(balanced_chunk_len(0, 4, 0) >= 1);
    }
}
