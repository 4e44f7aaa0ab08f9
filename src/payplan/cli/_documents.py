"""``payplan agreement``, ``payplan statement`` and ``payplan ics``: documents from a saved plan.

``agreement`` renders the payment agreement of a plan saved by ``payplan
quote --save`` (or of the current version of a plan history written by
:func:`~payplan.dumps_history`, with its amendments); ``statement`` records the payments of a CSV file (the same
``date,amount[,reference]`` file ``payplan status`` reads), assesses the late
fees due by ``--as-of`` and renders the statement; ``ics`` writes the plan's
due dates as an iCalendar feed with reminder alarms. Each writes to stdout,
or to ``--output``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._amendments import AmendmentRecord
from .._calendar import MAX_DAYS
from .._documents import Parties, render_agreement, render_statement
from .._history_json import load_history
from .._plan import PaymentPlan
from .._reports import ics_feed
from ..exceptions import SerializationError
from ..serialization import parse_json
from ._common import CliError, add_plan_arguments, date_arg, days_arg, read_plan, read_text, write_text
from ._status import ledger_from_args, with_assessments


def register(subs: Any) -> None:
    """Add ``agreement``, ``statement`` and ``ics`` to the subcommands."""
    a = subs.add_parser(
        "agreement",
        help="render the payment agreement of a saved plan",
        description="Render the payment agreement of PLAN.json (from `payplan quote --save`): parties, "
        "package, fee, deposit, schedule, incentives, late fees, cancellation and the release clause.",
    )
    a.add_argument(
        "plan", metavar="PLAN.json",
        help="a plan saved by `payplan quote --save`, or a plan history (payplan.dumps_history)",
    )
    _document_options(a)
    from ._check import add_sale_arguments

    add_sale_arguments(a, required=False)  # with --where, the agreement states the guardrails' notices
    a.set_defaults(run=run_agreement)

    s = subs.add_parser(
        "statement",
        help="render a statement of a saved plan on a date",
        description="Record the payments of PAYMENTS.csv (date,amount[,reference]) against PLAN.json, "
        "assess the late fees due by --as-of, and render what was due, paid, fees, credits, the "
        "balance and the next payment.",
    )
    add_plan_arguments(s)
    s.add_argument("--as-of", type=date_arg, required=True, help="the statement date (YYYY-MM-DD)")
    _document_options(s)
    s.set_defaults(run=run_statement)

    c = subs.add_parser(
        "ics",
        help="write a saved plan's due dates as an iCalendar feed",
        description="Write the due dates of PLAN.json as an iCalendar (.ics) feed, one all-day event per "
        "installment with reminder alarms. With --payments and --as-of, paid installments are left out.",
    )
    add_plan_arguments(c)
    c.add_argument("--as-of", type=date_arg, help="leave out what is paid by this date (YYYY-MM-DD)")
    c.add_argument(
        "--alarm", type=days_arg(), action="append", metavar="DAYS",
        help=f"an alarm DAYS before each due date, 0 to {MAX_DAYS} (repeatable; default: the plan's reminder policy)",
    )
    c.add_argument("--locale", default="en_US", help="locale for money in the events (default en_US)")
    c.add_argument("--name", default="Payment plan", help="the calendar's name")
    c.add_argument("-o", "--output", metavar="FILE.ics", help="write to FILE.ics instead of stdout")
    c.set_defaults(run=run_ics)


def _document_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["md", "html", "txt"], default="md", help="output format (default md)")
    p.add_argument("--locale", default="en_US", help="locale for money, dates and wording (default en_US)")
    p.add_argument("--business", default="", help="the business's name")
    p.add_argument("--client", default="", help="the client's name (default: the plan's client id)")
    p.add_argument("--template", metavar="FILE", help="a string.Template file replacing the built-in layout")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def _template(args: argparse.Namespace) -> str | None:
    if not args.template:
        return None
    return read_text(args.template, "template", "a UTF-8 text template")


def _emit(args: argparse.Namespace, text: str) -> int:
    if args.output:
        write_text(args.output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _plan_or_history(path: str) -> tuple[PaymentPlan, tuple[AmendmentRecord, ...]]:
    """A plan file, or a history file (its current version and its records)."""
    text = read_text(path, "plan file", "a UTF-8 JSON plan or history file")
    try:
        data = parse_json(text)
    except SerializationError as exc:
        raise CliError(f"{path}: {exc}") from None
    if isinstance(data, dict) and data.get("schema") == "payplan/history":
        try:
            history = load_history(data)
        except SerializationError as exc:
            raise CliError(f"{path}: {exc}") from None
        return history.current, history.records
    return read_plan(path), ()


def _findings(plan: Any, sale: Any) -> tuple[Any, ...]:
    from ..guardrails import check

    return check(plan, sale)


def run_agreement(args: argparse.Namespace) -> int:
    """Render the agreement (with the amendment history, for a history file)."""
    from ._check import sale_from

    plan, records = _plan_or_history(args.plan)
    sale = sale_from(args)
    notices = () if sale is None else _findings(plan, sale)
    text = render_agreement(
        plan, format=args.format, locale=args.locale, parties=Parties(args.business, args.client),
        history=records, template=_template(args), notices=notices,
    )
    return _emit(args, text)


def run_statement(args: argparse.Namespace) -> int:
    """Record the payments, assess fees and render the statement."""
    plan = read_plan(args.plan)
    ledger = with_assessments(plan, ledger_from_args(args, plan), args.as_of)
    text = render_statement(
        plan, ledger, args.as_of, format=args.format, locale=args.locale,
        parties=Parties(args.business, args.client), template=_template(args),
    )
    return _emit(args, text)


def run_ics(args: argparse.Namespace) -> int:
    """Write the iCalendar feed."""
    plan = read_plan(args.plan)
    if args.payments and args.as_of is None:
        raise CliError("--payments needs --as-of (the date to count payments up to)")
    item: Any = (plan, ledger_from_args(args, plan)) if args.as_of is not None else plan
    data = ics_feed([item], as_of=args.as_of, alarms=args.alarm, locale=args.locale, name=args.name)
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            raise CliError(f"cannot write {args.output!r}: {exc.strerror}") from None
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
