"""The booking form: read what the client typed, refuse bad input field by field.

Every refusal is a message for one field (``errors["session"] = "..."``), shown
next to it; nothing here raises to the page. The client's plan choice becomes
a payplan proposal, checked against the tier's bounds by
:func:`payplan.propose`, whose :class:`payplan.OutOfBoundsError` names the
bound broken and the nearest value that keeps it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN

import attrs

from payplan import (
    Bound,
    Cadence,
    IncentiveKind,
    InvalidPlanError,
    Money,
    OutOfBoundsError,
    PaymentPlan,
    ProposedCadence,
    ProposedParts,
    Tier,
    percent_of,
    propose,
)

#: How many rows the "my own amounts and dates" table offers (the deposit row included).
OWN_ROWS = 7
CHOICES = ("installments", "full", "own")
CARDS = {
    "pm_card_visa": "Visa ending 4242 (always pays)",
    "pm_demo_decline_after_deposit": "Visa ending 0341 (pays the deposit, then declines)",
    "pm_card_chargeDeclined": "Visa ending 0002 (pays the deposit, then always declines)",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
_NEAREST = re.compile(r"; nearest: [^;()]+$")


#: The fields a schedule does not depend on: the preview shows the schedule before they are filled in.
CONTACT_FIELDS = ("name", "email", "card")
#: How the preview names a field that keeps the schedule from showing.
LABELS = {"session": "the session date", "choice": "how you pay", "count": "the installments",
          "cadence": "how often", "deposit": "the deposit"}


@dataclass
class BookingForm:
    """A booking form, read: the values as typed, the errors by field, and the plan when the amounts allow.

    :attr:`plan` is filled as soon as the session date and the way to pay
    are good, before the name and e-mail are (the live preview shows it);
    the booking can go on to the agreement only when :attr:`ok`.
    """

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    plan: PaymentPlan | None = None
    discount: Money | None = None
    #: The bound (``payplan.Bound`` value) behind each field's error, where a bound was broken.
    bounds: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every field is good and the plan is made."""
        return self.plan is not None and not self.errors

    @property
    def waiting_for(self) -> list[str]:
        """The fields (in words) that keep the schedule from showing."""
        names = [k for k in self.errors if k not in CONTACT_FIELDS]
        words = [LABELS.get(k, "the amounts and dates" if k.startswith(("amount_", "date_")) else k) for k in names]
        return list(dict.fromkeys(words)) or ["the session date and how you pay"]


def pay_in_full_discount(tier: Tier, fee: Money) -> Money:
    """The tier's pay-in-full discount on *fee* (zero when it offers none)."""
    for incentive in tier.terms.incentives:
        if incentive.kind is IncentiveKind.PAY_IN_FULL:
            if incentive.amount is not None:
                return incentive.amount
            if incentive.percent is not None:
                return percent_of(fee, incentive.percent, rounding=ROUND_HALF_EVEN)
    return Money.zero(fee.currency)


def _amount(text: str, currency: str) -> Money | None:
    text = text.strip().replace(",", "").lstrip("$")
    if not _AMOUNT.match(text):
        return None
    return Money.of(text, currency)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def read_booking(
    form: Mapping[str, str], tier: Tier, *, plan_id: str, today: dt.date, timezone: str, hints: bool = True,
) -> BookingForm:
    """Read the booking form for *tier*; fill :attr:`BookingForm.plan` when the amounts and dates are good.

    A refusal from :func:`payplan.propose` names the bound broken; with
    *hints*, it also proposes the nearest value that works, but only a value
    this same form then accepts (it is tried before it is shown).
    """
    values = {k: str(v) for k, v in form.items()}
    booking = BookingForm(values)
    errors = booking.errors
    fee = tier.fee
    assert fee is not None, "the site's tiers all have a fee"
    currency = fee.currency.code

    name = values.get("name", "").strip()
    if not name:
        errors["name"] = "Please enter your name."
    elif len(name) > 100:
        errors["name"] = f"Please keep your name to 100 characters (this one has {len(name)})."
    email = values.get("email", "").strip()
    if not _EMAIL.match(email):
        errors["email"] = "Please enter an e-mail address such as ana@example.com."
    session = _date(values.get("session", ""))
    if session is None:
        errors["session"] = "Please pick the session date (YYYY-MM-DD)."
    elif session <= today:
        errors["session"] = f"The session must be after today ({today.isoformat()})."
    if values.get("card", "pm_card_visa") not in CARDS:
        errors["card"] = "Please pick one of the listed cards."
    choice = values.get("choice", "installments")
    if choice not in CHOICES:
        errors["choice"] = "Please pick one of the three ways to pay."
        return booking
    proposal: ProposedParts | ProposedCadence | None = None
    if choice == "full":
        discount = pay_in_full_discount(tier, fee)
        booking.discount = discount
        fee = fee - discount
        proposal = ProposedParts([(today, fee)])
    elif choice == "installments":
        count_text = values.get("count", "").strip()
        count = int(count_text) if count_text.isdigit() else None
        if count is None:
            errors["count"] = "Please pick how many installments."
        cadence_text = values.get("cadence", "monthly")
        try:
            cadence = Cadence.parse(cadence_text)
        except InvalidPlanError:
            errors["cadence"] = "Please pick one of the listed cadences."
            cadence = Cadence.MONTHLY
        deposit: Money | None = None
        if values.get("deposit", "").strip():
            deposit = _amount(values["deposit"], currency)
            if deposit is None:
                errors["deposit"] = "Please enter an amount such as 600.00, or leave it empty for the least deposit."
        if count is not None and "deposit" not in errors and "cadence" not in errors:
            try:
                proposal = ProposedCadence(count, cadence, deposit=deposit)
            except InvalidPlanError as exc:
                errors["count"] = str(exc)
    else:
        parts: list[tuple[dt.date, Money]] = []
        for n in range(1, OWN_ROWS + 1):
            amount_text = values.get(f"amount_{n}", "").strip()
            date_text = values.get(f"date_{n}", "").strip() if n > 1 else today.isoformat()
            if not amount_text and (n > 1 and not date_text):
                continue
            amount = _amount(amount_text, currency)
            due = _date(date_text)
            if amount is None or amount.minor <= 0:
                errors[f"amount_{n}"] = "Please enter an amount above zero such as 500.00."
            if due is None:
                errors[f"date_{n}"] = "Please pick a date."
            if amount is not None and amount.minor > 0 and due is not None:
                parts.append((due, amount))
        if not parts and not any(k.startswith(("amount_", "date_")) for k in errors):
            errors["amount_1"] = "Please enter at least the deposit."
        if parts and not any(k.startswith(("amount_", "date_")) for k in errors):
            proposal = ProposedParts(parts)
    if any(k not in CONTACT_FIELDS for k in errors) or proposal is None or session is None:
        return booking
    try:
        plan = propose(
            tier, plan_id, proposal, booked=today, session=session, fee=fee, timezone=timezone,
            client=None if "email" in errors else email,
        )
        # The site offers the pay-in-full discount as its own choice, taken off the fee up front:
        # the plans keep the tier's other terms, not the incentive a second time.
        kept = [i for i in plan.terms.incentives if i.kind is not IncentiveKind.PAY_IN_FULL]
        booking.plan = attrs.evolve(plan, terms=attrs.evolve(plan.terms, incentives=kept))
    except OutOfBoundsError as exc:
        name = _field_of(exc, choice)
        if name == "count" and exc.bound == Bound.PAYMENT.value and values.get("deposit", "").strip():
            name = "deposit"  # a larger deposit leaves installments below the least payment
        booking.bounds[name] = exc.bound
        hint = _hint(exc, name, tier) if hints else None
        if hint is not None:
            tried = read_booking({**values, name: hint}, tier, plan_id=plan_id, today=today, timezone=timezone,
                                 hints=False)
            if tried.bounds:  # the form would refuse the value hinted: say only what the bound is
                hint = None
        # The library's own "nearest: N" is replaced by the hint checked here (or by none).
        words = _NEAREST.sub("", str(exc))
        errors[name] = f"{words}; the nearest that works: {hint}." if hint is not None else f"{words}."
    except InvalidPlanError as exc:
        errors["choice"] = str(exc)
    return booking


def _field_of(exc: OutOfBoundsError, choice: str) -> str:
    """The form field a refused bound belongs next to."""
    bound = Bound(exc.bound)
    if bound is Bound.CUTOFF:
        return "session" if choice != "own" else f"date_{exc.part}"
    if choice == "installments":
        return {Bound.COUNT: "count", Bound.DEPOSIT: "deposit", Bound.TOTAL: "deposit", Bound.GAP: "cadence"}.get(bound, "count")
    if choice == "own":
        if bound in (Bound.GAP, Bound.ORDER):
            return f"date_{exc.part}"
        if bound is Bound.DEPOSIT and isinstance(exc.got, dt.date):
            return "date_1"
        if exc.part is not None:
            return f"amount_{exc.part}"
        return "amount_1" if bound is Bound.TOTAL else "choice"
    return "choice"


def _hint(exc: OutOfBoundsError, name: str, tier: Tier) -> str | None:
    """The nearest value that keeps the bound, as the client would type it into field *name*.

    A refused cutoff names the last payment's latest date; on the session
    field the value to propose is the earliest session that date allows.
    """
    nearest = exc.nearest
    if name == "session":
        if not isinstance(exc.got, dt.date):
            return None
        return (exc.got + dt.timedelta(days=tier.terms.final_due_days_before)).isoformat()
    if name == "count" and isinstance(nearest, int):
        return str(nearest)
    if name.startswith(("amount_", "deposit")) and isinstance(nearest, Money):
        return nearest.to_decimal_string()
    if name.startswith("date_") and isinstance(nearest, dt.date):
        return nearest.isoformat()
    return None
