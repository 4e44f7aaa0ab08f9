"""Plan -> Square Orders and Invoices request bodies, as plain dicts.

Pure functions: no SDK call, no I/O, no clock. Amounts are integer minor
units of the plan's currency (Square counts JPY in yen and KWD in fils, the
ISO 4217 exponent); due dates are the plan's local calendar dates, which
Square reads in the invoice's (the location's) time zone.

Square's rules for an invoice's payment requests (Invoices API):

* one ``BALANCE``; or one ``DEPOSIT`` and one ``BALANCE``; or 2 to 12
  ``INSTALLMENT``; or one ``DEPOSIT`` and 2 to 12 ``INSTALLMENT``;
* a deposit is due before every other request;
* ``INSTALLMENT`` requests need the seller's Invoices Plus subscription;
* every request but ``BALANCE`` carries a fixed amount, and all of them add
  up to the order total.

Each plan installment becomes exactly one payment request, in order, so the
n-th payment request of the invoice is installment n of the plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..._money import Money
from ..._plan import PaymentPlan
from ..._schedule import InstallmentKind
from ...exceptions import UnsupportedByProviderError

__all__ = [
    "GOODWILL_MARKER",
    "MAX_INSTALLMENTS",
    "PLAN_MARKER",
    "PROVIDER",
    "VERSION_MARKER",
    "invoice_body",
    "money",
    "order_body",
    "order_reference",
    "plan_id_from_description",
    "plan_version_from_description",
    "read_refund_reason",
    "refund_reason",
    "request_types",
    "update_body",
]

PROVIDER = "square"

#: Square takes at most 12 INSTALLMENT requests (13 with the deposit).
MAX_INSTALLMENTS = 12

#: Orders API limit on ``reference_id``.
_REFERENCE_MAX = 40

#: The line of an invoice description that names the payplan plan.
PLAN_MARKER = "payplan plan: "
#: The line of an invoice description that gives the plan version it shows.
VERSION_MARKER = "payplan version: "

#: How a goodwill refund (one that lowers the price) is marked in the refund's ``reason``, the one
#: free-text field Square keeps on a refund and sends back in its ``refund.*`` notifications.
GOODWILL_MARKER = "[payplan:goodwill]"
#: Square takes a refund reason of at most 192 characters.
REASON_MAX = 192

DEPOSIT = "DEPOSIT"
INSTALLMENT = "INSTALLMENT"
BALANCE = "BALANCE"


def _refuse(message: str) -> UnsupportedByProviderError:
    return UnsupportedByProviderError(message, provider=PROVIDER)


def money(amount: Money) -> dict[str, Any]:
    """A payplan amount as a Square ``Money`` object (integer minor units)."""
    return {"amount": amount.minor, "currency": amount.currency.code}


def order_reference(plan_id: str) -> str:
    """The order's ``reference_id``: the plan id, or a digest of it when longer than 40."""
    if len(plan_id) <= _REFERENCE_MAX:
        return plan_id
    return "payplan:" + hashlib.sha256(plan_id.encode()).hexdigest()[: _REFERENCE_MAX - 8]


def request_types(plan: PaymentPlan, *, invoices_plus: bool = True) -> tuple[str, ...]:
    """The Square ``request_type`` of each installment of *plan*, in order.

    A plan of one payment is one ``BALANCE``. Two payments are ``DEPOSIT``
    and ``BALANCE`` (no Invoices Plus needed; the amounts and dates stay
    exact, the first is labelled a deposit on Square even when the plan
    calls it an installment). A deposit and 2 to 12 installments, or 3 to
    12 payments without a deposit, need ``INSTALLMENT`` requests.

    Raises:
        UnsupportedByProviderError: the plan cannot be expressed on Square
            (too many installments, a deposit not due before the rest, or
            installments for a seller without Invoices Plus); the message
            says why.
    """
    lines = plan.installments
    has_deposit = lines[0].kind is InstallmentKind.DEPOSIT
    rest = len(lines) - 1 if has_deposit else len(lines)
    if rest > MAX_INSTALLMENTS:
        raise _refuse(
            f"square takes at most {MAX_INSTALLMENTS} installments "
            f"{'after the deposit' if has_deposit else 'per invoice'}, plan {plan.id} has {rest}"
        )
    if len(lines) >= 2 and has_deposit and not lines[0].due < lines[1].due:
        raise _refuse(
            f"square needs the deposit due before every other payment, plan {plan.id} has the deposit "
            f"due {lines[0].due.isoformat()} and installment 2 due {lines[1].due.isoformat()}"
        )
    if len(lines) == 1:
        return (BALANCE,)
    if len(lines) == 2 and (has_deposit or not invoices_plus):
        if not has_deposit and not lines[0].due < lines[1].due:
            raise _refuse(
                f"square without Invoices Plus takes a deposit due before the balance, plan {plan.id} "
                f"has both payments due {lines[0].due.isoformat()}"
            )
        return (DEPOSIT, BALANCE)
    if not invoices_plus:
        raise _refuse(
            f"square installments need the seller's Invoices Plus subscription; without it an invoice "
            f"takes one deposit and one balance, plan {plan.id} has "
            + (f"a deposit and {rest} installments" if has_deposit else f"{rest} installments")
        )
    if has_deposit:
        return (DEPOSIT,) + (INSTALLMENT,) * rest
    return (INSTALLMENT,) * rest


def refund_reason(reason: str | None, *, lowers_price: bool) -> str | None:
    """The ``reason`` of a RefundPayment request: *reason*, marked with :data:`GOODWILL_MARKER` when it lowers the price."""
    text = (reason or "").strip()
    if lowers_price:
        text = f"{GOODWILL_MARKER} {text}".strip()
    return text[:REASON_MAX] or None


def read_refund_reason(reason: str | None) -> tuple[str | None, bool]:
    """(the reason without payplan's mark, whether it marks a goodwill refund) from a refund's ``reason``."""
    if reason is not None and reason.startswith(GOODWILL_MARKER):
        return reason[len(GOODWILL_MARKER):].strip() or None, True
    return reason, False


def order_body(
    plan: PaymentPlan,
    *,
    location_id: str,
    customer_id: str | None = None,
    item_name: str | None = None,
) -> dict[str, Any]:
    """The ``order`` of a CreateOrder request: one line for the fee, one for any finance charge.

    The order's ``reference_id`` is :func:`order_reference` of the plan id,
    and its ``metadata`` holds the full plan id and version.
    """
    name = item_name or plan.tier or "Session"
    items: list[dict[str, Any]] = [
        {"name": name[:512], "quantity": "1", "base_price_money": money(plan.fee)}
    ]
    charge = plan.finance_charge
    if charge is not None and charge.minor:
        items.append({"name": "Finance charge", "quantity": "1", "base_price_money": money(charge)})
    order: dict[str, Any] = {
        "location_id": location_id,
        "reference_id": order_reference(plan.id),
        "line_items": items,
        "metadata": {"payplan_plan_id": plan.id, "payplan_plan_version": str(plan.version)},
    }
    if customer_id is not None:
        order["customer_id"] = customer_id
    return order


def _payment_requests(
    plan: PaymentPlan, *, invoices_plus: bool, card_id: str | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line, kind in zip(plan.installments, request_types(plan, invoices_plus=invoices_plus), strict=True):
        request: dict[str, Any] = {"request_type": kind, "due_date": line.due.isoformat()}
        if kind != BALANCE:
            request["fixed_amount_requested_money"] = money(line.amount)
        if card_id is not None:
            request["automatic_payment_source"] = "CARD_ON_FILE"
            request["card_id"] = card_id
        else:
            request["automatic_payment_source"] = "NONE"
        out.append(request)
    return out


def _description(plan: PaymentPlan, name: str) -> str:
    return (
        f"{name}: payment plan for the session on {plan.session.isoformat()}, "
        f"{len(plan.installments)} payment(s), {plan.total} in all.\n"
        f"{PLAN_MARKER}{plan.id}\n{VERSION_MARKER}{plan.version}"
    )


def _marked(description: str | None, marker: str) -> str | None:
    for line in (description or "").splitlines():
        if line.startswith(marker):
            found = line[len(marker) :].strip()
            return found or None
    return None


def plan_id_from_description(description: str | None) -> str | None:
    """The payplan plan id written into an invoice description, or None."""
    return _marked(description, PLAN_MARKER)


def plan_version_from_description(description: str | None) -> int | None:
    """The payplan plan version written into an invoice description, or None."""
    found = _marked(description, VERSION_MARKER)
    return int(found) if found is not None and found.isdigit() else None


def invoice_body(
    plan: PaymentPlan,
    *,
    location_id: str,
    order_id: str,
    customer_id: str,
    card_id: str | None = None,
    invoices_plus: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """The ``invoice`` of a CreateInvoice request for *plan* on the order *order_id*.

    One payment request per installment (see :func:`request_types`), each
    due on the installment's date, with ``CARD_ON_FILE`` autopay when
    *card_id* is given. The description ends with a ``payplan plan: <id>``
    line, which is how webhooks find the plan again.

    Raises:
        UnsupportedByProviderError: the plan cannot be expressed on Square.
    """
    name = title or plan.tier or "Session"
    return {
        "location_id": location_id,
        "order_id": order_id,
        "primary_recipient": {"customer_id": customer_id},
        "payment_requests": _payment_requests(plan, invoices_plus=invoices_plus, card_id=card_id),
        "delivery_method": "EMAIL",
        "accepted_payment_methods": {"card": True},
        "sale_or_service_date": plan.session.isoformat(),
        "title": name[:255],
        "description": _description(plan, name),
    }


def _minor(value: Any) -> int:
    if isinstance(value, Mapping):
        amount = value.get("amount")
        return int(amount) if isinstance(amount, int) else 0
    return 0


def update_body(
    plan: PaymentPlan,
    current: Mapping[str, Any],
    *,
    card_id: str | None = None,
    invoices_plus: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """The ``invoice`` and ``fields_to_clear`` of an UpdateInvoice request.

    *current* is the invoice as Square has it now (a dict, from GetInvoice).
    Payment requests are matched by position (request n is installment n):
    each kept request is sent with its ``uid`` and its new type, date and
    amount; extra new ones are added; surplus old ones are cleared. The
    update carries the invoice's current ``version``, so Square rejects it
    if the invoice changed in between.

    Raises:
        UnsupportedByProviderError: the new plan changes the invoice total
            (Square cannot change the order of a published invoice), or
            changes a payment request Square has already collected money on.
    """
    requests = _payment_requests(plan, invoices_plus=invoices_plus, card_id=card_id)
    old: Sequence[Mapping[str, Any]] = list(current.get("payment_requests") or [])
    old_total = sum(_minor(r.get("computed_amount_money")) for r in old)
    if old and old_total != plan.total.minor:
        raise _refuse(
            f"square cannot change the total of a published invoice: invoice "
            f"{current.get('id')} is for {old_total} minor units, plan {plan.id} version "
            f"{plan.version} totals {plan.total.minor}; cancel it and publish the new version"
        )
    for position, request in enumerate(old, 1):
        paid = _minor(request.get("total_completed_amount_money"))
        if not paid:
            continue
        new = requests[position - 1] if position <= len(requests) else None
        same = (
            new is not None
            and new["due_date"] == request.get("due_date")
            and _minor(request.get("computed_amount_money")) == plan.installments[position - 1].amount.minor
        )
        if not same:
            raise _refuse(
                f"square has already collected {paid} minor units on payment request {position} of "
                f"invoice {current.get('id')}; plan {plan.id} version {plan.version} changes it"
            )
    body: list[dict[str, Any]] = []
    for position, request in enumerate(requests, 1):
        if position <= len(old) and old[position - 1].get("uid"):
            body.append({"uid": old[position - 1]["uid"], **request})
        else:
            body.append(request)
    clear = [f"payment_requests[{r['uid']}]" for r in old[len(requests) :] if r.get("uid")]
    name = current.get("title") or plan.tier or "Session"
    invoice = {
        "version": current.get("version"),
        "payment_requests": body,
        "sale_or_service_date": plan.session.isoformat(),
        "description": _description(plan, str(name)),
    }
    return invoice, clear
