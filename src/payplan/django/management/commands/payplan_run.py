"""``manage.py payplan_run``: the daily run (``payplan run``, with every one of its options) over the site's store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ....cli._run import add_run_arguments, run_on
from ....exceptions import PayplanError


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Record the late fees due, charge what is due and send the reminders due, for every active plan "
        "in the site's store, as of --as-of (default: today in TIME_ZONE), with the providers, notifier "
        "and contacts of PAYPLAN. Running it again for the same date does nothing twice. Options as "
        "`payplan run`; exits 1 when some plans failed (named on stderr)."
    )

    def add_arguments(self, parser: Any) -> None:
        add_run_arguments(parser, required=False)

    def handle(self, *args: Any, **options: Any) -> None:
        import argparse

        from django.utils import timezone

        from ....store import Store
        from ... import contacts, notifier, providers, store

        self.stdout.ending = self.stderr.ending = ""  # the shared code prints whole lines
        parsed = argparse.Namespace(**options)
        if parsed.as_of is None:
            parsed.as_of = timezone.localdate()
        defaults: dict[str, Any] = {"providers": providers(), "notifier": notifier(), "contacts": contacts()}
        try:
            if parsed.db:
                own = Store.open(parsed.db)
                try:
                    status = run_on(parsed, own, defaults, out=self.stdout, err=self.stderr)
                finally:
                    own.close()
            else:
                status = run_on(parsed, store(), defaults, out=self.stdout, err=self.stderr)
        except PayplanError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if status:
            raise CommandError("some plans failed (named above); the next run retries them", returncode=status)
