"""Any edit to any version after the first of a history document is refused, naming that version (issue 11, item 6)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from payplan import (
    InvalidPlanError,
    Money,
    PaymentPlan,
    PlanHistory,
    RuleViolationError,
    SerializationError,
    dump_history,
    load_history,
)
from property.test_amendments import amendments
from strategies import plans


@st.composite
def histories(draw: st.DrawFn) -> PlanHistory:
    """A plan and one to four amendments that applied, with something paid along the way."""
    history = PlanHistory.start(draw(plans(max_installments=6)))
    paid = 0
    on = history.current.booked
    for _ in range(draw(st.integers(1, 4))):
        current = history.current
        paid = min(paid + draw(st.integers(0, current.total.minor // 3)), current.total.minor)
        on += dt.timedelta(days=draw(st.integers(0, 30)))
        try:
            history = history.apply(
                draw(amendments(current, on)), by="staff", reason="property", on=on, consent=True,
                paid=Money(paid, current.fee.currency),
            )
        except (RuleViolationError, InvalidPlanError):
            continue
    assume(len(history.versions) > 1)
    return history


def _edit(draw: st.DrawFn, plan: dict[str, object]) -> None:
    """Change one thing in a plan document: two lines' amounts, a date, a label, the session or the tier."""
    lines = plan["installments"]
    assert isinstance(lines, list)
    what = draw(st.sampled_from(["amounts", "due", "label", "session", "tier"]))
    if what == "amounts" and len(lines) > 1:
        a, b = draw(st.lists(st.integers(0, len(lines) - 1), min_size=2, max_size=2, unique=True))
        units = draw(st.integers(1, max(1, lines[b]["amount_minor"] - 1)))
        lines[a]["amount_minor"] += units
        lines[b]["amount_minor"] -= units
    elif what == "due":
        line = draw(st.sampled_from(lines))
        line["due"] = (dt.date.fromisoformat(line["due"]) + dt.timedelta(days=draw(st.sampled_from([-1, 1])))).isoformat()
    elif what == "label":
        draw(st.sampled_from(lines))["label"] = "edited"
    elif what == "session":
        plan["session"] = (dt.date.fromisoformat(str(plan["session"])) + dt.timedelta(days=1)).isoformat()
    else:
        plan["tier"] = "Edited"


@settings(max_examples=60, deadline=None)
@given(histories(), st.data())
def test_an_edit_to_any_later_version_is_refused_naming_it(history: PlanHistory, data: st.DataObject) -> None:
    """Whatever version after the first is edited, and however, loading refuses and names that version."""
    doc = dump_history(history)
    k = data.draw(st.integers(1, len(history.versions) - 1))
    edited = copy.deepcopy(doc)
    _edit(data.draw, edited["versions"][k]["plan"])
    assume(edited != doc)
    with pytest.raises(SerializationError, match=rf"document\.versions\[{k}\]"):
        load_history(edited)


@settings(max_examples=30, deadline=None)
@given(histories())
def test_an_untouched_history_loads_back_equal(history: PlanHistory) -> None:
    """The verification never refuses what apply() made."""
    assert load_history(dump_history(history)) == history
    assert isinstance(history.current, PaymentPlan)
