"""Python side of scripts/bench-metrics-vs-python.sh.

Reads the workload that `metrics-timing` dumped (.npy, so both sides see the
same numbers), computes every code-based metric with scipy.sparse/numpy
implementations of the *same formula* as the Rust plugin (the crate docs of
metrics/<name>/src/lib.rs state each formula), and SAEBench's chunked torch
max-cosine (`calculate_max_cosine_sim` in sae_bench/evals/core/main.py,
re-implemented: normalize W_dec rows, 100 rows per chunk, chunk @ W_dec.T,
diagonal masked, max per row, then the mean; one change: |cos|, as
rdpbench's metric uses absolute cosine). Times each with the median of
--reps calls after one warm-up call and prints JSON on stdout:
{"metrics": [{"id", "value", "median_s", "times_s"}], ...}.

Thread count: --threads (torch.set_num_threads and the BLAS variables,
which must be set before numpy loads; the shell script exports them).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp


def load(d):
    g = lambda name: np.load(os.path.join(d, name + ".npy"))
    meta = json.load(open(os.path.join(d, "workload.json")))
    n, f, nc = meta["n_tokens"], meta["d_sae"], meta["n_concepts"]
    a = sp.csr_matrix(
        (g("codes_values"), g("codes_indices").astype(np.int32), g("codes_indptr").astype(np.int64)),
        shape=(n, f),
    )
    li = g("labels_indices").astype(np.int32)
    lab = sp.csr_matrix(
        (np.ones(li.size, dtype=np.float32), li, g("labels_indptr").astype(np.int64)),
        shape=(n, nc),
    )
    return meta, a, lab, g("activations"), g("decoder")


def positive(a):
    """Binary CSR of the entries with code > 0 (a zero or negative code is not a firing)."""
    b = a.copy()
    b.data = (b.data > 0).astype(np.float32)
    b.eliminate_zeros()
    return b


def entry_cols(a):
    return a.indices


def entry_rows(a):
    return np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))


def plogp2(p):
    out = np.zeros_like(p)
    m = p > 0
    out[m] = -p[m] * np.log2(p[m])
    return out


# ---------------------------------------------------------------- metrics


def firing_density(a, lab, x, w):
    n, f = a.shape
    count = np.bincount(a.indices[a.data > 0], minlength=f)
    n_live = np.count_nonzero(count)
    return count.sum() / (n_live * n) if n and n_live else None


def monosemanticity_score(a, lab, x, w):
    """Closed form: with w_tj = (a_tj - lo_j)/range_j, MS_j = (||sum_t w_tj e_t||^2 - sum_t w_tj^2 [e_t != 0]) / ((sum w)^2 - sum w^2)."""
    n, f = a.shape
    count = np.bincount(a.indices, minlength=f)
    hi = a.max(axis=0).toarray().ravel().astype(np.float64)  # includes the implicit zeros
    lo = a.min(axis=0).toarray().ravel().astype(np.float64)
    rng = hi - lo
    ok = (count > 0) & (rng > 0) & np.isfinite(rng)
    safe = np.where(ok, rng, 1.0)
    w0 = -lo / safe
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    nz = (norms > 0) & np.isfinite(norms)
    e = (x / np.where(nz, norms, 1.0)[:, None].astype(np.float32)) * nz[:, None]
    e_all = e.sum(axis=0, dtype=np.float64)
    nz_all = nz.sum()
    # sum_t (w_tj - w0_j) e_t = (A^T E)_j / range_j
    u = np.asarray(a.T @ e, dtype=np.float64) / safe[:, None]
    v = u + w0[:, None] * e_all[None, :]
    v2 = np.einsum("ij,ij->i", v, v)
    cols = a.indices
    rows_nz = nz[entry_rows(a)]
    wt = (a.data.astype(np.float64) - lo[cols]) / safe[cols]
    s1 = np.bincount(cols, wt, minlength=f)
    s2 = np.bincount(cols, wt * wt, minlength=f)
    diag = np.bincount(cols, wt * wt * rows_nz, minlength=f)
    nz_stored = np.bincount(cols, rows_nz, minlength=f)
    missing = n - count
    dg = diag + w0 * w0 * (nz_all - nz_stored)
    sum1 = s1 + w0 * missing
    sum2 = s2 + w0 * w0 * missing
    den = sum1 * sum1 - sum2
    good = ok & (den > 1e-12 * sum1 * sum1) & (den > 0)
    if not good.any():
        return None
    return float(np.mean((v2[good] - dg[good]) / den[good]))


def concept_purity(a, lab, x, w):
    b = positive(a)
    fires = np.asarray(b.sum(axis=0)).ravel()
    table = (b.T @ lab).tocsr()
    best = table.max(axis=1).toarray().ravel()
    live = fires > 0
    return float(np.mean(best[live] / fires[live])) if live.any() else None


def concept_entropy(a, lab, x, w):
    b = positive(a)
    k = np.diff(lab.indptr)
    share = np.where(k > 0, 1.0 / np.maximum(k, 1), 0.0)
    labelled_tok = (k > 0).astype(np.float64)
    labelled = np.asarray(b.T @ labelled_tok).ravel()
    mass = (b.T @ sp.diags(share) @ lab).tocsr()
    rows = entry_rows(mass)
    p = mass.data / labelled[rows]
    h = np.bincount(rows, plogp2(p) * math.log(2), minlength=a.shape[1])
    live = labelled > 0
    return float(np.mean(np.exp(h[live]) - 1.0)) if live.any() else None


def coactivation_entropy(a, lab, x, w):
    b = positive(a).astype(np.int32)
    f = a.shape[1]
    fires = np.asarray(b.sum(axis=0)).ravel()
    bt = b.T.tocsr()
    e_all = np.full(f, np.nan)
    block = 1024
    for s in range(0, f, block):
        c = (bt[s : s + block] @ b).tocsr()  # [block, f] co-firing counts
        c.setdiag(0, k=s)  # the self pairs (s + i, s + i)
        c.eliminate_zeros()
        rows = entry_rows(c)
        tot = np.bincount(rows, c.data, minlength=c.shape[0])
        p = c.data / tot[rows]
        h = np.bincount(rows, -p * np.log(p), minlength=c.shape[0])
        has = np.diff(c.indptr) > 0
        e_all[s : s + block][has] = np.exp(h[has])
    ok = ~np.isnan(e_all)
    den = fires[ok].sum()
    return float((fires[ok] * e_all[ok]).sum() / den) if den else None


def js_separability(a, lab, x, w):
    levels, states = 8, 10
    n, f = a.shape
    nc = lab.shape[1]
    b = a.copy()
    b.data = np.where(b.data > 0, b.data, 0)
    b.eliminate_zeros()
    hi = b.max(axis=0).toarray().ravel().astype(np.float64)
    cols = b.indices
    st = 1 + np.minimum(np.floor(b.data.astype(np.float64) / hi[cols] * levels + 0.5), levels).astype(np.int64)
    allc = np.bincount(cols * states + st, minlength=f * states).reshape(f, states)
    n_c = np.asarray(lab.sum(axis=0)).ravel().astype(np.int64)
    given = np.zeros((f, nc, states), dtype=np.int64)
    for s in range(1, states):
        bs = b.copy()
        bs.data = (st == s).astype(np.float32)
        bs.eliminate_zeros()
        given[:, :, s] = np.asarray((bs.T @ lab).todense(), dtype=np.int64)
    npos, nneg = n_c, n - n_c
    cval = (npos > 0) & (nneg > 0)
    fired = allc.sum(axis=1)
    best = np.full(f, -np.inf)
    chunk = 512
    for s0 in range(0, f, chunk):
        g = given[s0 : s0 + chunk][:, cval, :].astype(np.float64)  # [c, C, S]
        al = allc[s0 : s0 + chunk][:, None, :].astype(np.float64)
        p = g.copy()
        q = al - g
        p[:, :, 0] = npos[cval][None, :] - g[:, :, 1:].sum(axis=2)
        q[:, :, 0] = nneg[cval][None, :] - q[:, :, 1:].sum(axis=2)
        pa = p / npos[cval][None, :, None]
        qb = q / nneg[cval][None, :, None]
        m = 0.5 * (pa + qb)
        with np.errstate(divide="ignore", invalid="ignore"):
            tp = np.where(pa > 0, 0.5 * pa * np.log2(pa / m), 0.0)
            tq = np.where(qb > 0, 0.5 * qb * np.log2(qb / m), 0.0)
        d = np.sqrt(np.clip((tp + tq).sum(axis=2), 0.0, 1.0))
        best[s0 : s0 + chunk] = d.max(axis=1) if d.shape[1] else -np.inf
    ok = (fired > 0) & np.isfinite(best)
    return float(best[ok].mean()) if ok.any() else None


def description_length(a, lab, x, w):
    levels = 16
    n, f = a.shape
    m = a.data > 0
    cols = a.indices[m]
    vals = a.data[m].astype(np.float64)
    fires = np.bincount(cols, minlength=f)
    hi = positive_max(a)
    lvl = np.minimum(np.floor(vals / hi[cols] * levels + 0.5), levels).astype(np.int64)
    hist = np.bincount(cols * (levels + 1) + lvl, minlength=f * (levels + 1)).reshape(f, levels + 1)
    live = fires > 0
    if not live.any():
        return None
    fj = fires[live] / n
    vb = plogp2(hist[live] / fires[live][:, None]).sum(axis=1)
    bits = plogp2(fj) + plogp2(1.0 - fj) + fj * vb
    return float(bits.sum())


def positive_max(a):
    b = a.copy()
    b.data = np.where(b.data > 0, b.data, 0)
    return b.max(axis=0).toarray().ravel().astype(np.float64)


def top_activation_purity(a, lab, x, w):
    b = a.copy()
    b.data = np.where(b.data > 0, b.data, 0)
    b.eliminate_zeros()
    c = b.tocsc()
    f = a.shape[1]
    fires = np.diff(c.indptr)
    cols = np.repeat(np.arange(f), fires)
    order = np.lexsort((c.data, cols))  # by column, then value ascending
    sv = c.data[order]
    k = -(-fires // 10)
    live = fires > 0
    theta = np.full(f, np.inf, dtype=np.float32)
    theta[live] = sv[c.indptr[:-1][live] + fires[live] - k[live]]
    keep = c.data >= theta[cols]
    top = np.bincount(cols[keep], minlength=f)
    sel = sp.csc_matrix((keep.astype(np.float32), c.indices, c.indptr), shape=c.shape)
    sel.eliminate_zeros()
    table = (sel.T @ lab).tocsr()
    best = table.max(axis=1).toarray().ravel()
    return float(np.mean(best[live] / top[live])) if live.any() else None


def feature_absorption(a, lab, x, w):
    n, f = a.shape
    nc = lab.shape[1]
    labi = lab.astype(np.int64)
    n_c = np.asarray(labi.sum(axis=0)).ravel()
    co = np.asarray((labi.T @ labi).todense())
    children = [[] for _ in range(nc)]
    for c in range(nc):
        if n_c[c] < 1:
            continue
        for p in np.nonzero((co[c] == n_c[c]) & (n_c > n_c[c]))[0]:
            if p != c:
                children[p].append(c)
    if not any(children):
        return None
    b = positive(a)
    fires = np.asarray(b.sum(axis=0)).ravel().astype(np.int64)
    tp = np.asarray((b.T @ lab).todense()).astype(np.int64)  # [f, nc]
    involved = {c for c in range(nc) if children[c]} | {c for kids in children for c in kids}
    best = [np.array([], dtype=np.int64) for _ in range(nc)]
    for c in involved:
        t = tp[:, c]
        cand = np.nonzero(t > 0)[0]
        if cand.size == 0:
            continue
        d = fires[cand] + n_c[c]
        r = t[cand] / d
        i = cand[np.argmax(r)]
        ti, di = tp[i, c], fires[i] + n_c[c]
        best[c] = cand[t[cand] * di == ti * d]  # exact ties
    bc = b.tocsc()
    fire_any = lambda js: (bc[:, js].getnnz(axis=1) > 0) if len(js) else np.zeros(n, bool)
    labc = lab.tocsc()
    has = lambda c: labc[:, [c]].getnnz(axis=1) > 0
    k = np.diff(lab.indptr)
    absorbed = eligible = 0
    for p in range(nc):
        if not children[p] or best[p].size == 0:
            continue
        any_child = np.zeros(n, bool)
        child_fire = np.zeros(n, bool)
        for c in children[p]:
            hc = has(c)
            any_child |= hc
            js = np.setdiff1d(best[c], best[p])
            child_fire |= hc & fire_any(js)
        elig = has(p) & any_child & (k >= 2)
        pf = fire_any(best[p])
        eligible += int(elig.sum())
        absorbed += int((elig & ~pf & child_fire).sum())
    return absorbed / eligible if eligible else None


def sparse_probing(a, lab, x, w, k=1):
    n, f = a.shape
    nc = lab.shape[1]
    tr = np.arange(0, n, 2)
    te = np.arange(1, n, 2)
    n_train, n_test = tr.size, te.size
    at, lt = a[tr], lab[tr]
    s = np.asarray(at.sum(axis=0), dtype=np.float64).ravel()
    q = np.asarray(at.multiply(at).sum(axis=0), dtype=np.float64).ravel()
    at64 = at.astype(np.float64)
    s_pos = np.asarray((at64.T @ lt).todense())  # [f, nc]
    pos_train = np.asarray(lt.sum(axis=0)).ravel().astype(np.int64)
    pos_test = np.asarray(lab[te].sum(axis=0)).ravel().astype(np.int64)
    m = s / n_train
    sigma = np.sqrt(np.maximum(q / n_train - m * m, 0.0))
    floor = 1e-12 * np.sqrt(q / n_train)
    valid = ~np.isnan(sigma) & (sigma > floor)
    if not valid.any():
        return None
    wsel_r, wsel_c, wsel_v = [], [], []
    bias = np.zeros(nc)
    evaluable = np.zeros(nc, bool)
    for c in range(nc):
        npos, nneg = pos_train[c], n_train - pos_train[c]
        tpos, tneg = pos_test[c], n_test - pos_test[c]
        if min(npos, nneg, tpos, tneg) == 0:
            continue
        mp = s_pos[:, c] / npos / np.where(valid, sigma, 1.0)
        mn = (s - s_pos[:, c]) / nneg / np.where(valid, sigma, 1.0)
        score = np.where(valid, mp - mn, -np.inf)
        order = np.lexsort((np.arange(f), -score))[: min(k, valid.sum())]
        evaluable[c] = True
        for j in order:
            wsel_r.append(j)
            wsel_c.append(c)
            wsel_v.append((mp[j] - mn[j]) / sigma[j])
            bias[c] += 0.5 * (mp[j] ** 2 - mn[j] ** 2)
    wsel = sp.csr_matrix((wsel_v, (wsel_r, wsel_c)), shape=(f, nc))
    g = np.asarray((a[te].astype(np.float64) @ wsel).todense())  # [n_test, nc]
    pred = g - bias[None, :] > 0
    truth = np.asarray(lab[te].todense()) > 0
    tpr = (pred & truth).sum(axis=0) / np.maximum(pos_test, 1)
    tnr = (~pred & ~truth).sum(axis=0) / np.maximum(n_test - pos_test, 1)
    bal = 0.5 * (tpr + tnr)
    return float(bal[evaluable].mean()) if evaluable.any() else None


def mean_max_decoder_cosine_saebench(a, lab, x, w, batch_size=100):
    import torch

    with torch.no_grad():
        w_df = torch.from_numpy(w).T  # SAEBench passes W_dec.T, shape (D, F)
        enc = torch.nn.functional.normalize(w_df, p=2, dim=0)
        f_ = enc.shape[1]
        out = torch.empty(f_, dtype=enc.dtype)
        for start in range(0, f_, batch_size):
            end = min(start + batch_size, f_)
            sims = (enc[:, start:end].t() @ enc).abs_()
            for col in range(start, end):
                sims[col - start, col] = float("-inf")
            out[start:end] = sims.max(dim=1).values
        return float(out.double().mean())


METRICS = {
    "mean-firing-density": firing_density,
    "monosemanticity-score": monosemanticity_score,
    "concept-purity": concept_purity,
    "concept-entropy": concept_entropy,
    "coactivation-entropy": coactivation_entropy,
    "js-separability": js_separability,
    "description-length": description_length,
    "top-activation-purity": top_activation_purity,
    "feature-absorption": feature_absorption,
    "sparse-probing": sparse_probing,
    "mean-max-decoder-cosine": mean_max_decoder_cosine_saebench,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--metrics", default="")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    meta, a, lab, x, w = load(args.data)
    want = [m for m in args.metrics.split(",") if m] or list(METRICS)
    results = []
    for mid in want:
        fn = METRICS[mid]
        t0 = time.perf_counter()
        value = fn(a, lab, x, w)
        first = time.perf_counter() - t0
        reps = args.reps if first * args.reps <= args.budget_s else max(1, int(args.budget_s / first))
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(a, lab, x, w)
            times.append(time.perf_counter() - t0)
        print(f"{mid:<28} median {np.median(times):9.4f} s over {reps} calls, value {value}", file=sys.stderr)
        results.append({"id": mid, "value": value, "median_s": float(np.median(times)), "times_s": times})
    json.dump(
        {
            "threads": args.threads,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "torch": torch.__version__,
            "metrics": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
