"""Serialization: JSON round trip of a portfolio, against ``json`` on plain dicts.

payplan: ``loads_plan(dumps_plan(plan, indent=None))``, which checks every
field and rebuilds the plan through its validating constructor. The floor:
``json.loads(json.dumps(d))`` of the very dict ``dump_plan`` produces, i.e.
the cost of the JSON text alone with no model at either end.
"""

from __future__ import annotations

import json
from typing import Any

from payplan import dump_plan, dumps_plan, load_plan, loads_plan

from ._data import portfolio
from ._harness import Row, Settings, measure

AREA = "serialization"


def run(settings: Settings) -> list[Row]:
    """Round trip, dump and load, each per plan against the plain-dict floor."""
    n = settings.size(100_000, 2_000)
    repeats = 3
    plans = portfolio(n)
    plain = [dump_plan(p) for p in plans]
    texts = [dumps_plan(p, indent=None) for p in plans]
    if [load_plan(d) for d in plain[:1000]] != list(plans[:1000]):
        raise AssertionError("round trip changed a plan")
    dumps, loads = json.dumps, json.loads

    def rt_payplan() -> list[Any]:
        return [loads_plan(dumps_plan(p, indent=None)) for p in plans]

    def rt_floor() -> list[Any]:
        return [loads(dumps(d)) for d in plain]

    # The round trip runs on all n plans; its two halves on a fifth of them,
    # which keeps the full run to a couple of minutes.
    k = n // 5
    part, part_plain, part_texts = plans[:k], plain[:k], texts[:k]

    def dump_payplan() -> list[Any]:
        return [dumps_plan(p, indent=None) for p in part]

    def dump_floor() -> list[Any]:
        return [dumps(d) for d in part_plain]

    def load_payplan() -> list[Any]:
        return [loads_plan(t) for t in part_texts]

    def load_floor() -> list[Any]:
        return [loads(t) for t in part_texts]

    rows = []
    for case, pp, fl, floor_name, size, reps in (
        (f"JSON round trip, {n:,} plans", rt_payplan, rt_floor, "json.loads(json.dumps(dict))", n, repeats),
        (f"dumps_plan, {k:,} plans", dump_payplan, dump_floor, "json.dumps(dict)", k, settings.repeats),
        (f"loads_plan (validating), {k:,} plans", load_payplan, load_floor, "json.loads(text)", k, settings.repeats),
    ):
        t = measure({"payplan": pp, "floor": fl}, per=size, repeats=reps)
        rows.append(
            Row(AREA, case, t["payplan"], "ns/plan", floor_name, t["floor"],
                f"{t['payplan'] / t['floor']:.2f}x the floor", "report")
        )
    return rows
