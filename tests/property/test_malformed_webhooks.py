"""Signed is not well-formed: for every adapter, a malformed payload is a payplan error or valid events, nothing else.

Each example starts from a real-shaped delivery the adapter accepts, replaces
one value anywhere in it (an object, a list, a string, a float, a huge or
negative number, null, non-ASCII text, a time past year 9999) and hands it to
the adapter's normalizer. The only acceptable outcomes are a tuple of
:class:`~payplan.providers.ProviderEvent` whose amounts are above zero, or a
:class:`~payplan.PayplanError`; a raw ``AttributeError``, ``TypeError``,
``KeyError`` or ``OverflowError`` fails the property.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import PayplanError
from payplan.providers import ProviderEvent

Json = Any

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "Ω", "10000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:00", "-1", "1e400", "USD", "usd"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node: Json, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Json, path: tuple[Any, ...], value: Any) -> Json:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def check(parse: Callable[[Json], tuple[ProviderEvent, ...]], doc: Json) -> None:
    """A payplan error, or events whose amounts are above zero; nothing else."""
    try:
        events = parse(doc)
    except PayplanError:
        return
    assert isinstance(events, tuple)
    for event in events:
        assert isinstance(event, ProviderEvent)
        if event.amount is not None:
            assert event.amount.minor > 0, event


def mutated(base: Json) -> st.SearchStrategy[Json]:
    paths = _paths(base)
    return st.tuples(st.sampled_from(paths), ODD_VALUES).map(lambda pv: _replace(base, pv[0], pv[1]))


# -- Stripe ------------------------------------------------------------------------

stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

from payplan.providers.stripe._webhooks import normalize as stripe_normalize  # noqa: E402
from payplan.testing import stripe as fake_stripe  # noqa: E402

_META = {"payplan_plan_id": "p1", "payplan_plan_version": "1", "payplan_installment": "2"}
STRIPE_BASES = [
    fake_stripe.event_object("evt_1", "invoice.paid", fake_stripe.invoice_object(
        "in_1", amount=50000, currency="usd", metadata=_META, status="paid"), created=1_800_000_000),
    fake_stripe.event_object("evt_2", "refund.failed", fake_stripe.refund_object(
        "re_1", amount=100, currency="usd", charge="ch_1", payment_intent="pi_1", status="failed", metadata=_META),
        created=1_800_000_000),
    fake_stripe.event_object("evt_3", "charge.refunded", {**fake_stripe.charge_object(
        "ch_1", amount=500, currency="usd", amount_refunded=100), "refunds": {"object": "list", "data": [
            fake_stripe.refund_object("re_2", amount=100, currency="usd", charge="ch_1", metadata=_META)]}},
        created=1_800_000_000),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STRIPE_BASES).flatmap(mutated))
def test_stripe_malformed_events(doc: Json) -> None:
    """Stripe: a payplan error or valid events, for any one value replaced anywhere."""
    check(lambda d: stripe_normalize(d, plan_of_payment=lambda i, c: ("p1", 2)), doc)


# -- Square ------------------------------------------------------------------------

square = pytest.importorskip("square", reason="the square extra is not installed")

from payplan.providers.square._webhooks import normalize as square_normalize  # noqa: E402
from payplan.testing import square as fake_square  # noqa: E402


def _square_bases() -> list[Json]:
    fake = fake_square.FakeSquare(timezone="UTC")
    invoice = {
        "id": "inv:1", "order_id": "order_1", "version": 3, "status": "PARTIALLY_PAID", "timezone": "UTC",
        "description": "Pack A\npayplan plan: p1\npayplan version: 1",
        "payment_requests": [
            {"uid": "u1", "request_type": "DEPOSIT", "due_date": "2026-12-01",
             "computed_amount_money": {"amount": 50000, "currency": "USD"},
             "total_completed_amount_money": {"amount": 50000, "currency": "USD"}},
            {"uid": "u2", "request_type": "INSTALLMENT", "due_date": "2027-01-01",
             "computed_amount_money": {"amount": 50000, "currency": "USD"},
             "total_completed_amount_money": {"amount": 0, "currency": "USD"}},
        ],
    }
    fake.invoices["inv:1"] = invoice
    paid = fake.event("invoice.payment_made", "inv:1")
    failed = fake.event("invoice.scheduled_charge_failed", "inv:1")
    refund = {"id": "r1", "status": "COMPLETED", "amount_money": {"amount": 100, "currency": "USD"},
              "payment_id": "pay_1", "order_id": "order_1", "created_at": "2027-01-01T00:00:00Z"}
    fake.refunds["r1"] = refund
    return [paid, failed, fake.refund_event("r1")]


SQUARE_BASES = _square_bases()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SQUARE_BASES).flatmap(mutated))
def test_square_malformed_notifications(doc: Json) -> None:
    """Square: a payplan error or valid events, for any one value replaced anywhere."""
    tenders = [(dt.datetime(2026, 12, 1, tzinfo=dt.UTC), 50000, "pay_1")]
    check(lambda d: square_normalize(d, resolve_order=lambda _o: "p1", order_tenders=lambda _o: tenders), doc)


# -- PayPal ------------------------------------------------------------------------

pytest.importorskip("cryptography", reason="the paypal extra is not installed")

from payplan.providers.paypal import parse_events  # noqa: E402
from payplan.testing import paypal as fake_paypal  # noqa: E402

PAYPAL_BASES = [
    fake_paypal.webhook_event("WH-1", "PAYMENT.SALE.COMPLETED", fake_paypal.sale_resource(
        "SALE-1", "500.00", "USD", billing_agreement_id="I-1", custom="payplan:p1:v1:i2")),
    fake_paypal.webhook_event("WH-2", "PAYMENT.SALE.REFUNDED", fake_paypal.sale_refund_resource(
        "REF-1", "SALE-1", "100.00", "USD")),
    {"id": "WH-3", "create_time": "2027-01-01T10:00:00Z", "event_type": "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
     "resource": {"id": "I-1", "custom_id": "payplan:p1:v1:i2", "billing_info": {
         "cycle_executions": [{"tenure_type": "REGULAR", "cycles_completed": 1}],
         "last_failed_payment": {"amount": {"currency_code": "USD", "value": "500.00"}, "reason_code": "X"}}}},
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PAYPAL_BASES).flatmap(mutated))
def test_paypal_malformed_events(doc: Json) -> None:
    """PayPal: a payplan error or valid events, for any one value replaced anywhere."""
    check(lambda d: parse_events(json.dumps(d).encode(), plan_for_subscription=lambda _s: "p1"), doc)


@pytest.mark.parametrize("value", ["0", "0.00", "-0.00", "-5.00"])
def test_paypal_failed_payment_of_nothing_is_refused(value: str) -> None:
    """A PAYMENT.FAILED whose failed amount is zero or less is malformed, not a failure of 0.00 USD.

    PayPal documents ``last_failed_payment.amount`` as "the failed payment
    amount" (failed_payment_details in the Subscriptions API): the amount of a
    payment that was attempted. This example once made the property above
    flaky (about 1 run in 9).
    """
    doc = copy.deepcopy(PAYPAL_BASES[2])
    doc["resource"]["billing_info"]["last_failed_payment"]["amount"]["value"] = value
    with pytest.raises(PayplanError, match=r"last_failed_payment\.amount.*an amount above zero"):
        parse_events(json.dumps(doc).encode(), plan_for_subscription=lambda _s: "p1")
    (event,) = parse_events(json.dumps(PAYPAL_BASES[2]).encode(), plan_for_subscription=lambda _s: "p1")
    assert event.amount is not None
    assert event.amount.minor == 500_00


# -- sandbox -----------------------------------------------------------------------

from payplan.testing import SandboxProvider  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sandbox_malformed_deliveries(data: st.DataObject) -> None:
    """Sandbox: any one value replaced, or a strange signature header, gives a payplan error or valid events."""
    from payplan import Money
    from payplan.providers import EventKind

    sandbox = SandboxProvider(today=dt.date(2026, 11, 22))
    event = ProviderEvent("sandbox:e1", "sandbox", EventKind.PAYMENT_SUCCEEDED, "p1", dt.date(2026, 11, 22),
                          2, Money.of("500.00", "USD"), "ch_1", None, 5)
    _headers, body = sandbox.delivery(event)
    doc = data.draw(mutated(json.loads(body)))
    raw = json.dumps(doc).encode()
    signed = sandbox.sign(raw)
    if data.draw(st.booleans()):
        signed = {k: data.draw(st.text(max_size=80)) for k in signed}
    check(lambda _d: sandbox.parse_webhook(signed, raw), doc)


# -- the examples, each a regression test -----------------------------------


def test_square_description_as_a_list_names_the_field() -> None:
    """A signed Square notification whose invoice description is a list is refused, naming the field."""
    doc = _replace(SQUARE_BASES[0], ("data", "object", "invoice", "description"), ["payplan plan: p1"])
    with pytest.raises(PayplanError, match=r"data\.object\.invoice\.description"):
        square_normalize(doc, resolve_order=lambda _o: "p1")


def test_square_data_as_a_string_names_the_field() -> None:
    """A signed Square notification whose data is a string is refused, naming the field."""
    with pytest.raises(PayplanError, match=r"expected data as an object"):
        square_normalize(_replace(SQUARE_BASES[0], ("data",), "inv:1"), resolve_order=lambda _o: "p1")


def test_paypal_billing_info_as_a_string_names_the_field() -> None:
    """A PayPal payment-failed event whose billing_info is a string is refused, naming the field."""
    doc = _replace(PAYPAL_BASES[2], ("resource", "billing_info"), "failed")
    with pytest.raises(PayplanError, match=r"resource\.billing_info"):
        parse_events(json.dumps(doc).encode())


@pytest.mark.parametrize("stamp", ["10000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:00"])
def test_paypal_create_time_past_year_9999_names_the_field(stamp: str) -> None:
    """A create_time past year 9999 (outright, or once moved to UTC) is refused, naming the field."""
    doc = _replace(PAYPAL_BASES[0], ("create_time",), stamp)
    with pytest.raises(PayplanError, match=r"create_time"):
        parse_events(json.dumps(doc).encode())


def test_sandbox_non_ascii_signature_is_an_auth_error() -> None:
    """A non-ASCII Sandbox-Signature is a ProviderAuthError, not a TypeError from compare_digest."""
    from payplan import ProviderAuthError

    sandbox = SandboxProvider(today=dt.date(2026, 11, 22))
    headers = {k: f"t={sandbox._clock()},v1=Ωabc" for k in sandbox.sign(b"{}")}
    with pytest.raises(ProviderAuthError):
        sandbox.parse_webhook(headers, b"{}")


@pytest.mark.parametrize(("amount", "why"), [("-5.00", "above zero"), ("0.00", "above zero"), ("5.00 EUR", "in USD")])
def test_events_that_can_never_be_recorded_are_refused_with_a_reason(amount: str, why: str) -> None:
    """Negative, zero and other-currency amounts are refused with a reason, not deferred forever."""
    from payplan import DepositRule, Ledger, Money, PaymentPlan
    from payplan.providers import EventKind, apply_events

    plan = PaymentPlan.with_deposit(
        "p1", Money.of("2000.00", "USD"), deposit=DepositRule.fixed(Money.of("500.00", "USD")), installments=3,
        dates="monthly", booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
    )
    value, _, currency = amount.partition(" ")
    bad = ProviderEvent("x:bad", "x", EventKind.PAYMENT_SUCCEEDED, "p1", dt.date(2026, 12, 1),
                        amount=Money.of(value, currency or "USD"))
    good = ProviderEvent("x:good", "x", EventKind.PAYMENT_SUCCEEDED, "p1", dt.date(2026, 12, 1),
                         amount=Money.of("500.00", "USD"))
    applied = apply_events(Ledger.empty(plan), [bad, good])
    assert applied.deferred == ()
    assert [e for e, _ in applied.refused] == [bad]
    assert why in applied.refused[0][1]
    assert applied.ledger.paid == Money.of("500.00", "USD")
