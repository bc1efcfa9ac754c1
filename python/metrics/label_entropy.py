"""label-entropy-py: effective number of concept labels per latent.

The Python twin of metrics/template (label-entropy), and the template that
`rdpbench new metric NAME --lang python` copies.

For every live latent j (one that fires on at least one labelled token), the
activation mass it puts on each concept label c:

    m_jc = sum_{t : a_tj > 0} a_tj * y_tc / |y_t|

where a are the codes [n_tokens, d_sae], y the binary labels
[n_tokens, n_concepts] and |y_t| the number of labels of token t (a token with
several labels splits its weight equally; one with none is skipped). With
p_jc = m_jc / sum_c m_jc, H_j = -sum_c p_jc ln p_jc and the effective number
of labels exp(H_j):

    score = sum_j f_j (exp(H_j) - 1) / sum_j f_j,   f_j = labelled tokens where j fires.

0 when every latent fires on one concept only; higher = more polysemantic.
Undefined when no latent fires on a labelled token. Dead latents have no
per-latent score. Sums run in float64 in token order, as in the Rust plugin.
"""

import numpy as np

from rdpbench_metric import Undefined, Value

SPEC = {
    "id": "label-entropy-py",
    "version": "1",
    "description": "Effective number of concept labels among each latent's activations "
    "(exp of the activation-weighted label entropy), minus one, averaged with "
    "firing-frequency weights.",
    "citation": "rdpbench built-in; cf. concept entropy in arXiv 2605.14694",
    "orientation": "higher_is_more_polysemantic",
    "inputs": ["codes", "labels"],
    "examples": [
        {
            "description": "latent 0 splits its mass over two labels, latent 1 is pure: "
            "(2*(2-1) + 1*(1-1)) / 3",
            "codes": [[1.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
            "labels": [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]],
            "expected": 2.0 / 3.0,
        },
        {
            "description": "a token with two labels splits its weight: p = (1/2, 1/2) -> exp(H) = 2",
            "codes": [[3.0]],
            "labels": [[1.0, 1.0]],
            "expected": 1.0,
        },
        {
            "description": "no latent fires: undefined",
            "codes": [[0.0, 0.0]],
            "labels": [[1.0, 0.0]],
            "expected": None,
        },
    ],
}

# Codes and labels arrive as CSR (indptr, indices, values); "dense" gives arrays.
CODES = "csr"
LABELS = "csr"


def compute(x):
    codes, labels = x.codes, x.labels
    if codes.shape[0] != labels.shape[0]:
        raise ValueError(f"codes have {codes.shape[0]} rows but labels have {labels.shape[0]}")
    d_sae, n_concepts = codes.shape[1], labels.shape[1]
    n_labels = np.diff(labels.indptr)  # |y_t|
    # Every stored code entry (t, j, a) with a > 0 on a labelled token ...
    t = codes.row_ids()
    keep = (codes.values > 0) & (n_labels[t] > 0)
    t, j, a = t[keep], codes.indices[keep].astype(np.int64), codes.values[keep].astype(np.float64)
    fires = np.bincount(j, minlength=d_sae)
    # ... adds a / |y_t| to m_jc for each label c of t, in token order.
    share = a * (1.0 / n_labels[t])
    per_entry = n_labels[t]
    starts = labels.indptr[t]
    offsets = np.arange(per_entry.sum()) - np.repeat(np.cumsum(per_entry) - per_entry, per_entry)
    c = labels.indices[np.repeat(starts, per_entry) + offsets].astype(np.int64)
    # bincount adds its weights in input order: per (j, c), token order.
    mass = np.bincount(
        np.repeat(j, per_entry) * n_concepts + c,
        weights=np.repeat(share, per_entry),
        minlength=d_sae * n_concepts,
    ).reshape(d_sae, n_concepts)
    live = fires > 0
    if not live.any():
        return Undefined("no latent fires on a labelled token")
    m = mass[live]
    total = np.cumsum(m, axis=1)[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = m / total[:, None]
        terms = np.where(m > 0, -p * np.log(np.where(m > 0, p, 1.0)), 0.0)
    n_eff = np.exp(np.cumsum(terms, axis=1)[:, -1])
    f = fires[live].astype(np.float64)
    num = np.cumsum(f * (n_eff - 1.0))[-1]
    den = np.cumsum(f)[-1]
    per_latent = None
    if x.per_latent:
        per_latent = np.full(d_sae, np.nan)
        per_latent[live] = n_eff
    return Value(num / den, per_latent=per_latent)
