"""Issue #16 item 7: the class stays closed.

A bounded fuzz of everything that reads outside input: the plan, ledger and
history loaders, the payments CSV reader, the catalog TOML loader and the
``payplan quote`` argument parser. For every input the answer is either a
payplan error (through the CLI: exit status 2 and one line on stderr) or a
result that passes the invariants, and then the views of that result (status,
late fees, reminders, incentives, cancellation, exports) also answer with a
result or a payplan error. Never any other exception.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import payplan
from payplan import MAX_DAYS, Money, PayplanError
from payplan.cli import main

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))

# -- seeds: valid documents with every optional part filled in ------------------------------------------------

_TERMS = payplan.Terms(
    deposit=payplan.DepositRule.percent_or_minimum("25", Money.of("500", "USD")),
    installments=3,
    final_due_days_before=14,
    late_fees=payplan.LateFeePolicy(
        (payplan.LateFeeStep.flat(1, Money.of("25", "USD")), payplan.LateFeeStep.percent_of_overdue(15, 10)),
        grace_days=3, cap=Money.of("60", "USD"), fee_on_fee=True,
    ),
    reminders=payplan.ReminderPolicy((-7, -1, 0, 1, 7, 14)),
    cancellation=payplan.CancellationPolicy(
        (payplan.CancellationWindow(30, 50), payplan.CancellationWindow(7, 100)),
        no_show_fee=Money.of("100", "USD"),
    ),
    incentives=(payplan.Incentive.early_payment(5, percent=2),),
)
PLAN = payplan.PaymentPlan.with_deposit(
    "seed-1", Money.of("2000", "USD"), booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15), terms=_TERMS,
    client="ada", tier="Pack A",
)
LEDGER = payplan.Ledger.empty(PLAN).record_all([
    payplan.PaymentReceived("p1", dt.date(2026, 12, 1), Money.of("500", "USD"), reference="r1"),
    payplan.PaymentReceived("p2", dt.date(2027, 1, 20), Money.of("300", "USD")),
    payplan.Refund.reversal("f1", dt.date(2027, 1, 21), Money.of("50", "USD")),
])
_AMENDED, _RECORD = payplan.amend(
    PLAN, payplan.ExtendDueDate(2, dt.date(2027, 1, 15)), by="owner", reason="asked", on=dt.date(2026, 12, 20),
    consent=True,
)
HISTORY = payplan.PlanHistory((PLAN, _AMENDED), (_RECORD,))
SEEDS: dict[str, Any] = {
    "plan": payplan.dump_plan(PLAN),
    "ledger": payplan.dump_ledger(LEDGER),
    "history": payplan.dump_history(HISTORY),
}

# -- values that broke loaders before: edges of ints, days and the calendar ------------------------------------

_EDGE_INTS = [0, 1, -1, 2, 520, 521, MAX_DAYS, MAX_DAYS + 1, -MAX_DAYS - 1, 2**31, -(2**31), 2**63, 10**30, -(10**30)]
_EDGE_TEXT = [
    "", "9999-12-31", "9999-12-30", "0001-01-01", "0001-01-02", "2026-02-29", "2027-02-29", "1e-9999", "1e9999",
    "NaN", "-0", "999", "100", "0.0000001", "monthly", "weekly", "semimonthly", "dates", "before_session",
    "cadence", "flat", "percent", "USD", "JPY", "KWD", "XXX", "=cmd|' /C calc'!A0", "\x00\x1b", "a\nb",
]
leaf_values: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(_EDGE_INTS),
    st.integers(-(10**6), 10**6),
    st.sampled_from(_EDGE_TEXT),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.sampled_from(_EDGE_INTS), max_size=4),
    st.just({}),
    st.just([]),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _paths(value, (*prefix, n))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> str:
    """JSON text: *seed* with a few leaves replaced, keys dropped, and sometimes the text itself damaged."""
    doc = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 2))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        old = _get(doc, path)
        if type(old) is int and draw(st.booleans()):  # same type, edge value: the plan may still load
            new: Any = draw(st.sampled_from(_EDGE_INTS) | st.integers(-400, 4000))
        elif isinstance(old, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", old) and draw(st.booleans()):
            new = draw(st.sampled_from(["9999-12-31", "9999-12-01", "0001-01-01", "0001-01-10"])
                       | st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat))
        else:
            new = draw(leaf_values)
        doc = _set(doc, path, new, delete=draw(st.integers(0, 7)) == 0)
    text = json.dumps(doc)
    damage = draw(st.integers(0, 15))
    if damage == 0:
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == 1:  # a key twice
        text = re.sub(r'("[a-z_]+": [^,{}\[\]]+)', r"\1, \1", text, count=1)
    elif damage == 2:  # deep nesting where a value was
        depth = draw(st.sampled_from([99, 101, 5000]))
        text = text.replace("null", "[" * depth + "]" * depth, 1) if "null" in text else "[" * depth + "]" * depth
    elif damage == 3:  # an integer past Python's digit limit
        text = re.sub(r": \d+", ": " + "7" * 4400, text, count=1)
    return text


@st.composite
def edge_plans(draw: st.DrawFn) -> payplan.PaymentPlan | None:
    """A plan built near either end of the calendar, with day counts anywhere inside their bounds (or None)."""
    start = draw(st.sampled_from([dt.date(9999, 11, 1), dt.date(9999, 12, 20), dt.date(1, 1, 1), dt.date(2026, 12, 1)]))
    booked = start + dt.timedelta(days=draw(st.integers(0, 10)))
    session = dt.date.fromordinal(min(booked.toordinal() + draw(st.integers(0, 120)), dt.date.max.toordinal()))
    count = draw(st.integers(1, 4))
    rule: Any = draw(st.sampled_from(list(payplan.Cadence)))
    if draw(st.booleans()):
        rule = payplan.BeforeSession(tuple(sorted(draw(st.lists(st.integers(0, 120), min_size=count, max_size=count)), reverse=True)))
    day_count = st.integers(0, MAX_DAYS) | st.sampled_from([0, 1, MAX_DAYS])
    offsets = draw(st.lists(st.integers(-MAX_DAYS, MAX_DAYS), min_size=1, max_size=4, unique=True))
    try:
        terms = payplan.Terms(
            deposit=payplan.DepositRule.percent("25"),
            installments=count,
            dates=rule,
            final_due_days_before=draw(st.integers(0, 10)),
            compress=draw(st.booleans()),
            late_fees=payplan.LateFeePolicy(
                (payplan.LateFeeStep.flat(draw(day_count), Money.of("5", "USD")),),
                grace_days=draw(st.integers(0, MAX_DAYS - 1)),
            ),
            reminders=payplan.ReminderPolicy(tuple(sorted(offsets))),
            incentives=(payplan.Incentive.early_payment(draw(day_count), percent=1),),
        )
        return payplan.PaymentPlan.with_deposit(
            "edge", Money.of("1000", "USD"), booked=booked, session=session, terms=terms
        )
    except PayplanError:
        return None


# -- invariants of anything that loaded ------------------------------------------------------------------------


def _payplan_or_result(call: Callable[[], object], label: str | None = None) -> object | None:
    """Run *call*; a payplan error is a fine answer (None), anything else raises out of the test."""
    try:
        result = call()
    except PayplanError as exc:
        if label:
            event(f"{label}: {type(exc).__name__}")
        return None
    if label:
        event(f"{label}: accepted")
    return result


def check_plan(plan: payplan.PaymentPlan) -> None:
    """A loaded plan obeys the invariants, round-trips, and every view of it answers."""
    lines = plan.installments
    assert sum(i.amount.minor for i in lines) == plan.total.minor
    assert all(i.amount.minor > 0 for i in lines)
    assert [i.due for i in lines] == sorted(i.due for i in lines)
    assert all(plan.booked <= i.due <= plan.cutoff for i in lines)
    assert payplan.loads_plan(payplan.dumps_plan(plan)) == plan
    ledger = payplan.Ledger.empty(plan)
    last = lines[-1].due if lines else plan.booked
    days = {plan.booked, plan.session, last, dt.date.max, payplan.add_months(last, 1) if last.year < 9999 else last}
    for day in sorted(days):
        _payplan_or_result(lambda d=day: payplan.plan_status(plan, ledger, d))
        fees = _payplan_or_result(lambda d=day: payplan.assess_late_fees(plan, ledger, d))
        if fees:
            _payplan_or_result(lambda d=day, f=fees: payplan.reminders_due(plan, ledger.record_all(f), d))  # type: ignore[arg-type]
        _payplan_or_result(lambda d=day: payplan.reminders_due(plan, ledger, d))
        _payplan_or_result(lambda d=day: payplan.earned_incentives(plan, ledger, d))
        _payplan_or_result(lambda d=day: payplan.settle_cancellation(plan, ledger, d))
    _payplan_or_result(lambda: payplan.tracking_csv([(plan, ledger)], plan.booked))
    _payplan_or_result(lambda: payplan.render_agreement(plan))


def check_ledger(ledger: payplan.Ledger) -> None:
    assert payplan.loads_ledger(payplan.dumps_ledger(ledger)) == ledger
    assert len(list(ledger)) == len(ledger)


def check_history(history: payplan.PlanHistory) -> None:
    assert payplan.loads_history(payplan.dumps_history(history)) == history
    check_plan(history.current)


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``payplan`` in-process; any exception but SystemExit from --help escapes into the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_cli_answer(code: int, out: str, err: str) -> None:
    """Exit 0, or exit 2 with exactly one line on stderr naming the program once."""
    if code == 0:
        return
    assert code == 2, (code, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("payplan: error: ")
    assert lines[0].count("payplan: error:") == 1


# -- the fuzz tests --------------------------------------------------------------------------------------------


class TestDocumentLoaders:
    @FUZZ
    @given(mutated(SEEDS["plan"]))
    def test_plan(self, text: str) -> None:
        """Every plan document is refused with a SerializationError or loads into a plan that passes the invariants."""
        plan = _payplan_or_result(lambda: payplan.loads_plan(text), "plan")
        if plan is not None:
            check_plan(plan)  # type: ignore[arg-type]

    @FUZZ
    @given(mutated(SEEDS["ledger"]))
    def test_ledger(self, text: str) -> None:
        """Ledger documents, alone and against their plan."""
        ledger = _payplan_or_result(lambda: payplan.loads_ledger(text), "ledger")
        if ledger is not None:
            check_ledger(ledger)  # type: ignore[arg-type]
        mine = _payplan_or_result(lambda: payplan.loads_ledger(text, PLAN))
        if mine is not None:
            _payplan_or_result(lambda: payplan.plan_status(PLAN, mine, dt.date(2027, 3, 1)))  # type: ignore[arg-type]

    @settings(FUZZ, max_examples=100)
    @given(edge_plans(), st.data())
    def test_plans_at_the_calendar_edges(self, plan: payplan.PaymentPlan | None, data: st.DataObject) -> None:
        """Plans near 0001-01-01 and 9999-12-31 (built, saved, maybe damaged, loaded) answer every view."""
        if plan is None:
            return
        check_plan(plan)
        doc = payplan.dump_plan(plan)
        text = data.draw(mutated(doc)) if data.draw(st.booleans()) else json.dumps(doc)
        loaded = _payplan_or_result(lambda: payplan.loads_plan(text), "edge plan")
        if loaded is not None:
            check_plan(loaded)  # type: ignore[arg-type]

    @settings(FUZZ, max_examples=60)
    @given(mutated(SEEDS["history"]))
    def test_history(self, text: str) -> None:
        """History documents (each version a whole plan document)."""
        history = _payplan_or_result(lambda: payplan.loads_history(text), "history")
        if history is not None:
            check_history(history)  # type: ignore[arg-type]

    @settings(FUZZ, max_examples=40)
    @given(st.sampled_from(["plan", "history"]), st.data())
    def test_through_the_cli(self, kind: str, data: st.DataObject) -> None:
        """Through `payplan status` and `payplan agreement`: exit 0, or exit 2 and one line."""
        text = data.draw(mutated(SEEDS[kind]))
        with workdir() as d:
            (d / "doc.json").write_text(text, encoding="utf-8")
            assert_cli_answer(*run_cli(["agreement", str(d / "doc.json")]))
            if kind == "plan":
                assert_cli_answer(*run_cli(["status", str(d / "doc.json"), "--as-of", "2027-03-01"]))


_CELLS = st.one_of(
    st.sampled_from(["2026-12-01", "2027-01-01", "9999-12-31", "0001-01-01", "500", "500.00", "0", "-5", "1e3",
                     "9" * 4000, "ref", "r1", '"quoted, cell"', "x" * 300, "", "date", "amount", "reference", "#"]),
    st.text(max_size=8),
)
_SEPARATORS = st.sampled_from([",", ",", ",", ";", "\t", "\v", "\f", "\u2028", "\x00", '"', "\r"])


@st.composite
def payments_files(draw: st.DrawFn) -> str:
    rows = draw(st.lists(st.lists(_CELLS, min_size=1, max_size=4), max_size=6))
    lines = [draw(_SEPARATORS).join(r) for r in rows]
    ends = draw(st.sampled_from(["\n", "\r\n", "\r", "\n\n"]))
    return ends.join(lines) + draw(st.sampled_from(["", "\n"]))


class TestPaymentsCsv:
    @settings(FUZZ, max_examples=150)
    @given(payments_files())
    def test_read(self, text: str) -> None:
        """The payments reader refuses a file with one line-numbered error or returns payments in the plan's currency."""
        from payplan.cli._status import read_payments

        with workdir() as d:
            (d / "payments.csv").write_text(text, encoding="utf-8", newline="")
            entries = _payplan_or_result(lambda: read_payments(str(d / "payments.csv"), PLAN), "payments")
            if entries is not None:
                for e in entries:  # type: ignore[attr-defined]
                    assert e.amount.minor > 0
                    assert e.amount.currency == PLAN.fee.currency
                    assert len(e.id) <= 200
            (d / "plan.json").write_text(payplan.dumps_plan(PLAN), encoding="utf-8")
            code, out, err = run_cli(
                ["status", str(d / "plan.json"), "--payments", str(d / "payments.csv"), "--as-of", "2027-03-01",
                 "--format", "json"]
            )
            assert_cli_answer(code, out, err)
            assert (code == 0) == (entries is not None)
            if code == 0:
                json.loads(out)


_TOML_VALUES = st.one_of(
    st.sampled_from(['"25%"', '"500.00"', "1e400", "9" * 5000, "-1", "2147483648", '"9999-12-31"', "[" * 5000 + "]" * 5000,
                     "{ a = " * 200 + "1" + " }" * 200, '"monthly"', '"bogus"', "true", "[]", "{}", '""', "0", "3653",
                     "3654", '"=cmd"']),
    st.integers(-(10**6), 10**6).map(str),
)


@st.composite
def catalogs(draw: st.DrawFn) -> str:
    """The reference catalog with a few values replaced (or a key added)."""
    text = payplan.REFERENCE_CATALOG_TOML
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, len(lines) - 1))
        value = draw(_TOML_VALUES)
        if "=" in lines[n] and draw(st.booleans()):
            key = lines[n].split("=", 1)[0]
            lines[n] = f"{key}= {value}"
        else:
            key = draw(st.sampled_from(["grace_days", "late_fee", "reminders", "installments", "fee", "deposit",
                                        "final_due_days_before", "apr", "cadence", "x"]))
            lines.insert(n, f"{key} = {value}")
    return "\n".join(lines) + "\n"


class TestCatalogToml:
    @settings(FUZZ, max_examples=100)
    @given(catalogs())
    def test_load_and_quote(self, text: str) -> None:
        """A catalog loads or is refused with InvalidPlanError; every tier of one that loads quotes or refuses."""
        catalog = _payplan_or_result(lambda: payplan.Catalog.from_toml(text), "catalog")
        if catalog is None:
            return
        for tier in catalog:  # type: ignore[attr-defined]
            plan = _payplan_or_result(
                lambda t=tier: t.quote("q", booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
                                       fee=None if t.fee else Money.of("1000", catalog.currency or "USD"))  # type: ignore[union-attr]
            )
            if plan is not None:
                check_plan(plan)  # type: ignore[arg-type]


_OPTIONS = ["--fee", "--currency", "--deposit", "--deposit-min", "--installments", "--cadence", "--booked", "--session",
            "--first-due", "--final-due-days-before", "--remainder", "--apr", "--grace-days", "--late-fee", "--tier",
            "--timezone", "--plan-id", "--client", "--locale", "--format"]
_ARG_VALUES = st.one_of(
    st.sampled_from(["2000", "2000.00", "25%", "101%", "0", "-5", "1e-9999", "1e3", "99999999999", "3", "520", "521",
                     "2026-12-01", "2027-04-15", "9999-12-01", "9999-12-31", "0001-01-01", "2027-02-29", "monthly",
                     "weekly", "semimonthly", "bimonthly", "first", "last", "9.9", "999", "1000", "0.0000001", "USD",
                     "JPY", "KWD", "XXX", "UTC", "Nowhere/City", "json", "csv", "table", "en_US", "xx_YY", "=cmd",
                     "9" * 5000, ""]),
    st.text(max_size=6),
)


@st.composite
def quote_argvs(draw: st.DrawFn) -> list[str]:
    argv = ["quote", "--fee", "2000", "--booked", "2026-12-01", "--session", "2027-04-15"]
    for _ in range(draw(st.integers(1, 5))):
        option = draw(st.sampled_from(_OPTIONS))
        value = draw(_ARG_VALUES)
        if option in argv and draw(st.booleans()):
            argv[argv.index(option) + 1] = value
        else:
            argv += [option, value]
    if draw(st.integers(0, 4)) == 0:
        argv.append("--compress")
    return argv


class TestQuoteArguments:
    @settings(FUZZ, max_examples=200)
    @given(quote_argvs())
    def test_exit_0_or_2(self, argv: list[str]) -> None:
        """`payplan quote` with any options: a quote (JSON that parses), or exit 2 and one line; never a traceback."""
        code, out, err = run_cli(argv)
        assert_cli_answer(code, out, err)
        event(f"exit {code}")
        if code == 0 and "--format" in argv and argv[argv.index("--format") + 1] == "json":
            data = json.loads(out)
            assert sum(i["amount_minor"] for i in data["installments"]) == data["total_minor"]
