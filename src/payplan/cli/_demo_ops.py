"""The operational half of ``payplan demo``: the same booking through a store and the daily run."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from .._catalog import Catalog
from .._documents import render_statement
from .._ledger import PaymentReceived
from .._money import Money
from .._status import plan_status
from ..engine import run_due
from ..notify import Contact, InMemoryNotifier, Message
from ..providers import Payer
from ..store import Store
from ..testing import OnDemandSandboxProvider, SandboxCard

BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)
CARD = "pm_ada_visa"


def _open_store(folder: str) -> tuple[Store, str]:
    try:
        from ..store.sql import upgrade
    except ImportError:  # pragma: no cover - without payplan[store]
        from ..store import MemoryStore

        return MemoryStore(), "in memory (install payplan[store] for SQLite)"
    path = Path(folder) / "payplan.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return Store.open(url), f"SQLite in a temporary file ({path.name})"


def _letter(m: Message) -> None:
    print(f"     From: Studio Lumen <studio@example.com>   To: {m.to}   ({m.date})")
    print(f"     Subject: {m.subject}")
    for line in m.body.rstrip().splitlines():
        print(f"     | {line}" if line else "     |")
    print()


def operations_story(catalog: Catalog) -> None:
    """Book Pack A into a store and let ``run_due`` collect it day by day, printing what happens."""
    print("\n9. The same booking, run by the collections engine: a store and one daily run")
    with tempfile.TemporaryDirectory(prefix="payplan-demo-") as folder:
        store, where = _open_store(folder)
        try:
            _story(store, where, catalog)
        finally:
            store.close()


def _story(store: Store, where: str, catalog: Catalog) -> None:
    plan = catalog["Session Pack A"].quote("booking-2002", booked=BOOKED, session=SESSION, client="ada")
    deposit = plan.installments[0].amount
    store.add_plan(plan, entries=[PaymentReceived("booking-2002:deposit", BOOKED, deposit, "card", "checkout")])
    sandbox = OnDemandSandboxProvider(today=BOOKED)
    store.save_binding(sandbox.publish(plan, Payer(customer_id="cus_ada", payment_method_id=CARD)))
    # January's charge is declined once; the card on file expires at the end of January
    sandbox.script(CARD, SandboxCard.DECLINE)
    ada = Contact(
        "Ada Lovelace", email="ada@example.com", card_expires=dt.date(2027, 1, 31),
        fields={"business": "Studio Lumen", "pay_url": "https://studio.example/pay/booking-2002",
                "update_card_url": "https://studio.example/card"},
    )
    notifier = InMemoryNotifier()
    print(f"   store: {where}; provider: the sandbox without autopay, so the run charges it")
    print("   every day from the booking to the session: `run_due(store, [sandbox], day, notifier)`\n")
    shown = 0
    day = BOOKED
    totals = {"charges": 0, "succeeded": 0, "declined": 0, "messages": 0}
    while day <= SESSION:
        sandbox.advance_to(day)
        summary = run_due(store, [sandbox], day, notifier, contacts={"ada": ada})
        if not summary.ok:
            raise RuntimeError(f"the demo's run failed on {day}: {summary.failures}")
        totals["charges"] += summary.charges
        totals["succeeded"] += summary.succeeded
        totals["declined"] += summary.declined
        for action in summary.actions:
            if action.kind in ("charge", "fee", "done"):
                print(f"   [{day}] {action.kind}: {action.detail}")
        for m in notifier.sent[shown:]:
            print(f"   [{day}] e-mail sent ({m.kind}):")
            _letter(m)
            if m.kind == "card_expiring":
                print("     (Ada saves her new card on the studio's page; the next charges use it)\n")
        shown = len(notifier.sent)
        if day == dt.date(2027, 1, 1):
            again = run_due(store, [sandbox], day, notifier, contacts={"ada": ada})
            print(f"   [{day}] the same day run again (a second cron, a restart): "
                  f"{again.charges} charges, {again.reminders + again.notices} messages, {again.fees} fees\n")
        day += dt.timedelta(days=1)
    ledger = store.load(plan.id).ledger
    status = plan_status(plan, ledger, SESSION)
    print(f"   {totals['charges']} charges ({totals['succeeded']} succeeded, {totals['declined']} declined), "
          f"{len(notifier.sent)} e-mails, none twice; status on {SESSION}: {status.status.value.replace('_', ' ')}")
    owed = status.balance
    if owed.minor > 0:
        store.record_entries(plan.id, [PaymentReceived("booking-2002:fees", SESSION, owed, "card", "checkout")])
        print(f"   the client pays the remaining {owed.format('en_US')} (late fees) at checkout")
        ledger = store.load(plan.id).ledger
    print("\n   The final statement, from the store:")
    print(render_statement(plan, ledger, SESSION, format="txt"))
    paid = sum((e.amount for e in ledger if isinstance(e, PaymentReceived)), Money.zero(plan.fee.currency))
    print(f"   paid in total: {paid.format('en_US')} for a plan of {plan.total.format('en_US')}")
