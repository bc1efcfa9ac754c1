"""``rdpbench.check``: the conditions on a Python metric, through the CLI."""

import dataclasses
import inspect
import json
import os
import shutil
import subprocess
import tempfile
import textwrap

BIN_ENV = "RDPBENCH_BIN"


@dataclasses.dataclass
class Verdict:
    """One verdict of check.json: a condition, on one ladder family and seed."""

    condition: str
    family: "str | None"
    seed: "int | None"
    status: str
    reason: str
    structurally_blind: bool
    raw: dict = dataclasses.field(repr=False)


@dataclasses.dataclass
class ConditionSummary:
    """The summary row of one condition (and family) for one metric."""

    condition: str
    family: "str | None"
    status: str
    reason: str
    structurally_blind: bool


@dataclasses.dataclass
class MetricResult:
    id: str
    verdicts: list
    summary: list

    def status(self, condition, family=None):
        """The summary status of ``condition`` (e.g. "C3"), or None."""
        for s in self.summary:
            if s.condition == condition and (family is None or s.family == family):
                return s.status
        return None


@dataclasses.dataclass
class CheckResult:
    """What ``rdpbench check`` wrote and answered."""

    exit_code: int
    out_dir: str
    check_json: str
    metrics: list
    plugin_errors: list
    stderr: str = dataclasses.field(repr=False)

    def metric(self, metric_id):
        for m in self.metrics:
            if m.id == metric_id:
                return m
        raise KeyError(f"no metric {metric_id!r} in {self.check_json}")


def find_binary(binary=None):
    """The rdpbench executable: ``binary``, ``RDPBENCH_BIN``, or ``rdpbench`` on PATH."""
    for candidate in (binary, os.environ.get(BIN_ENV)):
        if candidate:
            return candidate
    found = shutil.which("rdpbench")
    if found:
        return found
    raise FileNotFoundError(
        "cannot find the rdpbench binary: build it (cargo build --release) and set "
        f"{BIN_ENV}=/path/to/target/release/rdpbench, or put it on PATH"
    )


def metric_file(metric, spec=None, directory=None, codes="csr", labels="csr"):
    """A metric file for ``metric``: a path is returned as is; a function is
    written with ``spec`` to a new file in ``directory`` (a temporary folder
    by default). A function from an importable file is imported from there;
    one defined in ``__main__`` (a notebook) is copied with its source and
    must be self-contained (numpy is imported as ``np``)."""
    if isinstance(metric, (str, os.PathLike)):
        return os.fspath(metric)
    if not callable(metric):
        raise TypeError(f"metric must be a .py path or a function, not {type(metric).__name__}")
    if not isinstance(spec, dict):
        raise TypeError("a metric function needs spec={...} (id, version, description, ...)")
    directory = directory or tempfile.mkdtemp(prefix="rdpbench-metric-")
    module = inspect.getmodule(metric)
    source_file = getattr(module, "__file__", None)
    lines = [
        "# Written by rdpbench.metric_file.",
        "import json",
        "import numpy as np",
        "from rdpbench_metric import Csr, Undefined, Value",
        "try:",
        "    import rdpbench",
        "except ImportError:  # the worker without the package: its author API",
        "    import rdpbench_metric as rdpbench",
        f"SPEC = json.loads({json.dumps(json.dumps(spec))})",
        f"CODES = {codes!r}",
        f"LABELS = {labels!r}",
    ]
    if module is not None and module.__name__ != "__main__" and source_file:
        lines += [
            "import importlib.util, sys",
            f"_spec = importlib.util.spec_from_file_location({module.__name__!r}, "
            f"{os.path.abspath(source_file)!r})",
            "_mod = importlib.util.module_from_spec(_spec)",
            f"sys.modules[{module.__name__!r}] = _mod",
            "_spec.loader.exec_module(_mod)",
            f"compute = getattr(_mod, {metric.__name__!r})",
        ]
    else:
        lines += [textwrap.dedent(inspect.getsource(metric)), f"compute = {metric.__name__}"]
    path = os.path.join(directory, f"{spec['id'].replace('-', '_')}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _verdicts(report):
    out = []
    for v in report.get("verdicts", []):
        out.append(
            Verdict(
                condition=v["condition"],
                family=v.get("family"),
                seed=v.get("seed"),
                status=v["status"],
                reason=v.get("reason", ""),
                structurally_blind=v.get("structurally_blind", False),
                raw=v,
            )
        )
    return out


def _summary(report):
    return [
        ConditionSummary(
            condition=s["condition"],
            family=s.get("family"),
            status=s["status"],
            reason=s.get("reason", ""),
            structurally_blind=s.get("structurally_blind", False),
        )
        for s in report.get("summary", [])
    ]


def load_check_json(path):
    """The metrics of a check.json as :class:`MetricResult` objects."""
    with open(path, encoding="utf-8") as f:
        run = json.load(f)
    metrics = [
        MetricResult(id=m["spec"]["id"], verdicts=_verdicts(m), summary=_summary(m))
        for m in run.get("metrics", [])
    ]
    return metrics, run.get("plugin_errors", [])


def check(
    metric,
    spec=None,
    *,
    seeds=None,
    conditions=None,
    samples=None,
    out=None,
    baseline=None,
    strict=False,
    isolate=False,
    binary=None,
    codes="csr",
    labels="csr",
    extra_args=(),
    timeout=None,
):
    """Runs ``rdpbench check`` on one Python metric (a ``.py`` path, or a
    function with ``spec``) and returns a :class:`CheckResult`; the exit code
    is the CLI's (0 ok, 3 plugin error, 4 with ``strict``, 5 a regression
    against ``baseline``). Raises ``RuntimeError`` when the tool wrote no
    check.json (a usage error: its stderr is in the message)."""
    out = out or tempfile.mkdtemp(prefix="rdpbench-check-")
    if isinstance(metric, (str, os.PathLike)):
        path = os.fspath(metric)
        metric_id = _spec_id(path)
    else:
        folder = os.path.join(out, "metric")
        os.makedirs(folder, exist_ok=True)
        path = metric_file(metric, spec, directory=folder, codes=codes, labels=labels)
        metric_id = spec["id"]
    cmd = [find_binary(binary), "check", "--plugin", path, "--metrics", metric_id, "--out", out]
    if seeds is not None:
        cmd += ["--seeds", ",".join(str(s) for s in seeds)]
    if conditions is not None:
        cmd += ["--conditions", ",".join(conditions)]
    if samples is not None:
        cmd += ["--samples", str(samples)]
    if baseline is not None:
        cmd += ["--baseline", os.fspath(baseline)]
    if strict:
        cmd.append("--strict")
    if isolate:
        cmd.append("--isolate")
    cmd += list(extra_args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    check_json = os.path.join(out, "check.json")
    if not os.path.exists(check_json):
        raise RuntimeError(
            f"rdpbench check wrote no {check_json} (exit {proc.returncode}): {proc.stderr.strip()}"
        )
    metrics, errors = load_check_json(check_json)
    return CheckResult(
        exit_code=proc.returncode,
        out_dir=out,
        check_json=check_json,
        metrics=metrics,
        plugin_errors=errors,
        stderr=proc.stderr,
    )


def _spec_id(path):
    """The SPEC id of a metric file, read by importing it here."""
    from rdpbench_metric import load_metric

    _, spec, _, _ = load_metric(path)
    return spec["id"]
