"""The store's plan documents read back as the plan written, through ``load_plan``."""

from __future__ import annotations

import json

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import PaymentPlan
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


class TestStoredPlanDocuments:
    @settings(max_examples=200, deadline=None)
    @given(stored_plans())
    def test_a_stored_plan_reads_back_as_written(self, plan: PaymentPlan) -> None:
        text = dumps_plan_doc(plan)
        assert loads_plan_doc(text) == load_plan(json.loads(text)) == plan
