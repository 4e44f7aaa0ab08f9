"""load(dump(plan)) == plan for every plan payplan can build."""

from __future__ import annotations

import json

from hypothesis import given

from payplan import PaymentPlan, dump_plan, load_plan, loads_plan
from strategies import plans


class TestRoundTrip:
    @given(plans())
    def test_dump_then_load_is_identity(self, plan: PaymentPlan) -> None:
        """Every plan survives a JSON round trip unchanged."""
        assert load_plan(json.loads(json.dumps(dump_plan(plan)))) == plan

    @given(plans())
    def test_text_round_trip(self, plan: PaymentPlan) -> None:
        """The text helpers round-trip as well."""
        from payplan import dumps_plan

        assert loads_plan(dumps_plan(plan, indent=None)) == plan
