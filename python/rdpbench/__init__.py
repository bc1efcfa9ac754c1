"""rdpbench from Python: develop a polysemanticity metric in a notebook.

``rdpbench.check(fn_or_file, ...)`` runs the necessary conditions C1-C11 on
a Python metric through the ``rdpbench`` command-line tool (found through
``RDPBENCH_BIN``, else on ``PATH``) and returns the verdicts as dataclasses;
the results folder holds the same ``check.json`` as any ``rdpbench check``.
``rdpbench.examples(fn_or_file)`` replays a metric's declared examples in
this process, without the tool.

A metric is a ``.py`` file with ``SPEC`` and ``compute(x)`` (see
``rdpbench_metric`` and docs/python-metrics.md), or a function passed with
``spec=``: it is written to a metric file that imports the function from
its module (a function defined in a notebook is copied with its source).
"""

from .check import (
    CheckResult,
    ConditionSummary,
    MetricResult,
    Verdict,
    check,
    find_binary,
    metric_file,
)
from .examples import examples

from rdpbench_metric import Csr, Inputs, Undefined, Value

__all__ = [
    "CheckResult",
    "ConditionSummary",
    "Csr",
    "Inputs",
    "MetricResult",
    "Undefined",
    "Value",
    "Verdict",
    "check",
    "examples",
    "find_binary",
    "metric_file",
]
