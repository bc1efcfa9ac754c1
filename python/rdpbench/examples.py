"""``rdpbench.examples``: a metric's declared examples, replayed in this process."""

import math

import numpy as np

from rdpbench_metric import Csr, Inputs, Undefined, Value, load_metric

# Within this relative tolerance an example's expected value holds (as for Rust plugins).
RELATIVE_TOLERANCE = 1e-6


def _csr_arrays(dense, name, arrays):
    a = np.asarray(dense, dtype=np.float32)
    rows, cols = np.nonzero(a)
    indptr = np.zeros(a.shape[0] + 1, dtype=np.uint64)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=indptr[1:])
    arrays[name + ".indptr"] = indptr
    arrays[name + ".indices"] = cols.astype(np.uint32)
    arrays[name + ".values"] = a[rows, cols]
    return a.shape


def example_inputs(example, declared, codes_fmt="csr", labels_fmt="csr", per_latent=True):
    """The :class:`Inputs` a host builds from a dense example (only the declared inputs)."""
    arrays = {"csr_cols": {}}
    sizes = {"n_tokens": 0, "d_in": 0, "d_sae": 0, "n_concepts": 0}
    for name in ("decoder", "encoder", "activations", "concept_directions"):
        if example.get(name) is not None:
            a = np.asarray(example[name], dtype=np.float32).reshape(len(example[name]), -1)
            if name in declared:
                arrays[name] = a
            if name == "decoder":
                sizes["d_sae"], sizes["d_in"] = a.shape
            elif name == "encoder":
                sizes["d_in"], sizes["d_sae"] = a.shape
            elif name == "activations":
                sizes["n_tokens"], sizes["d_in"] = a.shape
            else:
                sizes["n_concepts"], sizes["d_in"] = a.shape
    for name, size in (("codes", "d_sae"), ("labels", "n_concepts")):
        if example.get(name) is not None:
            dense = np.asarray(example[name], dtype=np.float32).reshape(len(example[name]), -1)
            sizes["n_tokens"], sizes[size] = dense.shape
            if name in declared:
                _csr_arrays(dense, name, arrays)
                arrays["csr_cols"][name] = dense.shape[1]
    header = dict(sizes, per_latent=per_latent, config={})
    return Inputs(header, arrays, codes_fmt, labels_fmt)


def examples(metric, spec=None):
    """Replays the examples ``SPEC`` declares on ``metric`` (a .py path, or a
    function with ``spec``); returns how many held, raises AssertionError
    naming the first that does not."""
    if callable(metric):
        compute, codes_fmt, labels_fmt = metric, "csr", "csr"
        if spec is None:
            raise TypeError("a metric function needs spec={...}")
    else:
        module, spec, codes_fmt, labels_fmt = load_metric(str(metric))
        compute = module.compute
    declared = set(spec["inputs"])
    n = 0
    for ex in spec.get("examples", []):
        got = compute(example_inputs(ex, declared, codes_fmt, labels_fmt))
        expected = ex.get("expected")
        what = f"{spec['id']}: example {ex['description']!r}"
        if expected is None:
            if not isinstance(got, Undefined):
                raise AssertionError(f"{what}: expected undefined, got {got!r}")
        else:
            value = got.value if isinstance(got, Value) else got
            if isinstance(got, Undefined) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise AssertionError(f"{what}: expected {expected}, got {got!r}")
            if not math.isclose(float(value), expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12):
                raise AssertionError(f"{what}: expected {expected}, got {float(value)!r}")
        n += 1
    return n
