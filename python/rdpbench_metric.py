"""rdpbench Python metrics: the author API and the worker process.

A Python metric is one ``.py`` file with a ``SPEC`` dict (the metric spec of
docs/plugin-abi.md: id, version, description, citation, orientation, inputs,
optional examples) and a ``compute(x)`` function over numpy arrays that
returns a float, ``Undefined("reason")`` or ``Value(v, per_latent=...)``.
Optional module constants ``CODES`` and ``LABELS`` ("csr", the default, or
"dense") choose how codes and labels arrive.

This same file is the worker the rdpbench host runs, one process per metric:
``python3 rdpbench_metric.py METRIC_FILE`` (the ``rdpbench`` binary embeds this
file and runs it with ``python3 -c``, so no installation is needed). It speaks
the interchange protocol version 1 on stdin/stdout, specified in
docs/python-metrics.md: frames of one JSON header line followed by the raw
little-endian buffers the header lists.
"""

import importlib.util
import json
import math
import os
import sys
import threading
import time
import traceback

PROTOCOL = "rdpbench-py"
PROTOCOL_VERSION = 1

# Wire dtypes: name -> (numpy dtype string, bytes per element).
DTYPES = {
    "f32": ("<f4", 4),
    "f64": ("<f8", 8),
    "u32": ("<u4", 4),
    "u64": ("<u8", 8),
    "i64": ("<i8", 8),
    "u8": ("u1", 1),
}

# How many lines of a metric's traceback go back to the host.
TRACEBACK_LINES = 12


class Undefined:
    """The metric is not defined on this input; ``reason`` says why."""

    def __init__(self, reason):
        self.reason = str(reason)

    def __repr__(self):
        return f"Undefined({self.reason!r})"


class Value:
    """A value with optional per-latent scores (length ``d_sae``; NaN where a
    latent's score is undefined)."""

    def __init__(self, value, per_latent=None):
        self.value = value
        self.per_latent = per_latent

    def __repr__(self):
        return f"Value({self.value!r})"


class Csr:
    """A CSR matrix: ``indptr`` (int64, n_rows + 1), ``indices`` (uint32,
    nnz), ``values`` (float32, nnz; for labels, which are a 0/1 pattern,
    all ones) and ``shape``."""

    def __init__(self, indptr, indices, values, shape):
        self.indptr = indptr
        self.indices = indices
        self.values = values
        self.shape = tuple(shape)

    @property
    def nnz(self):
        return len(self.indices)

    def row_ids(self):
        """The row of every stored entry (int64, nnz)."""
        import numpy as np

        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def toarray(self, dtype=None):
        """The dense ``[n_rows, n_cols]`` array (float32 unless ``dtype``)."""
        import numpy as np

        out = np.zeros(self.shape, dtype=dtype or np.float32)
        out[self.row_ids(), self.indices] = self.values
        return out

    def to_scipy(self):
        """A ``scipy.sparse.csr_matrix`` view (needs scipy)."""
        import scipy.sparse

        return scipy.sparse.csr_matrix((self.values, self.indices, self.indptr), shape=self.shape)

    def __repr__(self):
        return f"Csr(shape={self.shape}, nnz={self.nnz})"


class Inputs:
    """What ``compute`` gets: the sizes, the declared inputs (undeclared ones
    are ``None``), the metric's config dict and whether per-latent scores are
    wanted."""

    def __init__(self, header, arrays, codes_format, labels_format):
        self.n_tokens = header["n_tokens"]
        self.d_in = header["d_in"]
        self.d_sae = header["d_sae"]
        self.n_concepts = header["n_concepts"]
        self.per_latent = bool(header["per_latent"])
        self.config = header.get("config") or {}
        self.decoder = arrays.get("decoder")
        self.encoder = arrays.get("encoder")
        self.activations = arrays.get("activations")
        self.concept_directions = arrays.get("concept_directions")
        self.codes = _csr(arrays, "codes", codes_format, with_values=True)
        self.labels = _csr(arrays, "labels", labels_format, with_values=False)

    def __repr__(self):
        present = [
            k
            for k in ("decoder", "encoder", "activations", "codes", "labels", "concept_directions")
            if getattr(self, k) is not None
        ]
        return (
            f"Inputs(n_tokens={self.n_tokens}, d_in={self.d_in}, d_sae={self.d_sae}, "
            f"n_concepts={self.n_concepts}, inputs={present})"
        )


def _csr(arrays, name, fmt, with_values):
    import numpy as np

    indptr = arrays.get(name + ".indptr")
    if indptr is None:
        return None
    indices = arrays[name + ".indices"]
    n_rows = len(indptr) - 1
    n_cols = arrays["csr_cols"][name]
    if with_values:
        values = arrays[name + ".values"]
    else:
        values = np.ones(len(indices), dtype=np.float32)
    m = Csr(indptr.view("<i8"), indices, values, (n_rows, n_cols))
    return m.toarray() if fmt == "dense" else m


# ---------------------------------------------------------------- framing


def _read_exact(stream, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise EOFError(f"stream ended after {got} of {n} bytes")
        got += k
    return buf


def read_frame(stream):
    """One frame: (header dict, {buffer name: numpy array}); None at EOF."""
    import numpy as np

    line = stream.readline()
    if not line:
        return None
    header = json.loads(line)
    arrays = {}
    specs = header.get("buffers", [])
    sizes = []
    for b in specs:
        _, width = DTYPES[b["dtype"]]
        sizes.append(math.prod(b["shape"]) * width)
    blob = _read_exact(stream, sum(sizes))
    offset = 0
    for b, size in zip(specs, sizes):
        dtype, _ = DTYPES[b["dtype"]]
        arr = np.frombuffer(blob, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=offset)
        arrays[b["name"]] = arr.reshape(b["shape"])
        offset += size
    arrays["csr_cols"] = header.get("csr_cols", {})
    return header, arrays


def write_frame(stream, header, buffers=()):
    """Writes one frame: ``buffers`` is a list of (name, wire dtype, array)."""
    import numpy as np

    specs, blobs = [], []
    for name, dtype, arr in buffers:
        a = np.ascontiguousarray(arr, dtype=DTYPES[dtype][0])
        specs.append({"name": name, "dtype": dtype, "shape": list(a.shape)})
        blobs.append(a.tobytes())
    header = dict(header, buffers=specs)
    stream.write(json.dumps(header, allow_nan=False).encode() + b"\n")
    for blob in blobs:
        stream.write(blob)
    stream.flush()


# ---------------------------------------------------------------- the worker


def load_metric(path):
    """Imports a metric file; returns (module, spec dict, codes fmt, labels fmt)."""
    name = "rdpbench_user_metric_" + "".join(c if c.isalnum() else "_" for c in os.path.basename(path))
    # The metric's own folder is importable (helper modules beside it).
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    metric_spec = getattr(module, "SPEC", None)
    if not isinstance(metric_spec, dict):
        raise TypeError(f"{path} defines no SPEC dict (the metric spec: id, version, ...)")
    if not callable(getattr(module, "compute", None)):
        raise TypeError(f"{path} defines no compute(x) function")
    formats = []
    for const in ("CODES", "LABELS"):
        fmt = getattr(module, const, "csr")
        if fmt not in ("csr", "dense"):
            raise ValueError(f"{path}: {const} = {fmt!r}; use 'csr' or 'dense'")
        formats.append(fmt)
    return module, metric_spec, formats[0], formats[1]


def _traceback_tail(exc):
    # The worker's own frame (serve) is left out: the metric's frames remain.
    tb = exc.__traceback__
    if tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_name == "serve":
        tb = tb.tb_next
    lines = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip().splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def _error(exc):
    return {
        "type": "error",
        "message": f"{type(exc).__name__}: {exc}",
        "traceback": _traceback_tail(exc),
    }


def _answer(result, d_sae, per_latent_wanted):
    """The reply header and buffers for what ``compute`` returned."""
    import numpy as np

    if isinstance(result, Undefined) or type(result).__name__ == "Undefined":
        return {"type": "undefined", "reason": str(result.reason)}, []
    per_latent = None
    if isinstance(result, Value) or type(result).__name__ == "Value":
        value, per_latent = result.value, result.per_latent
    else:
        value = result
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"compute returned {type(value).__name__} {value!r}: return a float, "
            "Undefined(reason) or Value(value, per_latent=...)"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(
            f"compute returned {value}: a metric must return a finite value or "
            "Undefined(reason)"
        )
    buffers = []
    if per_latent is not None and per_latent_wanted:
        p = np.asarray(per_latent, dtype=np.float64)
        if p.shape != (d_sae,):
            raise ValueError(f"per_latent has shape {p.shape}, expected ({d_sae},)")
        if np.isinf(p).any():
            raise ValueError("per_latent holds an infinite score; use NaN for undefined latents")
        buffers.append(("per_latent", "f64", p))
    return {"type": "value", "value": value}, buffers


def _watch_parent():
    """Ends this process when the host that started it is gone."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(70)


def serve(path, stdin, stdout):
    """The worker loop (see the module docs)."""
    hello = {"type": "hello", "protocol": PROTOCOL, "version": PROTOCOL_VERSION}
    try:
        import numpy as np

        module, spec, codes_fmt, labels_fmt = load_metric(path)
        hello.update(
            spec=spec,
            codes=codes_fmt,
            labels=labels_fmt,
            python=sys.version.split()[0],
            numpy=np.__version__,
        )
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the host
        write_frame(stdout, dict(_error(exc), protocol=PROTOCOL, version=PROTOCOL_VERSION))
        return 1
    write_frame(stdout, hello)
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return 0
        header, arrays = frame
        kind = header.get("type")
        if kind == "exit":
            return 0
        if kind != "compute":
            write_frame(stdout, {"type": "error", "message": f"unknown request type {kind!r}", "traceback": ""})
            continue
        started = time.perf_counter()
        try:
            x = Inputs(header, arrays, codes_fmt, labels_fmt)
            reply, buffers = _answer(module.compute(x), x.d_sae, x.per_latent)
        except Exception as exc:  # noqa: BLE001 - an exception is an error verdict
            reply, buffers = _error(exc), []
        # Diagnostic: seconds spent building the inputs and in compute().
        reply["seconds"] = time.perf_counter() - started
        write_frame(stdout, reply, buffers)


def main(argv):
    if len(argv) != 1:
        sys.stderr.write("usage: python3 rdpbench_metric.py METRIC_FILE\n")
        return 2
    # Metric files import the author API by this name, whichever copy runs.
    sys.modules["rdpbench_metric"] = sys.modules[__name__]
    threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # A metric's print() must not corrupt the protocol: it goes to stderr.
    sys.stdout = sys.stderr
    return serve(argv[0], stdin, stdout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
