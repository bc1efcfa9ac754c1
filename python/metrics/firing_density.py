"""mean-firing-density-py: the Python twin of metrics/firing-density.

With codes a: [N, d_sae], the firing count c_j = #{t : a_tj > 0}, f_j = c_j / N
and the live latents L = {j : c_j > 0}: score = (1/|L|) sum_{j in L} f_j
= sum_j c_j / (|L| N). Higher = more polysemantic. Dead latents get no
per-latent score. Undefined when N = 0 or no latent fires. The counts are
integers and the score is one division of exact integers, so the value is
bit-identical to the Rust plugin's.
"""

import numpy as np

from rdpbench_metric import Undefined, Value

SPEC = {
    "id": "mean-firing-density-py",
    "version": "1",
    "description": "Mean over live latents of the fraction of tokens on which the latent "
    "fires (code > 0). Python twin of mean-firing-density.",
    "citation": "rdpbench baseline; feature density as in SAEBench core (Karvonen et al. "
    "2025) and Bricken et al. 2023",
    "orientation": "higher_is_more_polysemantic",
    "inputs": ["codes"],
    "examples": [
        {
            "description": "f = (3/4, 1/4) and a dead latent: (3/4 + 1/4) / 2",
            "codes": [[1.0, 0.0, 0.0], [2.0, 3.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.0, 0.0]],
            "expected": 0.5,
        },
        {
            "description": "a negative code is not a firing: only latent 1 is live, f = 1",
            "codes": [[-1.0, 2.0], [0.0, 1.0]],
            "expected": 1.0,
        },
        {
            "description": "no latent fires: undefined",
            "codes": [[0.0, 0.0], [0.0, 0.0]],
            "expected": None,
        },
    ],
}

CODES = "csr"


def compute(x):
    codes = x.codes
    n, d_sae = codes.shape
    count = np.bincount(codes.indices[codes.values > 0], minlength=d_sae)
    n_live = int(np.count_nonzero(count))
    if n == 0 or n_live == 0:
        return Undefined(f"no latent fires ({n} tokens, {d_sae} latents)")
    total = int(count.sum())
    per_latent = np.where(count > 0, count / n, np.nan) if x.per_latent else None
    # Exact integers, one correctly rounded division: as in Rust.
    return Value(total / (n_live * n), per_latent=per_latent)
