"""``manage.py studio_demo``: the example in one command: migrate, a staff login, the development server."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Migrate (Django's tables and payplan's), make sure the staff user 'owner' exists (password from "
        "STUDIO_OWNER_PASSWORD, or a new one printed here), then serve the site on 127.0.0.1."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", default="8001", help="the port to serve on (default 8001)")
        parser.add_argument("--no-serve", action="store_true", help="set up only")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth import get_user_model

        call_command("migrate", verbosity=0)
        self.stdout.write("Migrated: Django's tables and payplan's (payplan_alembic_version) in one database.")
        password = os.environ.get("STUDIO_OWNER_PASSWORD") or secrets.token_urlsafe(12)
        users = get_user_model()
        owner = users.objects.filter(username="owner").first()
        if owner is None:
            users.objects.create_superuser("owner", "owner@example.com", password)
            self.stdout.write(f"Staff login at /admin/: owner / {password}")
        elif os.environ.get("STUDIO_OWNER_PASSWORD"):
            owner.set_password(password)
            owner.save()
            self.stdout.write("Staff login at /admin/: owner / (STUDIO_OWNER_PASSWORD)")
        else:
            self.stdout.write("Staff login at /admin/: owner (its password was printed when it was made)")
        if not options["no_serve"]:
            call_command("runserver", f"127.0.0.1:{options['port']}", use_reloader=False)
