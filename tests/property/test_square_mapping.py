"""Properties of the plan -> Square invoice mapping: exact amounts, same dates, Square's limits, or a refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("square", reason="the Square SDK (payplan[square]) is not installed")

from payplan import InstallmentKind, PaymentPlan, UnsupportedByProviderError
from payplan.providers.square._mapping import (
    invoice_body,
    order_body,
    order_reference,
    plan_id_from_description,
    request_types,
)
from strategies import plans


def _why_square_refuses(plan: PaymentPlan, invoices_plus: bool) -> str | None:
    """Square's rules, restated independently of the adapter: the reason a plan cannot go, or None."""
    lines = plan.installments
    deposit = lines[0].kind is InstallmentKind.DEPOSIT
    rest = len(lines) - deposit
    if rest > 12:
        return "at most 12"
    if len(lines) >= 2 and deposit and lines[1].due <= lines[0].due:
        return "deposit due before"
    if len(lines) <= 2:
        if len(lines) == 2 and not deposit and not invoices_plus and lines[1].due <= lines[0].due:
            return "deposit due before"
        return None
    return None if invoices_plus else "Invoices Plus"


@given(plans(max_installments=14), st.booleans(), st.sampled_from([None, "ccof:card"]))
def test_mapping_is_exact_or_refused_for_the_stated_reason(
    plan: PaymentPlan, invoices_plus: bool, card: str | None
) -> None:
    """Every plan maps to one request per installment adding up exactly to the order total, or is refused with Square's reason."""
    reason = _why_square_refuses(plan, invoices_plus)
    if reason is not None:
        with pytest.raises(UnsupportedByProviderError, match=reason):
            request_types(plan, invoices_plus=invoices_plus)
        return
    body = invoice_body(plan, location_id="L", order_id="O", customer_id="C", card_id=card,
                        invoices_plus=invoices_plus)
    order = order_body(plan, location_id="L")
    order_total = sum(item["base_price_money"]["amount"] for item in order["line_items"])
    assert order_total == plan.total.minor
    requests = body["payment_requests"]
    assert len(requests) == len(plan.installments)
    fixed = [r["fixed_amount_requested_money"]["amount"] for r in requests if r["request_type"] != "BALANCE"]
    balance = order_total - sum(fixed)
    types = [r["request_type"] for r in requests]
    computed = fixed + ([balance] if "BALANCE" in types else [])
    assert computed == [i.amount.minor for i in plan.installments]
    assert all(type(a) is int and a > 0 for a in computed)
    assert {r.get("fixed_amount_requested_money", {}).get("currency", plan.currency) for r in requests} == {
        plan.currency
    }
    assert [r["due_date"] for r in requests] == [i.due.isoformat() for i in plan.installments]
    assert types.count("INSTALLMENT") <= 12
    assert types in (["BALANCE"], ["DEPOSIT", "BALANCE"]) or (
        types.count("INSTALLMENT") >= 2 and set(types[1:]) == {"INSTALLMENT"}
    )
    if "INSTALLMENT" in types:
        assert invoices_plus
    if types[0] == "DEPOSIT":
        assert all(r["due_date"] > requests[0]["due_date"] for r in requests[1:])
    assert all((r["automatic_payment_source"] == "CARD_ON_FILE") == (card is not None) for r in requests)
    assert plan_id_from_description(body["description"]) == plan.id


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=200))
def test_order_reference_fits_square_and_names_short_ids_plainly(plan_id: str) -> None:
    """The order reference_id is at most 40 characters, and is the plan id itself whenever that fits."""
    ref = order_reference(plan_id)
    assert len(ref) <= 40
    if len(plan_id) <= 40:
        assert ref == plan_id
