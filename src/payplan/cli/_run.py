"""``payplan run`` and ``payplan import``: the daily run and loading saved plans into a store.

``run`` runs :func:`payplan.engine.run_due` over the store at ``--db`` for
one date, with a progress bar on a terminal (plain lines otherwise) and a
summary table at the end. Exit status: 0 when every plan was handled, 1
when some failed (each named on stderr with its reason), 2 for bad input.
``--dry-run`` prints what it would do and changes nothing.

``import`` loads a plan saved by ``payplan quote --save`` and the payments
of a CSV file into the store; importing the same files again changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

from ..exceptions import PayplanError
from ..notify import ChannelNotifier, Contact, InMemoryNotifier, Notifier, SmtpNotifier
from ._common import CliError, add_plan_arguments, date_arg, dump_json, read_plan, read_text, render_table
from ._status import read_payments


def _shard_arg(text: str) -> tuple[int, int]:
    """argparse type for ``K/N``: worker K (from 0) of N."""
    k, sep, n = text.partition("/")
    try:
        if not sep:
            raise ValueError
        shard, shards = int(k), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shard as K/N (e.g. 0/2), got {text!r}") from None
    if shards < 1 or not 0 <= shard < shards:
        raise argparse.ArgumentTypeError(f"expected a shard K/N with 0 <= K < N, got {text!r}")
    return shard, shards


def _lease_arg(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 10**7:
        raise argparse.ArgumentTypeError(f"expected a lease in seconds (0 or more), got {text!r}")
    return seconds


def _smtp_arg(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        if not host:
            raise ValueError
        return host, int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected the SMTP server as HOST:PORT, got {text!r}") from None


def register(subs: Any) -> None:
    """Add ``run`` and ``import`` to the subcommands."""
    r = subs.add_parser(
        "run",
        help="the daily collections run over a store",
        description="Record the late fees due, charge what is due (retrying declines on each plan's "
        "ladder) and send the reminders due, for every active plan in the store, as of --as-of. "
        "Running it again for the same date does nothing twice. Exit status 0: every plan handled; "
        "1: some plans failed (named on stderr); 2: bad input.",
    )
    add_run_arguments(r)
    r.set_defaults(run=run_run)

    i = subs.add_parser(
        "import",
        help="load a saved plan and its payments into a store",
        description="Add PLAN.json (from `payplan quote --save`) and the payments of PAYMENTS.csv "
        "(date,amount[,reference]) to the store at --db (create it first with `payplan db upgrade`). "
        "Importing the same files again changes nothing.",
    )
    i.add_argument("--db", required=True, metavar="URL", help="the store")
    add_plan_arguments(i)
    i.set_defaults(run=run_import)


def add_run_arguments(r: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Every option of ``payplan run`` on parser *r* (``manage.py payplan_run`` takes the same ones).

    With *required* False, ``--db`` and ``--as-of`` may be left out (the
    Django command fills them from the site's store and today's date).
    """
    r.add_argument("--db", required=required, metavar="URL", help="the store (sqlite:///payplan.db, postgresql+psycopg://...)"
                   + ("" if required else "; default: the site's store"))
    r.add_argument("--as-of", type=date_arg, required=required, metavar="DATE", help="the day to run (YYYY-MM-DD)"
                   + ("" if required else "; default: today in the site's time zone"))
    r.add_argument("--dry-run", action="store_true", help="print what would be done; change nothing")
    r.add_argument("--shard", type=_shard_arg, default=(0, 1), metavar="K/N", help="take share K (from 0) of N workers")
    r.add_argument("--claim", action="store_true",
                   help="take the plans by claims in the store, so several workers can run the same date together "
                   "(FOR UPDATE SKIP LOCKED on PostgreSQL); each plan is run once per date")
    r.add_argument("--worker", metavar="NAME", help="this worker's name in the claims (default: host:pid:random)")
    r.add_argument("--lease", type=_lease_arg, default=900.0, metavar="SECONDS",
                   help="how long a claim of a worker that died holds before the next run takes it over (default 900)")
    r.add_argument("--contacts", metavar="CONTACTS.csv",
                   help="who to write to: client,name,email[,locale[,channel[,phone]]] (client id or plan id)")
    r.add_argument("--smtp", type=_smtp_arg, metavar="HOST:PORT", help="send e-mail through this SMTP server")
    r.add_argument("--sender", metavar="ADDRESS", help="the From address of the e-mails (with --smtp)")
    r.add_argument("--setup", metavar="MODULE:FUNCTION",
                   help="a function returning the site's providers, notifier and contacts (a dict with any of "
                   "'providers', 'notifier', 'contacts', 'templates')")
    r.add_argument("--format", choices=["table", "json"], default="table")


def _open(url: str) -> Any:
    from ..store import open_store

    return open_store(url)


def read_contacts(path: str) -> dict[str, Contact]:
    """Contacts from a CSV file: ``client,name,email[,locale[,channel[,phone]]]``, keyed by client (or plan) id."""
    text = read_text(path, "contacts file", "a UTF-8 CSV file", encoding="utf-8-sig")
    out: dict[str, Contact] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "client":
            continue
        if not 3 <= len(cells) <= 6:
            raise CliError(
                f"{path} line {number}: expected 3 to 6 columns (client,name,email[,locale[,channel[,phone]]]), "
                f"got {len(cells)}"
            )
        client, name, email, *rest = cells
        locale = rest[0] if rest and rest[0] else "en_US"
        channel = rest[1] if len(rest) > 1 and rest[1] else "email"
        phone = rest[2] if len(rest) > 2 and rest[2] else None
        if not client or not name:
            raise CliError(f"{path} line {number}: expected a client id and a name, got {row!r}")
        out[client] = Contact(name, email=email or None, locale=locale, channel=channel, phone=phone)
    return out


def _setup(spec: str) -> Mapping[str, Any]:
    module, sep, func = spec.partition(":")
    if not sep or not module or not func:
        raise CliError(f"expected --setup as MODULE:FUNCTION, got {spec!r}")
    try:
        factory: Callable[[], Mapping[str, Any]] = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise CliError(f"cannot load --setup {spec!r}: {exc}") from None
    found = factory()
    if not isinstance(found, Mapping):
        raise CliError(f"expected --setup {spec!r} to return a dict, got {type(found).__name__}")
    unknown = set(found) - {"providers", "notifier", "contacts", "templates"}
    if unknown:
        raise CliError(f"expected --setup keys providers, notifier, contacts, templates; got {sorted(unknown)}")
    return found


class _Progress:
    """A tqdm bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int | None, shard: tuple[int, int], stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.count = 0
        self.total = total
        self.bar: Any = None
        self.every = max((total or 0) // 10, 100)
        label = "plans" if shard == (0, 1) else f"plans (shard {shard[0]}/{shard[1]})"
        if self.stream.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is in the engine extra
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, unit=" plans", desc=label, file=self.stream)
        self.label = label

    def __call__(self, _: object) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.count % self.every == 0:
            print(f"{self.count} {self.label} done", file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            print(f"{self.count} {self.label} done", file=self.stream)


def run_run(args: argparse.Namespace) -> int:
    """``payplan run``."""
    store = _open(args.db)
    try:
        return run_on(args, store)
    finally:
        store.close()


def run_on(
    args: argparse.Namespace,
    store: Any,
    defaults: Mapping[str, Any] | None = None,
    *,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """The daily run of *args* (as :func:`add_run_arguments` reads them) over *store*; the exit status.

    *defaults* gives the providers, notifier, contacts and templates when
    ``--setup``, ``--contacts`` and ``--smtp`` do not (the Django command
    passes the site's). The summary goes to *out*, progress and failures
    to *err*.
    """
    from ..engine import run_due

    out = out or sys.stdout
    err = err or sys.stderr
    setup = {**(defaults or {}), **(_setup(args.setup) if args.setup else {})}
    contacts = setup.get("contacts")
    if args.contacts:
        contacts = read_contacts(args.contacts)
    notifier: Notifier | None = setup.get("notifier")
    if args.smtp:
        if not args.sender:
            raise CliError("expected --sender ADDRESS with --smtp")
        smtp = SmtpNotifier(args.smtp[0], args.smtp[1], sender=args.sender)
        notifier = smtp if notifier is None else ChannelNotifier({"email": smtp, "other": notifier})
    if args.dry_run and notifier is None:
        notifier = InMemoryNotifier()
    shard, shards = args.shard
    # with claims the other workers take part of the plans: a count, not a bar to 100%
    progress = _Progress(None if args.claim else len(store.plan_ids()) // shards or None, args.shard, err)
    try:
        summary = run_due(
            store, setup.get("providers", {}), args.as_of, notifier, contacts=contacts,
            templates=setup.get("templates"), shard=shard, shards=shards, dry_run=args.dry_run,
            progress=progress, claim=args.claim, worker=args.worker, lease=dt.timedelta(seconds=args.lease),
        )
    finally:
        progress.close()
    if args.format == "json":
        print(dump_json({
            "as_of": args.as_of.isoformat(),
            "dry_run": summary.dry_run,
            **{label.strip().replace(" ", "_"): n for label, n in summary.rows()},
            "failures": [{"plan_id": f.plan_id, "reason": f.reason} for f in summary.failures],
            "actions": [{"plan_id": a.plan_id, "kind": a.kind, "detail": a.detail} for a in summary.actions],
        }), file=out)
    else:
        if summary.dry_run:
            print(f"Dry run for {args.as_of.isoformat()}: nothing was written, charged or sent.", file=out)
            for a in summary.actions:
                print(f"  {a.plan_id}: {a.kind}: {a.detail}", file=out)
            print(file=out)
        print(render_table(["", "count"], [(label, str(n)) for label, n in summary.rows()], right=[1]), file=out)
    for f in summary.failures:
        print(f"payplan: plan {f.plan_id} failed: {f.reason}", file=err)
    return 1 if summary.failures else 0


def run_import(args: argparse.Namespace) -> int:
    """``payplan import``."""
    store = _open(args.db)
    try:
        return import_into(args, store)
    finally:
        store.close()


def import_into(args: argparse.Namespace, store: Any, *, out: IO[str] | None = None) -> int:
    """``payplan import`` of *args* (``plan``, ``payments``) into *store*; the exit status.

    Importing the same files again changes nothing; a stored plan with other
    terms is refused (amend it instead).
    """
    from ..exceptions import UnknownPlanError

    out = out or sys.stdout
    plan = read_plan(args.plan)
    payments = read_payments(args.payments, plan) if args.payments else ()
    try:
        stored = store.load(plan.id)
    except UnknownPlanError:
        stored = None
    if stored is None:
        store.add_plan(plan, entries=payments)
        print(f"imported plan {plan.id} with {len(payments)} payments", file=out)
        return 0
    if stored.plan != plan:
        raise CliError(
            f"{args.plan}: expected plan {plan.id} as stored (version {stored.plan.version}), "
            f"got different terms or dates (version {plan.version}); amend it instead of importing"
        )
    new = [p for p in payments if p.id not in stored.ledger]
    try:
        store.record_entries(plan.id, new)
    except PayplanError as exc:
        raise CliError(f"{args.payments}: {exc}") from None
    print(f"plan {plan.id} already stored; {len(new)} new payments recorded", file=out)
    return 0
