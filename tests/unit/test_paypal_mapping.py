"""PayPal mapping and webhook normalization: pure functions, no SDK, no network."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from payplan import (
    BeforeSession,
    DepositRule,
    InvalidMoneyError,
    Money,
    PaymentPlan,
    ProviderRequestError,
    UnsupportedByProviderError,
)
from payplan.providers import EventKind
from payplan.providers.paypal import (
    PayPalOptions,
    check_cert_url,
    from_paypal_amount,
    map_plan,
    parse_events,
    plan_id_from_custom_id,
    to_paypal_amount,
    verification_request,
)
from payplan.providers.paypal._mapping import parse_custom_id

OPTIONS = PayPalOptions(return_url="https://booking.example/ok", cancel_url="https://booking.example/no")
BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)


def pack_a(plan_id: str = "pack-a", **kwargs: Any) -> PaymentPlan:
    """The reference plan, with overrides."""
    args: dict[str, Any] = {
        "deposit": DepositRule.percent_or_minimum(25, Money.of("500.00", "USD")),
        "installments": 3,
        "dates": "monthly",
        "booked": BOOKED,
        "session": SESSION,
    }
    args.update(kwargs)
    fee = args.pop("fee", Money.of("2000.00", "USD"))
    return PaymentPlan.with_deposit(plan_id, fee, **args)


def cycles(plan: PaymentPlan) -> list[tuple[str, str, int, int, str]]:
    """(tenure, unit, count, total cycles, price) of each billing cycle."""
    body = map_plan(plan, OPTIONS).billing_plan("PROD-1")
    return [
        (c["tenure_type"], c["frequency"]["interval_unit"], c["frequency"]["interval_count"], c["total_cycles"],
         c["pricing_scheme"]["fixed_price"]["value"])
        for c in body["billing_cycles"]
    ]


def test_reference_plan_maps_to_setup_fee_and_three_monthly_cycles() -> None:
    """Pack A becomes a $500 setup fee and 3 monthly $500 REGULAR cycles from 2027-01-01."""
    bodies = map_plan(pack_a(), OPTIONS, email="client@example.com")
    plan = bodies.billing_plan("PROD-1")
    assert plan["product_id"] == "PROD-1"
    assert plan["payment_preferences"] == {
        "auto_bill_outstanding": True,
        "setup_fee_failure_action": "CANCEL",
        "payment_failure_threshold": 1,
        "setup_fee": {"currency_code": "USD", "value": "500.00"},
    }
    assert cycles(pack_a()) == [("REGULAR", "MONTH", 1, 3, "500.00")]
    sub = bodies.subscription("P-1")
    assert sub["plan_id"] == "P-1"
    assert sub["start_time"] == "2027-01-01T12:00:00Z"
    assert sub["custom_id"] == "payplan:pack-a:v1:i2"
    assert sub["subscriber"] == {"email_address": "client@example.com"}
    assert sub["application_context"]["return_url"] == "https://booking.example/ok"
    assert bodies.first_charge == dt.date(2027, 1, 1)
    assert bodies.last_charge == dt.date(2027, 3, 1)
    assert bodies.product_body()["type"] == "SERVICE"


def test_start_time_is_noon_in_the_plan_time_zone() -> None:
    """The first charge is requested at local noon of its due date, expressed in UTC."""
    import attrs

    plan = attrs.evolve(pack_a(), timezone="America/New_York")
    assert map_plan(plan, OPTIONS).subscription("P")["start_time"] == "2027-01-01T17:00:00Z"


@pytest.mark.parametrize(
    ("remainder", "expected"),
    [
        ("first", [("TRIAL", "MONTH", 1, 1, "333.34"), ("REGULAR", "MONTH", 1, 2, "333.33")]),
        ("last", [("TRIAL", "MONTH", 1, 2, "333.33"), ("REGULAR", "MONTH", 1, 1, "333.34")]),
    ],
)
def test_uneven_cents_follow_the_remainder_policy(remainder: str, expected: list[Any]) -> None:
    """The odd cent goes in a TRIAL cycle before or a REGULAR cycle after, as the plan's remainder policy put it."""
    plan = pack_a(fee=Money.of("1000.00", "USD"), deposit=DepositRule.none(), remainder=remainder)
    assert cycles(plan) == expected


def test_financed_plan_uses_a_trial_for_level_payments_and_regular_for_the_last() -> None:
    """An amortized plan (level payments, a different last one) fits a TRIAL and a REGULAR cycle."""
    plan = pack_a(apr=Decimal("12.5"), installments=3)
    lines = [i.amount.to_decimal_string() for i in plan.installments[1:]]
    got = cycles(plan)
    assert [g[4] for g in got] == sorted(set(lines), key=lines.index)
    assert sum(g[3] for g in got) == 3


@pytest.mark.parametrize(
    ("dates", "unit", "count"),
    [("weekly", "WEEK", 1), ("biweekly", "WEEK", 2), ("bimonthly", "MONTH", 2), ("monthly", "MONTH", 1)],
)
def test_cadences_map_to_paypal_frequencies(dates: str, unit: str, count: int) -> None:
    """Weekly, every two weeks, monthly and every two months map to PayPal frequencies."""
    plan = pack_a(dates=dates, installments=2, session=dt.date(2027, 6, 1))
    assert {(c[1], c[2]) for c in cycles(plan)} == {(unit, count)}


def test_month_end_dates_that_happen_to_be_evenly_spaced_map_to_days() -> None:
    """Booked Oct 31, monthly gives Nov 30, Dec 31, Jan 31: 31 days apart, so every 31 days expresses them exactly."""
    plan = pack_a(booked=dt.date(2026, 10, 31))
    assert {(c[1], c[2]) for c in cycles(plan)} == {("DAY", 31)}


def test_evenly_spaced_days_before_the_session_map_to_days() -> None:
    """Installments 60, 40 and 20 days before the session become a 20-day frequency."""
    plan = pack_a(dates=BeforeSession((60, 40, 20)))
    assert {(c[1], c[2]) for c in cycles(plan)} == {("DAY", 20)}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"dates": "semimonthly"}, "arbitrary dates"),
        ({"dates": BeforeSession((60, 30, 21))}, "arbitrary dates"),
        ({"booked": dt.date(2027, 1, 31), "session": dt.date(2027, 6, 1)}, "days 29 to 31"),
        ({"fee": Money.of("2000.000", "KWD"), "deposit": DepositRule.none()}, "currency PayPal takes"),
        ({"fee": Money.of("1000.00", "HUF"), "deposit": DepositRule.none()}, "whole units"),
    ],
)
def test_inexpressible_plans_are_refused_with_the_reason(kwargs: dict[str, Any], reason: str) -> None:
    """Semimonthly or irregular dates, month-end anchors, foreign currencies and HUF cents are refused, never rounded."""
    with pytest.raises(UnsupportedByProviderError, match=reason) as info:
        map_plan(pack_a(**kwargs), OPTIONS)
    assert info.value.provider == "paypal"


def test_whole_unit_currencies_take_no_decimals() -> None:
    """JPY, HUF and TWD amounts are sent without a decimal point; USD with two decimals."""
    assert to_paypal_amount(Money.of("12345", "JPY")) == {"currency_code": "JPY", "value": "12345"}
    assert to_paypal_amount(Money.of("300.00", "HUF")) == {"currency_code": "HUF", "value": "300"}
    assert to_paypal_amount(Money.of("71.00", "TWD")) == {"currency_code": "TWD", "value": "71"}
    assert to_paypal_amount(Money.of("0.05", "USD")) == {"currency_code": "USD", "value": "0.05"}
    with pytest.raises(UnsupportedByProviderError, match="whole units"):
        to_paypal_amount(Money.of("300.50", "TWD"))


def test_paypal_amounts_parse_back_exactly() -> None:
    """PayPal value strings parse to the exact Money, and malformed ones are refused."""
    assert from_paypal_amount("333.33", "USD") == Money(33333, "USD")
    assert from_paypal_amount("300", "HUF") == Money(30000, "HUF")
    with pytest.raises(InvalidMoneyError):
        from_paypal_amount("1.005", "USD")
    with pytest.raises(InvalidMoneyError):
        from_paypal_amount(1.5, "USD")


def test_deposit_only_plan_is_one_cycle_at_booking() -> None:
    """A deposit that is the whole fee becomes one charge at booking, with no setup fee."""
    plan = pack_a(deposit=DepositRule.fixed(Money.of("2000.00", "USD")), installments=0)
    bodies = map_plan(plan, OPTIONS)
    assert "setup_fee" not in bodies.billing_plan("P")["payment_preferences"]
    assert cycles(plan) == [("REGULAR", "MONTH", 1, 1, "2000.00")]
    assert bodies.first_charge == BOOKED
    assert bodies.custom_id.endswith(":i1")


def test_deposit_due_after_booking_is_refused() -> None:
    """A custom plan whose first (deposit) part is due after booking is refused: PayPal charges the setup fee at approval."""
    plan = PaymentPlan.custom(
        "late-deposit",
        [(dt.date(2026, 12, 5), Money.of("500.00", "USD")), (dt.date(2027, 1, 5), Money.of("500.00", "USD"))],
        booked=BOOKED,
        session=SESSION,
    )
    with pytest.raises(UnsupportedByProviderError, match="setup fee"):
        map_plan(plan, OPTIONS)


@pytest.mark.parametrize("plan_id", ["x" * 120, "café-42"])
def test_plan_ids_that_cannot_be_a_custom_id_are_refused(plan_id: str) -> None:
    """A plan id too long or not ASCII for PayPal's custom_id is refused with the reason."""
    with pytest.raises(UnsupportedByProviderError, match="custom_id"):
        map_plan(pack_a(plan_id), OPTIONS)


@pytest.mark.parametrize("plan_id", ["pack-a", "a:v2", "b:i3:v1", "with spaces"])
def test_custom_id_round_trips(plan_id: str) -> None:
    """The plan id and first-cycle installment come back out of the custom_id, whatever the id contains."""
    plan = pack_a(plan_id)
    custom = map_plan(plan, OPTIONS).custom_id
    assert parse_custom_id(custom) == (plan_id, 2)
    assert plan_id_from_custom_id(custom) == plan_id
    assert plan_id_from_custom_id("someone-else") is None


def test_options_are_checked() -> None:
    """Bad return URLs, thresholds and failure actions are refused when the options are built."""
    with pytest.raises(UnsupportedByProviderError, match="return_url"):
        PayPalOptions(return_url="nope", cancel_url="https://booking.example/no")
    with pytest.raises(UnsupportedByProviderError, match="threshold"):
        PayPalOptions(return_url="https://booking.example/ok", cancel_url="https://booking.example/no",
                      payment_failure_threshold=1000)
    with pytest.raises(UnsupportedByProviderError, match="setup_fee_failure_action"):
        PayPalOptions(return_url="https://booking.example/ok", cancel_url="https://booking.example/no",
                      setup_fee_failure_action="RETRY")


def test_options_reach_the_billing_plan() -> None:
    """auto_bill_outstanding=False and a threshold of 3 are sent as given."""
    options = PayPalOptions(return_url="https://booking.example/ok", cancel_url="https://booking.example/no",
                            auto_bill_outstanding=False, payment_failure_threshold=3)
    prefs = map_plan(pack_a(), options).billing_plan("P")["payment_preferences"]
    assert prefs["auto_bill_outstanding"] is False
    assert prefs["payment_failure_threshold"] == 3


def test_mapping_is_a_value() -> None:
    """Mapping the same plan twice gives equal results, and editing a returned body changes nothing stored."""
    one, two = map_plan(pack_a(), OPTIONS), map_plan(pack_a(), OPTIONS)
    assert one == two
    body = one.billing_plan("P")
    body["billing_cycles"][0]["total_cycles"] = 99
    assert one.billing_plan("P")["billing_cycles"][0]["total_cycles"] == 3


# -- webhooks ---------------------------------------------------------------------


def event(event_type: str, resource: dict[str, Any], **extra: Any) -> bytes:
    """A PayPal event body."""
    return json.dumps({"id": "WH-1", "create_time": "2027-01-01T23:30:00Z", "event_type": event_type,
                       "resource": resource, **extra}).encode()


def test_sale_completed_normalizes_with_exact_amount() -> None:
    """A completed sale for a payplan subscription is a payment of the exact amount, dated in the given time zone."""
    body = event("PAYMENT.SALE.COMPLETED", {"id": "SALE-1", "amount": {"total": "500.00", "currency": "USD"},
                                              "custom": "payplan:pack-a:v1:i2", "billing_agreement_id": "I-1"})
    (e,) = parse_events(body, timezone="Asia/Tokyo")
    assert (e.kind, e.plan_id, e.amount, e.reference, e.id) == (
        EventKind.PAYMENT_SUCCEEDED, "pack-a", Money.of("500.00", "USD"), "SALE-1", "paypal:SALE-1:completed")
    assert e.occurred_on == dt.date(2027, 1, 2)
    assert e.installment is None


def test_payment_failed_counts_completed_cycles() -> None:
    """A failed payment after 1 TRIAL and 1 REGULAR cycle completed is installment 4 of a plan with a deposit."""
    body = event("BILLING.SUBSCRIPTION.PAYMENT.FAILED", {
        "id": "I-1", "custom_id": "payplan:pack-a:v1:i2",
        "billing_info": {"cycle_executions": [{"cycles_completed": 1}, {"cycles_completed": 1}],
                         "last_failed_payment": {"amount": {"currency_code": "USD", "value": "333.33"},
                                                 "reason_code": "PAYMENT_DENIED"}}})
    (e,) = parse_events(body)
    assert (e.kind, e.installment, e.amount, e.reason) == (
        EventKind.PAYMENT_FAILED, 4, Money.of("333.33", "USD"), "PAYMENT_DENIED")


@pytest.mark.parametrize(("event_type", "kind"), [("BILLING.SUBSCRIPTION.CANCELLED", EventKind.PLAN_CANCELED),
                                                  ("BILLING.SUBSCRIPTION.SUSPENDED", EventKind.PLAN_SUSPENDED)])
def test_subscription_state_events(event_type: str, kind: EventKind) -> None:
    """Cancelled and suspended subscriptions become plan events carrying the subscription id."""
    (e,) = parse_events(event(event_type, {"id": "I-9", "custom_id": "payplan:pack-a:v1:i2"}))
    assert (e.kind, e.plan_id, e.reference) == (kind, "pack-a", "I-9")


def test_refund_is_found_through_the_sale_and_made_positive() -> None:
    """A refund names only its sale; the resolver finds the plan, and PayPal's negative total becomes a positive amount."""
    body = event("PAYMENT.SALE.REFUNDED", {"id": "REF-1", "sale_id": "SALE-1",
                                             "amount": {"total": "-100.00", "currency": "USD"}})
    assert parse_events(body) == ()
    (e,) = parse_events(body, plan_for_subscription={"SALE-1": "pack-a"}.get)
    assert (e.kind, e.plan_id, e.amount, e.reference) == (EventKind.REFUNDED, "pack-a", Money.of("100.00", "USD"), "REF-1")


def test_other_events_and_other_subscriptions_give_nothing() -> None:
    """Unhandled event types and subscriptions that are not payplan's normalize to no events."""
    assert parse_events(event("BILLING.SUBSCRIPTION.CREATED", {"id": "I-1", "custom_id": "payplan:a:v1:i2"})) == ()
    assert parse_events(event("BILLING.SUBSCRIPTION.CANCELLED", {"id": "I-1", "custom_id": "other-app"})) == ()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id": "WH-1"}',
                                  b'{"id":"WH-1","event_type":"PAYMENT.SALE.COMPLETED","create_time":"x"}'])
def test_malformed_bodies_are_request_errors(body: bytes) -> None:
    """A body that is not a PayPal event raises ProviderRequestError."""
    with pytest.raises(ProviderRequestError):
        parse_events(body)


def test_verification_request_carries_the_headers_and_event() -> None:
    """The online route's body is built from the PAYPAL-* headers, the webhook id and the parsed event."""
    headers = {"paypal-auth-algo": "SHA256withRSA", "Paypal-Cert-Url": "https://api.paypal.com/c",
               "PAYPAL-TRANSMISSION-ID": "t1", "PAYPAL-TRANSMISSION-SIG": "c2ln", "PAYPAL-TRANSMISSION-TIME": "2027-01-01T00:00:00Z"}
    body = event("PAYMENT.SALE.COMPLETED", {})
    req = verification_request(headers, body, webhook_id="WH123")
    assert req["webhook_event"] == json.loads(body)
    assert (req["transmission_id"], req["webhook_id"], req["cert_url"]) == ("t1", "WH123", "https://api.paypal.com/c")


@pytest.mark.parametrize("url", ["https://api.paypal.com/v1/notifications/certs/CERT-1",
                                 "https://api.sandbox.paypal.com/c", "https://paypal.com/c"])
def test_paypal_cert_urls_are_accepted(url: str) -> None:
    """https URLs on paypal.com and its subdomains are accepted."""
    assert check_cert_url(url) == url


def test_adapter_module_is_documented_and_imports_no_sdk() -> None:
    """payplan.providers.paypal has a sorted, documented __all__ and imports neither PayPal SDK until used."""
    import subprocess
    import sys

    import payplan.providers.paypal as paypal

    assert paypal.__all__ == sorted(paypal.__all__)
    undocumented = [n for n in paypal.__all__ if callable(getattr(paypal, n)) and not (getattr(paypal, n).__doc__ or "").strip()]
    assert undocumented == []
    code = (
        "import sys, payplan.providers.paypal; "
        "print(','.join(m for m in ('paypalrestsdk', 'paypalserversdk', 'cryptography', 'requests') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
