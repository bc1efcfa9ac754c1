#!/usr/bin/env python3
"""Seed stability of `rdpbench check` verdicts (conditions spec v2).

Reads the check.json of several runs that differ only in their seed set and
prints, per (metric, condition, ladder family), the summary verdict of each
run. A verdict that goes from pass to FAIL (or error) or back between two
runs is a flip: the script lists them and exits 1. Moves to or from
"inconclusive" are allowed and are listed as such.

Usage: seed-stability.py RUN_DIR [RUN_DIR ...]   (each holding check.json)
"""
import json
import sys
from pathlib import Path

SHORT = {"pass": "ok", "fail": "FAIL", "inconclusive": "?", "n/a": "n/a",
         "not_applicable": "n/a", "vacuous": "vac", "error": "ERR"}


def summaries(run_dir):
    data = json.loads((Path(run_dir) / "check.json").read_text())
    seeds = data["settings"]["seeds"]
    out = {}
    for m in data["metrics"]:
        for s in m["summary"]:
            key = (m["spec"]["id"], s["condition"], s.get("family") or "")
            out[key] = s["status"]
    return seeds, out


def main(dirs):
    runs = [summaries(d) for d in dirs]
    keys = sorted(set().union(*(r[1].keys() for r in runs)),
                  key=lambda k: (k[0], int(k[1][1:]), k[2]))
    head = ["metric", "condition"] + ["seeds " + ",".join(map(str, s)) for s, _ in runs] + ["stable"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    flips, moves = [], []
    for key in keys:
        statuses = [r[1].get(key, "-") for r in runs]
        decided = {s for s in statuses if s in ("pass", "fail", "error")}
        flip = "pass" in decided and len(decided) > 1
        move = "inconclusive" in statuses and len(set(statuses)) > 1
        if flip:
            flips.append(key)
        elif move:
            moves.append(key)
        cond = key[1] + (f" ({key[2]})" if key[2] else "")
        mark = "FLIP" if flip else ("moves via ?" if move else "yes")
        print(f"| {key[0]} | {cond} | " + " | ".join(SHORT.get(s, s) for s in statuses) + f" | {mark} |")
    print()
    print(f"{len(keys)} verdicts over {len(runs)} seed sets: {len(flips)} pass<->FAIL flip(s), "
          f"{len(moves)} move(s) to or from inconclusive.")
    for k in flips:
        print("FLIP:", k)
    for k in moves:
        print("inconclusive move:", k)
    return 1 if flips else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
