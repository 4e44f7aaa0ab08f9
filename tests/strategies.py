"""Hypothesis strategies shared by the test suite: currencies, money, terms, plans, ledgers."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

from hypothesis import assume
from hypothesis import strategies as st

from payplan import (
    BeforeSession,
    Cadence,
    CreditApplied,
    DepositRule,
    FeeWaived,
    LateFeeAssessed,
    Ledger,
    LedgerEntry,
    LedgerError,
    Money,
    PaymentPlan,
    PaymentReceived,
    Refund,
    Remainder,
    ScheduleDoesNotFitError,
    Terms,
    WriteOff,
    to_currency,
)
from payplan.exceptions import InvalidPlanError

#: Currencies with 0, 2 and 3 decimals.
CURRENCIES = ("JPY", "KRW", "ISK", "USD", "EUR", "GBP", "KWD", "BHD", "TND")

currencies = st.sampled_from(CURRENCIES).map(to_currency)
cadences = st.sampled_from(list(Cadence))
remainders = st.sampled_from(list(Remainder))

# Start dates lean on the 28th to 31st and on leap days, where month arithmetic breaks.
_tricky_days = st.one_of(
    st.sampled_from([dt.date(2024, 2, 29), dt.date(2028, 2, 29), dt.date(2025, 1, 31), dt.date(2026, 8, 31)]),
    st.builds(lambda y, m, d: _clamp(y, m, d), st.integers(2024, 2032), st.integers(1, 12), st.integers(28, 31)),
)
dates = st.one_of(_tricky_days, st.dates(dt.date(2024, 1, 1), dt.date(2032, 12, 31)))


def _clamp(year: int, month: int, day: int) -> dt.date:
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


@st.composite
def money(draw: st.DrawFn, currency: object = None, min_minor: int = 1, max_minor: int = 10**9) -> Money:
    """A positive amount in a random (or the given) currency."""
    cur = draw(currencies) if currency is None else to_currency(currency)  # type: ignore[arg-type]
    return Money(draw(st.integers(min_minor, max_minor)), cur)


@st.composite
def deposit_rules(draw: st.DrawFn, currency: object) -> DepositRule:
    """Percent, fixed, percent-or-minimum or no deposit, in *currency*."""
    kind = draw(st.sampled_from(["percent", "fixed", "percent_or_minimum", "none"]))
    pct = draw(st.decimals(0, 100, places=2, allow_nan=False, allow_infinity=False))
    cur = to_currency(currency)  # type: ignore[arg-type]
    if kind == "percent":
        return DepositRule.percent(pct)
    if kind == "fixed":
        return DepositRule.fixed(Money(draw(st.integers(0, 10**6)), cur))
    if kind == "percent_or_minimum":
        return DepositRule.percent_or_minimum(pct, Money(draw(st.integers(0, 10**7)), cur))
    return DepositRule.none()


@st.composite
def plans(
    draw: st.DrawFn,
    *,
    max_installments: int = 24,
    allow_apr: bool = True,
    relative: bool = True,
) -> PaymentPlan:
    """A valid deposit + installments plan with random terms and dates.

    Draws that cannot form a valid plan (a balance too small to split, a
    schedule that cannot fit) are rejected with ``assume``.
    """
    cur = draw(currencies)
    fee = Money(draw(st.integers(1, 10**9)), cur)
    count = draw(st.integers(1, max_installments))
    booked = draw(dates)
    rule: Cadence | BeforeSession = draw(cadences)
    if relative and draw(st.booleans()):
        days = sorted(draw(st.lists(st.integers(0, 400), min_size=count, max_size=count)), reverse=True)
        rule = BeforeSession(tuple(days))
    session = booked + dt.timedelta(days=draw(st.integers(0, 3 * 366)))
    apr = Decimal(0)
    if allow_apr and isinstance(rule, Cadence) and draw(st.integers(0, 4)) == 0:
        apr = draw(st.decimals(0, 36, places=2, allow_nan=False, allow_infinity=False))
    terms = Terms(
        deposit=draw(deposit_rules(cur)),
        installments=count,
        dates=rule,
        final_due_days_before=draw(st.integers(0, 30)),
        remainder=draw(remainders),
        apr=apr,
        compress=draw(st.booleans()),
    )
    try:
        return PaymentPlan.with_deposit(
            draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=24)),
            fee,
            booked=booked,
            session=session,
            terms=terms,
        )
    except (ScheduleDoesNotFitError, InvalidPlanError):
        assume(False)
        raise  # pragma: no cover


KINDS = ("payment", "payment", "refund", "goodwill", "fee", "waiver", "write_off", "credit")
# Ids that sort in every order against each other, as providers' ids do.
ids = st.text("abz:_19", min_size=1, max_size=5)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[PaymentPlan, Ledger, list[LedgerEntry]]:
    """A plan, and a ledger of random entries on a few dates (many on the same day), under random ids.

    Returns the entries offered too (some of which the ledger refused).
    """
    plan = draw(plans(max_installments=4, allow_apr=False))
    cur = plan.fee.currency
    total = plan.total.minor
    days = [plan.booked + dt.timedelta(days=d) for d in draw(st.lists(st.integers(0, 120), min_size=1, max_size=4))]
    offered: list[LedgerEntry] = []
    ledger = Ledger.empty(plan)
    fees: list[str] = []
    used: set[str] = set()
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(KINDS))
        eid = draw(ids.filter(lambda s: s not in used))
        used.add(eid)
        on = draw(st.sampled_from(days))
        amount = Money(draw(st.integers(1, max(1, total))), cur)
        small = Money(draw(st.integers(1, max(1, total // 5))), cur)
        entry: LedgerEntry
        if kind == "payment":
            entry = PaymentReceived(eid, on, amount)
        elif kind == "refund":
            entry = Refund.reversal(eid, on, small)
        elif kind == "goodwill":
            entry = Refund.price_reduction(eid, on, small, "goodwill")
        elif kind == "fee":
            entry = LateFeeAssessed(eid, on, small, draw(st.integers(1, len(plan.installments))))
            fees.append(eid)
        elif kind == "waiver":
            fee_id = draw(st.sampled_from(fees)) if fees and draw(st.booleans()) else None
            entry = FeeWaived(eid, on, small, "goodwill", fee_id)
        elif kind == "write_off":
            number = draw(st.integers(1, len(plan.installments))) if draw(st.booleans()) else None
            entry = WriteOff(eid, on, small, "hardship", number)
        else:
            entry = CreditApplied(eid, on, small, "referral")
        offered.append(entry)
        with contextlib.suppress(LedgerError):
            ledger = ledger.record(entry)
    return plan, ledger, offered
