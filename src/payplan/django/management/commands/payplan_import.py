"""``manage.py payplan_import``: a plan saved by ``payplan quote --save`` and its payments, into the site's store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ....cli._common import add_plan_arguments
from ....cli._run import import_into
from ....exceptions import PayplanError


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Add PLAN.json (from `payplan quote --save`) and the payments of PAYMENTS.csv (date,amount[,reference]) "
        "to the site's store (or --db URL). Importing the same files again changes nothing. Imported history "
        "sends no signals."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--db", metavar="URL", help="the store's URL (default: the site's store)")
        add_plan_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        import argparse

        from ....store import Store
        from ... import raw_store

        self.stdout.ending = self.stderr.ending = ""  # the shared code prints whole lines
        parsed = argparse.Namespace(**options)
        try:
            if parsed.db:
                own = Store.open(parsed.db)
                try:
                    import_into(parsed, own, out=self.stdout)
                finally:
                    own.close()
            else:
                import_into(parsed, raw_store(), out=self.stdout)
        except PayplanError as exc:
            raise CommandError(str(exc)) from None
