"""JSON documents: round trips and clear errors for bad ones."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from payplan import (
    SCHEMA_VERSION,
    DepositRule,
    Money,
    PaymentPlan,
    SerializationError,
    dump_plan,
    dumps_plan,
    load_plan,
    loads_plan,
)

D = dt.date


@pytest.fixture
def doc() -> dict[str, Any]:
    plan = PaymentPlan.with_deposit(
        "a", Money.of("2000.00", "USD"), deposit=DepositRule.percent_or_minimum(25, Money.of("500", "USD")),
        installments=3, booked=D(2026, 12, 1), session=D(2027, 4, 15), timezone="America/New_York",
    )
    return dump_plan(plan)


class TestDocuments:
    def test_round_trip(self, doc: dict[str, Any]) -> None:
        """load(dump(plan)) == plan, through JSON text too."""
        plan = load_plan(doc)
        assert loads_plan(dumps_plan(plan)) == plan
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["plan"]["installments"][0] == {
            "number": 1, "kind": "deposit", "due": "2026-12-01", "amount_minor": 50000,
            "label": None, "days_before_session": None,
        }

    def test_newer_version_is_refused(self, doc: dict[str, Any]) -> None:
        """A document from a newer schema says to upgrade payplan."""
        doc["schema_version"] = SCHEMA_VERSION + 1
        with pytest.raises(SerializationError, match="upgrade payplan"):
            load_plan(doc)

    def test_other_schema_is_refused(self, doc: dict[str, Any]) -> None:
        """A document of another kind is refused."""
        doc["schema"] = "something/else"
        with pytest.raises(SerializationError, match=r"document\.schema"):
            load_plan(doc)

    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            (("plan", "installments", 1, "due"), "2027-02-30", r"plan.installments\[1\].due: expected a date"),
            (("plan", "installments", 1, "amount_minor"), "500", r"amount_minor: expected an integer"),
            (("plan", "installments", 1, "amount_minor"), 1.5, r"amount_minor: expected an integer"),
            (("plan", "installments", 1, "amount_minor"), 49999, r"add up to"),
            (("plan", "currency"), "ZZZ", r"plan.currency"),
            (("plan", "fee_minor"), True, r"plan.fee_minor: expected an integer"),
            (("plan", "terms", "dates", "type"), "lunar", r"expected cadence, dates or before_session"),
            (("plan", "kind"), "magic", r"plan.kind"),
            (("plan", "timezone"), "Nowhere/Land", r"IANA"),
        ],
    )
    def test_malformed_fields_are_named(self, doc: dict[str, Any], path: tuple[Any, ...], value: Any, message: str) -> None:
        """A bad field raises SerializationError naming its path and what was expected."""
        bad = copy.deepcopy(doc)
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(SerializationError, match=message):
            load_plan(bad)

    def test_missing_field(self, doc: dict[str, Any]) -> None:
        """A missing field is named."""
        del doc["plan"]["booked"]
        with pytest.raises(SerializationError, match=r"plan\.booked: required field is missing"):
            load_plan(doc)

    @pytest.mark.parametrize("text", ["", "{", "[]", "null", '"plan"'])
    def test_not_a_document(self, text: str) -> None:
        """Invalid JSON or a non-object is a SerializationError."""
        with pytest.raises(SerializationError):
            loads_plan(text)

    def test_json_is_plain(self, doc: dict[str, Any]) -> None:
        """The document is plain JSON: ints, strings, lists, objects."""
        assert json.loads(json.dumps(doc)) == doc
