"""``payplan status`` and ``payplan cancel``: a saved plan, its payments, a date.

``status`` records the payments of a CSV file (``date,amount[,reference]``),
assesses the late fees due by ``--as-of``, and prints the standing of every
installment, the fees and the reminders due that day. ``cancel`` prints the
settlement of a cancellation on ``--on``.

The JSON output keys are a stable contract (keys are added, never renamed):
``balance_minor``, ``paid_in_full``, ``overpaid``, ``credit_minor``,
``status``, ``installments`` (each ``number``, ``due``,
``amount_minor``, ``paid_minor``, ``status``, ``days_overdue``), ``fees``
(each ``installment``, ``amount_minor``, ``reason``) and ``reminders`` (each
``installment``, ``kind``, ``date``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import unicodedata
from typing import Any

from .._cancellation import settle_cancellation
from .._incentives import earned_incentives
from .._late_fees import assess_late_fees
from .._ledger import LateFeeAssessed, Ledger, PaymentReceived
from .._money import Money
from .._plan import PaymentPlan
from .._reminders import reminders_due
from .._status import PlanDay
from ..exceptions import InvalidPlanError, LedgerError
from ._common import (
    CliError,
    add_plan_arguments,
    date_arg,
    dump_json,
    money_arg,
    read_plan,
    read_text,
    render_table,
    shown,
)


def register(subs: Any) -> None:
    """Add ``status`` and ``cancel`` to the subcommands."""
    p = subs.add_parser(
        "status",
        help="where a saved plan stands on a date",
        description="Record the payments of PAYMENTS.csv (columns date,amount[,reference]; "
        "amounts in major units) against PLAN.json (from `payplan quote --save`), assess the "
        "late fees due by --as-of, and print each installment, the fees and the reminders due that day.",
    )
    add_plan_arguments(p)
    p.add_argument("--as-of", type=date_arg, required=True, metavar="DATE", help="the date to report on (YYYY-MM-DD)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--locale", default="en_US", help="locale for money in the table (default en_US)")
    p.set_defaults(run=run_status)

    c = subs.add_parser(
        "cancel",
        help="settle a cancellation of a saved plan",
        description="Settle a cancellation of PLAN.json on --on under its cancellation policy: "
        "what is retained, refunded or kept as credit. A date after the session is refused unless "
        "--no-show is given: then it is settled as a no-show, never as an early cancellation.",
    )
    add_plan_arguments(c)
    c.add_argument("--on", type=date_arg, required=True, metavar="DATE", help="the date of the cancellation (YYYY-MM-DD)")
    c.add_argument("--no-show", action="store_true", help="the client did not show up (adds the no-show fee); "
        "required for a date after the session, which is settled only as a no-show")
    c.add_argument("--as-credit", action="store_true", help="keep what is returned as credit toward a new session")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.add_argument("--locale", default="en_US", help="locale for money in the table (default en_US)")
    from ._check import add_sale_arguments

    # With --where, a cancellation inside the 14-day withdrawal period settles as the rules say.
    add_sale_arguments(c, required=False)
    c.add_argument("--started-on-request", action="store_true",
                   help="the service began inside the withdrawal period at the client's express request")
    c.add_argument("--provided", metavar="AMOUNT",
                   help="with --started-on-request: the value of what was provided until the cancellation")
    c.set_defaults(run=run_cancel)


# -- payments file -----------------------------------------------------------------------------


def read_payments(path: str, plan: PaymentPlan) -> tuple[PaymentReceived, ...]:
    """Parse a payments CSV (``date,amount[,reference]``) into ledger entries.

    The file is read as CSV records by the :mod:`csv` module: a quoted cell
    may hold a comma or a line break, and only a real line break ends a
    record (a vertical tab or U+2028 inside a line does not). A header row
    (``date,amount[,reference]``), blank lines and lines starting with ``#``
    are skipped. Each entry's id is its reference, or ``csv:<line>:<date>``
    when there is none, so two identical rows without a reference are two
    payments; a reference given twice is refused naming both lines (the same
    payment listed twice, or two payments under one reference). One payment
    is at most the plan's total (what the whole plan costs): a larger
    amount is a typo or a column mix-up, and is refused on its line.

    .. versionchanged:: 0.2.0
       Amounts above the plan's total are refused (a 3,990-digit amount
       was read as paid in full with a credit of 10^3988).

    Raises:
        CliError: the file cannot be read, or a record is malformed; the
            message names the file, the line a record starts on and the
            problem.
    """
    text = read_text(path, "payments file", "a UTF-8 CSV file", encoding="utf-8-sig")
    out: list[PaymentReceived] = []
    seen: dict[str, tuple[int, PaymentReceived]] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 1  # the line the next record starts on
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise CliError(f"{path} line {number}: expected CSV records (date,amount[,reference]): {_csv_reason(exc)}") from None
        if row is None:
            break
        start, number = number, reader.line_num + 1
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if start == 1 and cells[0].lower() == "date":
            if cells[:2] != ["date", "amount"] or cells[2:] not in ([], ["reference"]):
                raise CliError(
                    f"{path} line 1: expected the header date,amount[,reference], got {shown(','.join(cells))}"
                )
            continue
        where = f"{path} line {start}"
        if len(cells) not in (2, 3):
            raise CliError(f"{where}: expected 2 or 3 columns (date,amount[,reference]), got {len(cells)}")
        for name, cell in zip(("date", "amount", "reference"), cells, strict=False):
            bad = _control(cell)
            if bad is not None:
                raise CliError(f"{where}: expected the {name} without control characters, got {bad} in {shown(cell)}")
        try:
            if len(cells[0]) != 10:
                raise ValueError
            day = dt.date.fromisoformat(cells[0])
        except ValueError:
            raise CliError(f"{where}: expected a date as YYYY-MM-DD, got {shown(cells[0])}") from None
        try:
            amount = money_arg(cells[1], plan.currency, "the amount")
        except (InvalidPlanError, CliError) as exc:
            raise CliError(f"{where}: {exc}") from None
        if amount.minor <= 0:
            raise CliError(f"{where}: expected an amount above zero, got {shown(cells[1])}")
        if amount.minor > plan.total.minor:
            raise CliError(
                f"{where}: expected one payment of at most the plan's total {plan.total}, got {shown(cells[1])}"
            )
        reference = cells[2] if len(cells) == 3 and cells[2] else None
        if reference is not None and len(reference) > _MAX_REFERENCE:
            raise CliError(
                f"{where}: expected a reference of at most {_MAX_REFERENCE} characters, got {len(reference)}"
            )
        entry = PaymentReceived(reference or f"csv:{start}:{day.isoformat()}", day, amount, "csv", reference)
        if reference is not None:
            if reference in seen:
                line, first = seen[reference]
                raise CliError(
                    f"{where}: the reference {reference!r} ({_payment_words(entry)}) is already used on line {line} "
                    f"({_payment_words(first)}); expected each payment once, under its own reference"
                )
            seen[reference] = (start, entry)
        out.append(entry)
    return tuple(out)


#: The longest payment reference a payments file may give (an entry id's own bound).
_MAX_REFERENCE = 200


def _payment_words(p: PaymentReceived) -> str:
    return f"{p.amount.to_decimal_string()} {p.amount.currency.code} on {p.on.isoformat()}"


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field limit" in text:
        return f"a cell longer than the csv module's limit of {csv.field_size_limit()} characters"
    return text


def _control(cell: str) -> str | None:
    """The first control or line-separator character in *cell*, named, or None."""
    for c in cell:
        if unicodedata.category(c) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(c):04X}"
    return None


def ledger_from_args(args: argparse.Namespace, plan: PaymentPlan) -> Ledger:
    ledger = Ledger.empty(plan)
    if not args.payments:
        return ledger
    for entry in read_payments(args.payments, plan):
        try:
            ledger = ledger.record(entry)
        except LedgerError as exc:
            raise CliError(f"{args.payments}: {exc}") from None
    return ledger


def with_assessments(plan: PaymentPlan, ledger: Ledger, day: dt.date) -> Ledger:
    ledger = ledger.record_all(assess_late_fees(plan, ledger, day))
    awards = earned_incentives(plan, ledger, day)
    return ledger.record_all(a.entry for a in awards if a.entry is not None)


# -- status ---------------------------------------------------------------------------------------


def status_json(plan: PaymentPlan, ledger: Ledger, as_of: dt.date) -> dict[str, Any]:
    """The stable JSON contract of ``payplan status --format json``, from the plan's one view of the day."""
    day = PlanDay.of(plan, ledger, as_of)
    st = day.statement
    fees = [e for e in day.view if type(e) is LateFeeAssessed]
    return {
        "plan_id": plan.id,
        "as_of": as_of.isoformat(),
        "currency": plan.currency,
        "balance_minor": st.balance.minor,
        "paid_in_full": st.paid_in_full,
        "overpaid": st.credit.minor > 0,
        "credit_minor": st.credit.minor,
        "deliverables_released": st.deliverables_released,
        "status": st.status.value,
        "installments": [
            {
                "number": s.number,
                "due": s.installment.due.isoformat(),
                "amount_minor": s.installment.amount.minor,
                "paid_minor": s.paid.minor,
                "status": s.status.value,
                "days_overdue": s.days_overdue,
            }
            for s in st.installments
        ],
        "fees": [
            {"installment": f.installment, "amount_minor": f.amount.minor, "reason": f.reason}
            for f in sorted(fees, key=lambda f: (f.on, f.id))
        ],
        "reminders": [
            {"installment": r.installment, "kind": r.kind.value, "date": r.date.isoformat(), "message": r.message}
            for r in reminders_due(plan, ledger, as_of, day=day)
        ],
    }


def run_status(args: argparse.Namespace) -> int:
    """Print where the plan stands on ``--as-of``."""
    plan = read_plan(args.plan)
    as_of: dt.date = args.as_of
    ledger = with_assessments(plan, ledger_from_args(args, plan), as_of)
    data = status_json(plan, ledger, as_of)
    if args.format == "json":
        print(dump_json(data))
        return 0
    loc = args.locale
    cur = plan.fee.currency

    def money(minor: int) -> str:
        return Money(minor, cur).format(loc)

    print(
        f"Plan {plan.id} as of {as_of.isoformat()}: {data['status'].replace('_', ' ')}, "
        f"balance {money(data['balance_minor'])}"
        + ("; deliverables may be released" if data["deliverables_released"] else "")
    )
    if data["overpaid"]:
        print(f"Overpaid: the client has {money(data['credit_minor'])} in credit (to refund or carry to a new session).")
    rows = [
        [
            str(i["number"]),
            i["due"],
            money(i["amount_minor"]),
            money(i["paid_minor"]),
            i["status"] + (f" ({i['days_overdue']} days)" if i["days_overdue"] else ""),
        ]
        for i in data["installments"]
    ]
    print(render_table(["#", "due", "amount", "paid", "status"], rows, right=(0, 2, 3)))
    if data["fees"]:
        print("\nFees:")
        print(
            render_table(
                ["#", "amount", "reason"],
                [[str(f["installment"]), money(f["amount_minor"]), f["reason"]] for f in data["fees"]],
                right=(0, 1),
            )
        )
    if data["reminders"]:
        print("\nReminders due today:")
        for r in data["reminders"]:
            print(f"  [{r['kind']}] {r['message']}")
    return 0


# -- cancel -----------------------------------------------------------------------------------------


def _minor(m: Money | None) -> int | None:
    return None if m is None else m.minor


def run_cancel(args: argparse.Namespace) -> int:
    """Print the settlement of a cancellation on ``--on``."""
    plan = read_plan(args.plan)
    on: dt.date = args.on
    if on > plan.session and not args.no_show:
        raise CliError(
            f"the session was on {plan.session.isoformat()}, before the cancellation date {on.isoformat()}: "
            "nothing is refunded as an early cancellation after the session; pass --no-show to settle it as "
            "a no-show under the plan's cancellation policy"
        )
    ledger = with_assessments(plan, ledger_from_args(args, plan), on)
    from ._check import sale_from

    provided = money_arg(args.provided, plan.currency, "--provided") if args.provided is not None else None
    s = settle_cancellation(
        plan, ledger, on, no_show=args.no_show, as_credit=True if args.as_credit else None,
        sale=sale_from(args), started_on_request=args.started_on_request, provided=provided,
    )
    after = ledger.record_all(s.entries)
    data = {
        "plan_id": plan.id,
        "on": on.isoformat(),
        "currency": plan.currency,
        "notice_days": s.notice_days,
        "paid_minor": ledger.net_paid.minor,
        "retained_minor": s.retained.minor,
        "clawback_minor": s.clawback.minor,
        "refund_minor": s.refund.minor,
        "credit_minor": s.credit.minor,
        "shortfall_minor": s.shortfall.minor,
        "balance_minor": after.balance.minor,
        "reason": s.reason,
        "entries": [
            {"id": e.id, "kind": e.kind, "on": e.on.isoformat(), "amount_minor": _minor(e.amount)}
            for e in s.entries
        ],
    }
    if args.format == "json":
        print(dump_json(data))
        return 0
    loc = args.locale
    when = (
        f"{s.notice_days} days before the session" if s.notice_days >= 0
        else f"{-s.notice_days} days after the session"
    )
    print(f"Cancellation of plan {plan.id} on {on.isoformat()} ({when})")
    print(f"  rule:       {s.reason}")
    for label, m in (
        ("paid", ledger.net_paid),
        ("retained", s.retained),
        ("refund", s.refund),
        ("credit", s.credit),
        ("still owed", s.shortfall),
    ):
        print(f"  {label + ':':<11} {m.format(loc)}")
    return 0
