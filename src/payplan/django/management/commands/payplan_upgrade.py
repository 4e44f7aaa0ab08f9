"""``manage.py payplan_upgrade``: bring payplan's tables to this payplan's schema (Alembic, own version table)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError

from ....exceptions import PayplanError


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Apply payplan's migrations to the store (PAYPLAN['STORE'], or --db URL): payplan's own tables, "
        "with their own version table (payplan_alembic_version), beside Django's. Safe to run again."
    )
    # the checks report a schema behind the code: the command that fixes it must not be stopped by them
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--db", metavar="URL", help="the store's URL (default: the site's store)")
        parser.add_argument("--revision", default="head", help="the revision to upgrade to (default: head)")

    def handle(self, *args: Any, **options: Any) -> None:
        from ....store.sql import upgrade
        from ... import config
        from ...conf import store_url

        url = options["db"] or store_url(config())
        if url.startswith("memory:"):
            raise CommandError("the in-memory store has no schema to upgrade (PAYPLAN['STORE'] is memory://)")
        try:
            revision = upgrade(url, options["revision"])
        except PayplanError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"payplan's tables are at schema revision {revision}")
