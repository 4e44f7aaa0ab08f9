"""Provider mapping: the Stripe, Square and PayPal request bodies for 10,000 plans, no network.

Each adapter's pure mapping module turns a plan into the bodies it would
send; nothing here opens a socket or builds an SDK client. Per plan:

* Stripe: ``product_params`` and ``schedule_params`` when the plan fits a
  subscription schedule, else ``invoice_params`` and ``invoice_item_params``
  for every installment (what ``StripeMode.AUTO`` publishes).
* Square: ``order_body`` and ``invoice_body`` (DEPOSIT + INSTALLMENT requests).
* PayPal: ``map_plan`` (product, billing plan and subscription bodies), thawed
  to plain dicts as they are sent.

Plans a provider refuses (say, a cadence PayPal cannot bill) are counted and
left out of its timing. The comparison is ``dump_plan`` of the same plans:
turning a plan into a plain dict with no provider rules.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

from payplan import PaymentPlan, dump_plan
from payplan.exceptions import PayplanError

from ._data import portfolio
from ._harness import Row, Settings, measure

AREA = "providers"
NOW = calendar.timegm(dt.date(2026, 1, 1).timetuple())


def _stripe() -> Callable[[PaymentPlan], Any]:
    m = importlib.import_module("payplan.providers.stripe._mapping")

    def bodies(plan: PaymentPlan) -> Any:
        if m.schedule_refusal(plan) is None:
            return (
                m.product_params(plan),
                m.schedule_params(plan, customer="cus_1", payment_method="pm_1", product="prod_1", now=NOW),
            )
        return [
            (
                m.invoice_params(plan, inst, customer="cus_1", payment_method="pm_1", now=NOW),
                m.invoice_item_params(plan, inst, customer="cus_1", invoice="in_1"),
            )
            for inst in plan.installments
        ]

    return bodies


def _square() -> Callable[[PaymentPlan], Any]:
    m = importlib.import_module("payplan.providers.square._mapping")

    def bodies(plan: PaymentPlan) -> Any:
        return (
            m.order_body(plan, location_id="L1", customer_id="C1"),
            m.invoice_body(plan, location_id="L1", order_id="O1", customer_id="C1", card_id="ccof:1"),
        )

    return bodies


def _paypal() -> Callable[[PaymentPlan], Any]:
    m = importlib.import_module("payplan.providers.paypal._mapping")
    options = m.PayPalOptions(return_url="https://example.com/ok", cancel_url="https://example.com/cancel")

    def bodies(plan: PaymentPlan) -> Any:
        r = m.map_plan(plan, options)
        return (r.product_body(), r.billing_plan("P-1"), r.subscription("I-1"))

    return bodies


PROVIDERS = {"Stripe": _stripe, "Square": _square, "PayPal": _paypal}


def run(settings: Settings) -> list[Row]:
    """One row per provider whose mapping module exists."""
    plans = portfolio(settings.size(10_000, 1_000))
    rows = []
    for name, make in PROVIDERS.items():
        try:
            bodies = make()
        except ImportError as exc:
            rows.append(Row(AREA, name, None, "", note=f"no mapping module yet ({exc.name})"))
            continue
        accepted = []
        for p in plans:
            try:
                bodies(p)
            except PayplanError:
                continue
            accepted.append(p)
        if not accepted:
            rows.append(Row(AREA, name, None, "", note="refused every plan"))
            continue
        k = len(accepted)
        t = measure(
            {"map": lambda a=accepted, f=bodies: [f(p) for p in a], "dump": lambda a=accepted: [dump_plan(p) for p in a]},
            per=k, repeats=settings.size(7, 3),
        )
        refused = len(plans) - k
        rows.append(
            Row(AREA, f"{name} request bodies, {k:,} plans" + (f" ({refused:,} refused)" if refused else ""),
                t["map"], "ns/plan", "dump_plan (plain dict)", t["dump"],
                f"{t['map'] / t['dump']:.2f}x dump_plan", "report")
        )
    return rows
