"""manage.py payplan_upgrade, payplan_run (a dry run, a run, a rerun that changes nothing) and payplan_import."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from payplan import Catalog
from payplan.django import signals as sig
from payplan.django import store

from .conftest import DATABASES, TODAY, site_settings

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "examples" / "django_site" / "studio" / "catalog.toml"
pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


@pytest.fixture
def studio(settings: Any, site: str) -> Any:
    """The site (SQLite, then PostgreSQL) on the studio's catalog with contacts; one plan booked, its deposit
    (due today) unpaid."""
    settings.PAYPLAN = {**settings.PAYPLAN, "CATALOG": CATALOG, "CONTACTS": "django_app.contacts.contact_for"}
    plan = Catalog.from_toml(CATALOG)["Session Pack A"].quote(
        "studio-1", booked=TODAY, session=dt.date(2027, 4, 15), installments=3)
    store().add_plan(plan)
    return plan


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("payplan_run", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot(plan_id: str) -> tuple[Any, ...]:
    found = store()
    return found.load(plan_id).ledger.entries, found.reminders(plan_id), found.operations(plan_id=plan_id)


class TestRun:
    def test_dry_run_then_run_then_rerun(self, studio: Any) -> None:
        """--dry-run changes and sends nothing; the run records the fee and e-mails the reminder; a rerun adds nothing."""
        fees: list[str] = []

        def heard(sender: Any, entry: Any, **_: Any) -> None:
            fees.append(entry.id)

        sig.late_fee_assessed.connect(heard)
        try:
            before = snapshot(studio.id)
            out = run("--as-of", "2026-12-08", "--dry-run")
            assert "Dry run for 2026-12-08: nothing was written, charged or sent." in out
            assert "late_fee" in out or "late fee" in out
            assert snapshot(studio.id) == before
            assert mail.outbox == []
            assert fees == []

            out = run("--as-of", "2026-12-08")
            entries = store().load(studio.id).ledger.entries
            assert [e.kind for e in entries] == ["late_fee"]
            assert str(entries[0].amount) == "25.00 USD"
            assert fees == [entries[0].id]
            assert len(mail.outbox) == 1
            sent = mail.outbox[0]
            assert sent.to == ["ada@example.test"]
            assert sent.from_email == "studio@example.test"
            assert sent.extra_headers["Message-ID"].endswith("@studio.example.test>")
            assert "overdue" in sent.subject.lower()

            after = snapshot(studio.id)
            again = json.loads(run("--as-of", "2026-12-08", "--format", "json"))
            assert again["as_of"] == "2026-12-08"
            assert again["failures"] == []
            assert snapshot(studio.id) == after
            assert len(mail.outbox) == 1
            assert len(fees) == 1
        finally:
            sig.late_fee_assessed.disconnect(heard)

    def test_every_option_of_payplan_run(self) -> None:
        """The command takes every option `payplan run` has (its parser is the same code)."""
        from payplan.cli import build_parser

        cli = build_parser()
        sub = next(a for a in cli._actions if a.dest == "command").choices["run"]  # type: ignore[union-attr]
        from django.core.management import load_command_class

        ours = load_command_class("payplan.django", "payplan_run").create_parser("manage.py", "payplan_run")
        theirs = {o for a in sub._actions for o in a.option_strings}
        mine = {o for a in ours._actions for o in a.option_strings}
        assert theirs <= mine

    def test_as_of_defaults_to_today(self, studio: Any, settings: Any) -> None:
        """Without --as-of the run is for today in the site's TIME_ZONE."""
        from django.utils import timezone

        out = json.loads(run("--format", "json"))
        assert out["as_of"] == timezone.localdate().isoformat()

    def test_bad_option(self, studio: Any) -> None:
        """A bad --shard is refused by the shared parser with what was expected."""
        with pytest.raises(CommandError, match="expected a shard K/N"):
            run("--shard", "3/2")


class TestUpgradeAndImport:
    def test_upgrade_memory_store(self, settings: Any) -> None:
        """The in-memory store has no schema: the command says so."""
        settings.PAYPLAN = site_settings("memory://")
        with pytest.raises(CommandError, match="no schema to upgrade"):
            call_command("payplan_upgrade")

    def test_migrate_upgrades_payplan_tables(self, settings: Any) -> None:
        """With the store in the site's database, `migrate` brings payplan's tables to the code's schema."""
        import sqlalchemy as sa

        from payplan.django import config
        from payplan.django.conf import store_url
        from payplan.store.sql import head_revision, schema_revision

        settings.PAYPLAN = site_settings("default")
        engine = sa.create_engine(store_url(config()))
        try:
            call_command("migrate", verbosity=0)
            assert schema_revision(engine) == head_revision()
        finally:
            engine.dispose()

    def test_import_twice(self, studio: Any, tmp_path: Path) -> None:
        """A saved plan and its payments import once; the same files again change nothing."""
        from payplan.serialization import dumps_plan

        plan = Catalog.from_toml(CATALOG)["Session Pack B"].quote(
            "imported-1", booked=TODAY, session=dt.date(2027, 5, 1), installments=2)
        (tmp_path / "plan.json").write_text(dumps_plan(plan))
        (tmp_path / "payments.csv").write_text("date,amount,reference\n2026-12-01,750.00,bank-1\n")
        args = [str(tmp_path / "plan.json"), "--payments", str(tmp_path / "payments.csv")]
        out = io.StringIO()
        call_command("payplan_import", *args, stdout=out)
        assert out.getvalue().strip() == "imported plan imported-1 with 1 payments"
        out = io.StringIO()
        call_command("payplan_import", *args, stdout=out)
        assert out.getvalue().strip() == "plan imported-1 already stored; 0 new payments recorded"
        assert str(store().load("imported-1").ledger.paid) == "750.00 USD"


class TestDjangoEmailNotifier:
    def message(self, **changes: Any) -> Any:
        from payplan.notify import Message

        fields = {"id": "r-1", "plan_id": "p-1", "kind": "overdue", "channel": "email", "to": "ada@example.test",
                  "subject": "Your payment is overdue", "body": "Hello", "locale": "de_DE"}
        return Message(**{**fields, **changes})

    def test_sends_through_the_backend(self) -> None:
        """The e-mail carries the message's stable Message-ID and its language."""
        from payplan.django.notify import DjangoEmailNotifier

        DjangoEmailNotifier("studio@example.test", domain="example.test").send(self.message())
        sent = mail.outbox[-1]
        assert sent.to == ["ada@example.test"]
        assert sent.subject == "Your payment is overdue"
        assert sent.extra_headers["Message-ID"] == self.message().message_id("example.test")
        assert sent.extra_headers["Content-Language"] == "de"

    def test_refusals(self, settings: Any) -> None:
        """Another channel is refused; a backend that cannot send becomes a retryable NotificationError."""
        from payplan.django.notify import DjangoEmailNotifier
        from payplan.exceptions import NotificationError

        notifier = DjangoEmailNotifier("studio@example.test")
        with pytest.raises(NotificationError, match="expected a message for the email channel, got 'sms'"):
            notifier.send(self.message(channel="sms"))
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
        with pytest.raises(NotificationError, match="expected Django's e-mail backend to accept message r-1") as caught:
            notifier.send(self.message())
        assert caught.value.retryable
