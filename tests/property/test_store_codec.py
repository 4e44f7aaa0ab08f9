"""The store's direct plan decoder reads exactly what ``load_plan`` reads, and refuses what it refuses."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import PaymentPlan, SerializationError
from payplan.serialization import load_plan
from payplan.store._codec import dumps_plan_doc, loads_plan_doc
from property.test_collections_properties import policy_terms
from strategies import plans


@st.composite
def stored_plans(draw: st.DrawFn) -> PaymentPlan:
    """Any plan, with any collection policies, some lines carrying an amendment's line keys."""
    plan = draw(plans(max_installments=6))
    if draw(st.booleans()):
        plan = attrs.evolve(plan, terms=attrs.evolve(plan.terms, **draw(policy_terms(plan.fee.currency))))
    if draw(st.booleans()):
        lines = [attrs.evolve(i, key=f"v2.{n}") if draw(st.booleans()) else i for n, i in enumerate(plan.installments)]
        plan = attrs.evolve(plan, installments=lines, version=draw(st.integers(1, 9)))
    return plan


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for n, v in enumerate(doc):
            out += _leaves(v, (*path, n))
    return out


WRONG = st.sampled_from([None, True, False, 0, -1, 1.5, "", "x", "2026-13-01", "20261201", [], {}, [1], 10**30])


def _outcome(read: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", read(text)
    except SerializationError as exc:
        return "refused", str(exc)


class TestDirectPlanDecoder:
    @settings(max_examples=200, deadline=None)
    @given(stored_plans())
    def test_reads_what_load_plan_reads(self, plan: PaymentPlan) -> None:
        text = dumps_plan_doc(plan)
        assert loads_plan_doc(text) == load_plan(json.loads(text)) == plan

    @settings(max_examples=300, deadline=None)
    @given(stored_plans(), st.data())
    def test_a_damaged_document_reads_as_load_plan_reads_it(self, plan: PaymentPlan, data: st.DataObject) -> None:
        """A changed or missing field: the same plan as ``load_plan`` gives, or the same error."""
        doc = json.loads(dumps_plan_doc(plan))
        path = data.draw(st.sampled_from(_leaves(doc)[1:]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.integers(0, 4)) == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(WRONG)
        text = json.dumps(doc)
        assert _outcome(loads_plan_doc, text) == _outcome(lambda t: load_plan(json.loads(t)), text)
