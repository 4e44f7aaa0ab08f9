"""The PAYPLAN setting, its translation to a store URL, and the system checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from payplan.django import conf
from payplan.django.checks import check_catalog, check_providers, check_settings, check_store_schema
from payplan.django.conf import SettingsError, database_url, read_settings, store_url

from .conftest import site_settings


def ids(found: list[checks.CheckMessage]) -> list[tuple[str, int]]:
    return [(m.id, m.level) for m in found]


class TestReadSettings:
    def test_a_url_store(self) -> None:
        """A URL store is kept as it is; providers get their kind's default secrets."""
        read = read_settings({"STORE": "sqlite:///x.db", "PROVIDERS": {"stripe": {}}}, databases={"default": {}})
        assert read.store == "sqlite:///x.db"
        assert not read.store_is_database
        assert read.providers["stripe"].secrets == {"api_key": "STRIPE_API_KEY", "webhook_secret": "STRIPE_WEBHOOK_SECRET"}
        assert read.locale == "en_US"
        assert read.notifier == "django"

    def test_a_database_store(self) -> None:
        """A DATABASES name is a store in the site's own database."""
        assert read_settings({"STORE": "default"}, databases={"default": {}}).store_is_database

    @pytest.mark.parametrize(("raw", "says"), [
        ([], "expected settings.PAYPLAN as a dict, got list"),
        ({"STORE": "default", "PROVIDER": {}}, "expected PAYPLAN keys among"),
        ({}, "expected PAYPLAN['STORE'] as a URL"),
        ({"STORE": "replica"}, "to be a URL or one of DATABASES ['default'], got 'replica'"),
        ({"STORE": "default", "PROVIDERS": {"stripe": {"KIND": "venmo"}}}, "['KIND'] among"),
        ({"STORE": "default", "PROVIDERS": {"a/b": {}}}, "names without '/'"),
        ({"STORE": "default", "PROVIDERS": {"stripe": {"SECRETS": {"api_key": ""}}}}, "environment variable name"),
        ({"STORE": "default", "MAX_WEBHOOK_BODY": 0}, "positive number of bytes, got 0"),
        ({"STORE": "default", "SIGNALS_DATABASE": "other"}, "SIGNALS_DATABASE'] to be one of"),
    ])
    def test_bad_settings_say_what_was_expected(self, raw: Any, says: str) -> None:
        """Each malformed value is refused with what was expected and what arrived."""
        with pytest.raises(SettingsError) as caught:
            read_settings(raw, databases={"default": {}})
        assert says in str(caught.value)


class TestStoreUrl:
    def entry(self, settings: Any, alias: str, entry: dict[str, Any]) -> str:
        return database_url(entry, alias)

    def test_postgresql_entry(self, settings: Any) -> None:
        """A PostgreSQL entry becomes a psycopg URL with its credentials and options."""
        url = self.entry(settings, "main", {
            "ENGINE": "django.db.backends.postgresql", "NAME": "site", "USER": "web", "PASSWORD": "p@ss/word",
            "HOST": "db.internal", "PORT": "5433", "OPTIONS": {"sslmode": "require"},
        })
        assert url == "postgresql+psycopg://web:p%40ss%2Fword@db.internal:5433/site?sslmode=require"

    def test_sqlite_entry(self, settings: Any, tmp_path: Path) -> None:
        """An SQLite entry becomes an sqlite:/// URL of the same file."""
        name = str(tmp_path / "site.sqlite3")
        assert self.entry(settings, "lite", {"ENGINE": "django.db.backends.sqlite3", "NAME": name}) == f"sqlite:///{name}"

    def test_memory_sqlite_is_refused(self, settings: Any) -> None:
        """An in-memory SQLite database cannot be shared with the store: the error says so."""
        with pytest.raises(SettingsError, match="in-memory database"):
            self.entry(settings, "mem", {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"})

    def test_the_site_database(self, settings: Any) -> None:
        """STORE names a DATABASES entry: the URL is that connection's (under tests, the test database)."""
        from django.db import connection

        settings.PAYPLAN = site_settings("default")
        assert store_url(conf.payplan_settings()) == f"sqlite:///{connection.settings_dict['NAME']}"

    def test_other_engines_are_refused(self, settings: Any) -> None:
        """MySQL is not a store payplan runs on."""
        with pytest.raises(SettingsError, match="on PostgreSQL or SQLite"):
            self.entry(settings, "my", {"ENGINE": "django.db.backends.mysql", "NAME": "x"})


class TestChecks:
    def test_missing_setting(self, settings: Any) -> None:
        """No PAYPLAN at all is payplan.E001."""
        del settings.PAYPLAN
        assert ids(check_settings()) == [("payplan.E001", checks.ERROR)]

    def test_missing_secrets_outside_debug(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Unset secrets are errors outside DEBUG, warnings in DEBUG."""
        monkeypatch.delenv("STRIPE_API_KEY", raising=False)
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_5f8a9c0d1e2b3a4")
        settings.PAYPLAN = {"STORE": "memory://", "PROVIDERS": {"stripe": {}}}
        settings.DEBUG = False
        found = check_providers()
        assert ids(found) == [("payplan.E003", checks.ERROR)]
        assert "STRIPE_API_KEY" in found[0].msg
        settings.DEBUG = True
        assert ids(check_providers()) == [("payplan.E003", checks.WARNING)]

    def test_default_secrets_outside_debug(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A placeholder secret is payplan.E004, with the variable named."""
        monkeypatch.setenv("STUDIO_STRIPE_KEY", "sk_test_change-me")
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_5f8a9c0d1e2b3a4")
        settings.PAYPLAN = {"STORE": "memory://", "PROVIDERS": {"stripe": {"SECRETS": {"api_key": "STUDIO_STRIPE_KEY"}}}}
        found = check_providers()
        assert ids(found) == [("payplan.E004", checks.ERROR)]
        assert "STUDIO_STRIPE_KEY" in found[0].msg
        assert "sk_test_change-me" not in found[0].msg

    def test_provider_extra_missing(self, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A provider whose SDK is not installed is payplan.E002 with the pip command."""
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "square" else real(name, *a))
        monkeypatch.setenv("SQUARE_ACCESS_TOKEN", "EAAAl5f8a9c0d1e2b3a4")
        monkeypatch.setenv("SQUARE_WEBHOOK_SIGNATURE_KEY", "5f8a9c0d1e2b3a4")
        settings.PAYPLAN = {"STORE": "memory://", "PROVIDERS": {"square": {}}}
        found = check_providers()
        assert ids(found) == [("payplan.E002", checks.ERROR)]
        assert found[0].hint == "pip install 'payplan[square]'"

    def test_schema_behind_then_current(self, settings: Any, tmp_path: Path) -> None:
        """A store without payplan's tables, or at an older revision, is payplan.W006; upgraded, nothing."""
        from payplan.store.sql import upgrade

        url = f"sqlite:///{tmp_path / 'p.db'}"
        settings.PAYPLAN = site_settings(url)
        found = check_store_schema()
        assert ids(found) == [("payplan.W006", checks.WARNING)]
        assert "payplan_upgrade" in found[0].hint
        upgrade(url, "0001")
        assert ids(check_store_schema()) == [("payplan.W006", checks.WARNING)]
        call_command("payplan_upgrade", verbosity=0)
        assert check_store_schema() == []

    def test_schema_newer_than_the_code(self, settings: Any, tmp_path: Path) -> None:
        """A revision this payplan does not know is payplan.E007."""
        import sqlalchemy as sa

        from payplan.store.sql import upgrade

        url = f"sqlite:///{tmp_path / 'p.db'}"
        upgrade(url)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE payplan_alembic_version SET version_num = 'f00dfeed'"))
        engine.dispose()
        settings.PAYPLAN = site_settings(url)
        assert ids(check_store_schema()) == [("payplan.E007", checks.ERROR)]

    def test_bad_catalog(self, settings: Any, tmp_path: Path) -> None:
        """A catalog that does not load is payplan.E009."""
        bad = tmp_path / "catalog.toml"
        bad.write_text("[catalog]\ncurrency = 'USD'\n[[tier]]\nname = 'A'\nfee = 'lots'\n")
        settings.PAYPLAN = site_settings("memory://", CATALOG=bad)
        assert ids(check_catalog()) == [("payplan.E009", checks.ERROR)]

    def test_manage_py_check(self, settings: Any, sqlite_store: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """`manage.py check` fails on payplan's errors and passes once they are fixed."""
        monkeypatch.delenv("STRIPE_API_KEY", raising=False)
        monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
        settings.PAYPLAN = {**settings.PAYPLAN, "PROVIDERS": {"stripe": {}}}
        with pytest.raises(SystemCheckError, match=r"payplan\.E003"):
            call_command("check", tags=["payplan"])
        monkeypatch.setenv("STRIPE_API_KEY", "sk_live_5f8a9c0d1e2b3a4")
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_5f8a9c0d1e2b3a4")
        call_command("check", tags=["payplan"], fail_level="WARNING")
