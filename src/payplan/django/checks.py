"""System checks (``manage.py check``): the ``PAYPLAN`` setting, secrets, extras, the store's schema.

============== ===============================================================
payplan.E001   ``settings.PAYPLAN`` is missing or malformed
payplan.E002   a provider whose extra is not installed (``pip install 'payplan[stripe]'``)
payplan.E003   a provider secret whose environment variable is unset or empty (a warning in DEBUG)
payplan.E004   a provider secret left at a placeholder or default value (a warning in DEBUG)
payplan.W005   the sandbox provider outside DEBUG (it moves no money)
payplan.W006   the store's schema is behind the code: run ``manage.py payplan_upgrade`` (or ``migrate``)
payplan.E007   the store's schema is newer than the code: upgrade payplan
payplan.W008   the store did not answer
payplan.E009   the catalog cannot be read
============== ===============================================================

The schema is a warning, not an error: ``migrate`` runs the checks before
it upgrades payplan's tables, and must not be stopped by what it is about
to fix. ``manage.py check --fail-level WARNING`` makes it fail a deployment.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import importlib.util
from typing import Any

from django.core import checks

from ..exceptions import PayplanError
from .conf import KINDS, PayplanSettings, SettingsError, payplan_settings, store_url

__all__ = ["PLACEHOLDERS", "check_catalog", "check_providers", "check_settings", "check_store_schema", "register"]

#: Pieces of text that mark a secret as a placeholder or a well-known default.
PLACEHOLDERS = ("change-me", "changeme", "change_me", "placeholder", "example", "insecure", "dummy", "xxxx",
                "<your", "whsec_sandbox", "not-a-secret", "secret123")


def _config() -> PayplanSettings | None:
    try:
        return payplan_settings()
    except SettingsError:
        return None


def check_settings(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """payplan.E001: ``settings.PAYPLAN`` is there and payplan can read it."""
    try:
        payplan_settings()
    except SettingsError as exc:
        return [checks.Error(str(exc), hint="See docs/web-django.md for the PAYPLAN setting.", id="payplan.E001")]
    return []


def check_providers(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """payplan.E002 to W005: each provider's extra is installed and its secrets are set and real."""
    from django.conf import settings

    config = _config()
    if config is None:
        return []
    found: list[checks.CheckMessage] = []
    debug = bool(settings.DEBUG)
    for name, entry in config.providers.items():
        if entry.factory is None:
            package, extra = KINDS[entry.kind]
            if importlib.util.find_spec(package) is None:
                found.append(checks.Error(
                    f"PAYPLAN['PROVIDERS'][{name!r}] is a {entry.kind} provider, but {package!r} is not installed",
                    hint=f"pip install '{extra}'", id="payplan.E002",
                ))
            if entry.kind == "sandbox" and not debug:
                found.append(checks.Warning(
                    f"PAYPLAN['PROVIDERS'][{name!r}] is payplan's sandbox outside DEBUG: it moves no money",
                    hint="Configure a real provider (stripe, square, paypal) for production.", id="payplan.W005",
                ))
        values = entry.secret_values()
        for secret, variable in entry.secrets.items():
            value = values[secret]
            level = checks.Warning if debug else checks.Error
            if not value:
                found.append(level(
                    f"PAYPLAN['PROVIDERS'][{name!r}] reads its {secret} from the environment variable "
                    f"{variable}, which is unset or empty",
                    hint=f"Set {variable} in the environment the site runs in.", id="payplan.E003",
                ))
            elif any(mark in value.lower() for mark in PLACEHOLDERS):
                found.append(level(
                    f"PAYPLAN['PROVIDERS'][{name!r}]: {variable} holds a placeholder or default {secret}, not a "
                    "real one",
                    hint=f"Set {variable} to the {secret} from the provider's dashboard.", id="payplan.E004",
                ))
    return found


def check_store_schema(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """payplan.W006 to W008: the store's schema revision against the code's."""
    config = _config()
    if config is None or config.store.startswith("memory:"):
        return []
    try:
        url = store_url(config)
    except SettingsError as exc:
        return [checks.Error(str(exc), id="payplan.E001")]
    try:
        from sqlalchemy import create_engine

        from ..store.sql import head_revision, known_revision, schema_revision
    except ImportError as exc:
        return [checks.Error(f"the SQL store needs SQLAlchemy and Alembic ({exc})", hint="pip install 'payplan[store]'",
                             id="payplan.E002")]
    engine = create_engine(url)
    try:
        current = schema_revision(engine)
    except PayplanError as exc:
        return [checks.Warning(f"payplan's store did not answer: {exc}", id="payplan.W008")]
    finally:
        engine.dispose()
    head = head_revision()
    if current == head:
        return []
    if current is not None and not known_revision(current):
        return [checks.Error(
            f"payplan's store has schema revision {current!r}, newer than this payplan knows ({head!r})",
            hint="Upgrade payplan to the version that wrote it.", id="payplan.E007",
        )]
    return [checks.Warning(
        f"payplan's store is at schema revision {current or 'none (no payplan tables)'}, behind the code's {head!r}",
        hint="Run `manage.py payplan_upgrade` (or `manage.py migrate`, which upgrades payplan's tables too).",
        id="payplan.W006",
    )]


def check_catalog(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """payplan.E009: the catalog, if configured, loads."""
    config = _config()
    if config is None or config.catalog is None:
        return []
    from .._catalog import Catalog

    try:
        Catalog.from_toml(config.catalog)
    except (PayplanError, OSError) as exc:
        return [checks.Error(f"PAYPLAN['CATALOG'] cannot be read: {exc}", id="payplan.E009")]
    return []


def register() -> None:
    """Register the checks under the ``payplan`` tag (the app's ``ready()`` does)."""
    for check in (check_settings, check_providers, check_store_schema, check_catalog):
        checks.register(check, "payplan")
