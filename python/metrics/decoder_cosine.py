"""mean-max-decoder-cosine-py: the Python twin of metrics/decoder-cosine.

With u_j = w_j / |w_j| the unit decoder rows of the live rows
L = {j : 0 < |w_j| < inf}: s_j = max_{k in L, k != j} |<u_j, u_k>| and
score = (1/|L|) sum_{j in L} s_j. Config {"signed": true} takes the signed
maximum instead (SAEBench's). Higher = more polysemantic. Zero rows are dead
(no per-latent score). Undefined with fewer than two live rows. Computed in
float64 (a d_sae x d_sae Gram matrix: O(d_sae^2 d_in) time, O(d_sae^2) memory).
"""

import numpy as np

from rdpbench_metric import Undefined, Value

SPEC = {
    "id": "mean-max-decoder-cosine-py",
    "version": "1",
    "description": "Mean over decoder rows of the largest |cosine| with any other row. "
    "Python twin of mean-max-decoder-cosine.",
    "citation": "Karvonen et al. 2025, SAEBench (core eval: average max decoder cosine "
    "similarity), with |cos|",
    "orientation": "higher_is_more_polysemantic",
    "inputs": ["decoder"],
    "examples": [
        {
            "description": "two orthogonal rows: 0",
            "decoder": [[1.0, 0.0], [0.0, 2.0]],
            "expected": 0.0,
        },
        {
            "description": "anti-parallel rows count as parallel: 1",
            "decoder": [[1.0, 0.0], [-3.0, 0.0]],
            "expected": 1.0,
        },
        {
            "description": "one live row: undefined",
            "decoder": [[0.0, 0.0], [1.0, 1.0]],
            "expected": None,
        },
    ],
}


def compute(x):
    w = x.decoder.astype(np.float64)
    norm = np.sqrt(np.cumsum(w * w, axis=1)[:, -1]) if w.shape[1] else np.zeros(w.shape[0])
    live = (norm > 0) & np.isfinite(norm)
    n = int(live.sum())
    if n < 2:
        return Undefined(f"{n} non-zero decoder row(s): need at least 2 to compare")
    u = w[live] / norm[live][:, None]
    gram = u @ u.T
    signed = bool(x.config.get("signed", False))
    if not signed:
        gram = np.abs(gram)
    np.fill_diagonal(gram, -np.inf)
    best = gram.max(axis=1)
    per_latent = None
    if x.per_latent:
        per_latent = np.full(x.d_sae, np.nan)
        per_latent[live] = best
    return Value(np.cumsum(best)[-1] / n, per_latent=per_latent)
