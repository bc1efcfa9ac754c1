//! For unit rows `u_j` `[n, d]`: `s_j = max_{k ≠ j} |⟨u_j, u_k⟩|`, exact in
//! `f64`, at the speed of an `f32` blocked GEMM over the upper triangle.
//!
//! 1. Row blocks `I` of [`ROW_BLOCK`] rows: `S = U_I · U_{I.start..}ᵀ` in
//!    `f32` (candle's matmul: gemm, multi-threaded), `[|I|, n − I.start]`,
//!    never the whole `n × n`. Each entry updates the running maximum of its
//!    row and, right of the diagonal block, of its column (symmetry: half
//!    the flops of a full Gram product).
//! 2. An `f32` Gram entry differs from the exact cosine of the `f64` rows by
//!    at most `δ = 2 (d + 3) 2⁻²⁴` (rounding of the rows, plus the `γ_d`
//!    bound of any summation order, with a factor 2 to spare). Every entry
//!    within `2δ` of its row's running maximum is kept as a candidate: the
//!    exact argmax always is one.
//! 3. Each row's answer is the largest `|⟨u_j, u_k⟩|` over its candidates,
//!    recomputed in `f64` (clamped to 1), so the result equals a brute-force
//!    `f64` computation and does not depend on the GEMM's summation order,
//!    the block size or the thread count (C9: bit-identical output).
//!
//! The scans of `S` run on [`rdpbench_kernels::map_chunks`] threads with
//! fixed row chunks; maxima are exact, so the merge order does not matter.
//! Both scans are vectorized ([`rdpbench_kernels::abs_max`], AVX2 picked at
//! run time): pass A reads each entry once for its row and column maxima,
//! pass B tests 16 entries at a time against the thresholds and looks at
//! the rare hits one by one. With scalar scans they took about a quarter of
//! the time at n = 16384, d = 512 (perf), now about 6%; the rest is the
//! GEMM (~75%) and its packing (~7%).

use anyhow::{Result, bail};
use candle_core::{Device, Storage, Tensor};
use rdpbench_kernels::abs_max::{abs_max, abs_max_and_columns, indices_at_or_above};
use rdpbench_kernels::map_chunks;

/// Rows of `U` per GEMM block: `[256, n]` `f32` is 16 MiB at n = 16384.
/// Blocks under glibc's 32 MiB mmap ceiling are recycled from the heap;
/// larger ones are fresh pages, and page faults cost as much as the GEMM.
pub const ROW_BLOCK: usize = 256;
/// Rows of a block per scan chunk.
const SCAN_ROWS: usize = 64;

/// `max_{k ≠ j} |⟨u_j, u_k⟩|` for each row of `u` (`[n, d]` row-major `f64`,
/// unit rows, `n ≥ 2`), exact in `f64` (see the module docs).
pub fn max_abs_cosine(u: &[f64], n: usize, d: usize) -> Result<Vec<f64>> {
    if n < 2 || u.len() != n * d {
        bail!(
            "max_abs_cosine: need n >= 2 rows of length {d}, got {} values for n = {n}",
            u.len()
        );
    }
    let delta = 2.0 * (d as f64 + 3.0) * (f32::EPSILON as f64 / 2.0);
    let window = (2.0 * delta) as f32;
    let u32: Vec<f32> = u.iter().map(|&x| x as f32).collect();
    let all = Tensor::from_vec(u32, (n, d), &Device::Cpu)?;
    let mut run_max = vec![f32::NEG_INFINITY; n];
    // (row, other, |S| in f32) for entries near their row's running maximum.
    let mut cand: Vec<(u32, u32, f32)> = Vec::new();
    for r0 in (0..n).step_by(ROW_BLOCK) {
        let r = ROW_BLOCK.min(n - r0);
        let m = n - r0;
        let s = all
            .narrow(0, r0, r)?
            .matmul(&all.narrow(0, r0, m)?.t()?)?
            .contiguous()?;
        let (storage, layout) = s.storage_and_layout();
        let Storage::Cpu(cpu) = &*storage else {
            bail!("max_abs_cosine: the Gram block is not in CPU memory");
        };
        let off = layout.start_offset();
        let block = &cpu.as_slice::<f32>()?[off..off + r * m];
        let row = |i: usize| &block[i * m..(i + 1) * m];
        // Pass A: row maxima (excluding the diagonal) and column maxima right
        // of the diagonal block, per scan chunk, in one vectorized read.
        let pass_a = map_chunks(r, SCAN_ROWS, |rows| {
            let mut row_max = Vec::with_capacity(rows.len());
            let mut col_max = vec![f32::NEG_INFINITY; m - r];
            for i in rows {
                let s = row(i);
                let diag_block = abs_max(&s[..i]).max(abs_max(&s[i + 1..r]));
                let right = abs_max_and_columns(&s[r..], &mut col_max);
                row_max.push(diag_block.max(right));
            }
            (row_max, col_max)
        });
        let mut col_max = vec![f32::NEG_INFINITY; m - r];
        for (i0, (rm, cm)) in pass_a.iter().enumerate() {
            for (k, &v) in rm.iter().enumerate() {
                let j = r0 + i0 * SCAN_ROWS + k;
                run_max[j] = run_max[j].max(v);
            }
            for (c, &v) in col_max.iter_mut().zip(cm) {
                *c = c.max(v);
            }
        }
        for (kk, &v) in col_max.iter().enumerate() {
            let k = r0 + r + kk;
            run_max[k] = run_max[k].max(v);
        }
        // Pass B: candidates within the window of the running maxima: a
        // vectorized filter, then the rare hits one by one. Columns of the
        // diagonal block are candidates of their own rows only (+∞ there).
        let col_thr: Vec<f32> = (0..m)
            .map(|kk| {
                if kk < r {
                    f32::INFINITY
                } else {
                    run_max[r0 + kk] - window
                }
            })
            .collect();
        let found = map_chunks(r, SCAN_ROWS, |rows| {
            let mut out = Vec::new();
            let mut hits = Vec::new();
            for i in rows {
                let s = row(i);
                let ti = run_max[r0 + i] - window;
                hits.clear();
                indices_at_or_above(s, ti, &col_thr, &mut hits);
                for &kk in &hits {
                    let kk = kk as usize;
                    if kk == i {
                        continue;
                    }
                    let a = s[kk].abs();
                    let (j, k) = ((r0 + i) as u32, (r0 + kk) as u32);
                    if a >= ti {
                        out.push((j, k, a));
                    }
                    if a >= col_thr[kk] {
                        out.push((k, j, a));
                    }
                }
            }
            out
        });
        cand.extend(found.into_iter().flatten());
    }
    let mut best = vec![0.0f64; n];
    let dot = |a: usize, b: usize| -> f64 {
        u[a * d..(a + 1) * d]
            .iter()
            .zip(&u[b * d..(b + 1) * d])
            .map(|(x, y)| x * y)
            .sum()
    };
    for &(j, k, a) in &cand {
        let j = j as usize;
        if a >= run_max[j] - window {
            best[j] = best[j].max(dot(j, k as usize).abs().min(1.0));
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_rows(n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let mut u: Vec<f64> = (0..n * d).map(|_| next()).collect();
        for j in 0..n {
            let r = &mut u[j * d..(j + 1) * d];
            let norm = r.iter().map(|x| x * x).sum::<f64>().sqrt();
            r.iter_mut().for_each(|x| *x /= norm);
        }
        u
    }

    fn brute(u: &[f64], n: usize, d: usize) -> Vec<f64> {
        (0..n)
            .map(|j| {
                (0..n)
                    .filter(|&k| k != j)
                    .map(|k| {
                        let c: f64 = (0..d).map(|t| u[j * d + t] * u[k * d + t]).sum();
                        c.abs().min(1.0)
                    })
                    .fold(0.0, f64::max)
            })
            .collect()
    }

    #[test]
    fn equals_brute_force_f64_across_several_row_blocks() {
        // 2500 rows: ten GEMM blocks, columns left and right of each.
        let (n, d) = (2500, 24);
        let mut u = unit_rows(n, d, 3);
        // Near-ties below f32 resolution: row 7 has two neighbours whose
        // cosines differ by ~1e-9; the f64 answer must pick the larger.
        let base: Vec<f64> = u[7 * d..8 * d].to_vec();
        for (row, eps) in [(1500usize, 1e-9f64), (2400, 2e-9)] {
            for t in 0..d {
                u[row * d + t] = base[t] + if t == 0 { eps } else { 0.0 } + 1e-3 * (t as f64);
            }
            let r = &mut u[row * d..(row + 1) * d];
            let norm = r.iter().map(|x| x * x).sum::<f64>().sqrt();
            r.iter_mut().for_each(|x| *x /= norm);
        }
        let got = max_abs_cosine(&u, n, d).unwrap();
        let want = brute(&u, n, d);
        for j in 0..n {
            assert!(
                (got[j] - want[j]).abs() <= 1e-15,
                "row {j}: {} vs {}",
                got[j],
                want[j]
            );
        }
    }

    #[test]
    fn rejects_too_few_rows() {
        assert!(max_abs_cosine(&[1.0, 0.0], 1, 2).is_err());
    }
}
