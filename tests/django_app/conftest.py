"""pytest-django for payplan.django's tests only: Django is configured here, not for the whole suite.

The settings module (``django_app.settings``) is chosen when this directory
is collected; the rest of the suite never asks pytest-django for a database.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# (tests/conftest.py leaves this directory out where Django, pytest-django or SQLAlchemy is missing)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.settings")

import django

django.setup()

TODAY = dt.date(2026, 12, 1)
POSTGRES = bool(os.environ.get("PAYPLAN_TEST_POSTGRES_URL"))
#: The databases a test on the ``site`` fixture touches (Django's, and PostgreSQL's when there is one).
DATABASES = ["default", "pg"] if POSTGRES else ["default"]


def site_settings(store: str, **extra: Any) -> dict[str, Any]:
    """A PAYPLAN dict on *store* with the sandbox provider on :data:`TODAY`."""
    return {
        "STORE": store,
        "PROVIDERS": {"sandbox": {"OPTIONS": {"today": TODAY.isoformat()}}},
        "EMAIL": {"DOMAIN": "studio.example.test"},
        **extra,
    }


@pytest.fixture
def sqlite_store(settings: Any, tmp_path: Path) -> Iterator[str]:
    """PAYPLAN on a fresh SQLite store of its own (upgraded); yields its URL."""
    from payplan.store.sql import upgrade

    url = f"sqlite:///{tmp_path / 'payplan.db'}"
    upgrade(url)
    settings.PAYPLAN = site_settings(url)
    return url


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[str]:
    """PAYPLAN on SQLite (a store file of its own), then on PostgreSQL (payplan's tables in the site's
    ``pg`` database, the DATABASES entry translated); yields a plan-id prefix unique to the test."""
    if request.param == "postgres":
        if not POSTGRES:
            pytest.skip("PAYPLAN_TEST_POSTGRES_URL is not set (make pytest starts a throwaway server)")
        request.getfixturevalue("_pg_database")
        settings.PAYPLAN = site_settings("pg")
        from django.core.management import call_command

        call_command("payplan_upgrade", verbosity=0)  # payplan's tables beside Django's, in the test database
        _empty(store_url_now())
    else:
        request.getfixturevalue("sqlite_store")
    return f"t{uuid.uuid4().hex[:8]}"


def store_url_now() -> str:
    from payplan.django import config
    from payplan.django.conf import store_url

    return store_url(config())


def _empty(url: str) -> None:
    """Delete every row of payplan's tables (the test database outlives one test; the sandbox's ids restart)."""
    import sqlalchemy as sa

    from payplan.store.sql import metadata

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def _pg_database(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The ``pg`` test database (created by pytest-django, payplan's tables by ``migrate``)."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def book(site: str) -> Callable[..., Any]:
    """``book(name)``: a Session Pack A plan added and published to the sandbox; returns the plan."""
    from payplan import REFERENCE_CATALOG_TOML, Catalog
    from payplan.django import provider, store
    from payplan.providers import Payer

    catalog = Catalog.from_toml(REFERENCE_CATALOG_TOML)

    def make(name: str = "a", tier: str = "Session Pack A") -> Any:
        plan = catalog[tier].quote(f"{site}-{name}", booked=TODAY, session=dt.date(2027, 4, 15))
        store().add_plan(plan)
        binding = provider("sandbox").publish(plan, Payer(payment_method_id="pm_card_visa"))
        store().save_binding(binding)
        return plan

    return make
