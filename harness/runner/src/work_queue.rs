//! An in-order work queue on scoped threads, for work whose items are
//! independent (metrics in `check`, metrics in `validity`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f(i, &items[i])` for every item on `jobs` scoped threads (clamped to
/// `1..=items.len()`), which take indices in increasing order; the results
/// come back by index, so the output does not depend on scheduling.
pub fn map_indexed<I, T, F>(items: &[I], jobs: usize, f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    F: Fn(usize, &I) -> T + Sync,
{
    let workers = jobs.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    let result = f(i, item);
                    slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_by_index_for_any_number_of_jobs() {
        let items: Vec<u64> = (0..37).collect();
        let expected: Vec<(usize, u64)> = (0..37).map(|i| (i, (i * i) as u64)).collect();
        for jobs in [0, 1, 2, 5, 100] {
            assert_eq!(map_indexed(&items, jobs, |i, x| (i, x * x)), expected);
        }
        assert!(map_indexed(&[] as &[u8], 4, |_, _| 0u8).is_empty());
    }
}
