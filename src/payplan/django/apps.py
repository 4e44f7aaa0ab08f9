"""The app's configuration: ``INSTALLED_APPS = [..., "payplan.django"]``."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig

__all__ = ["PayplanConfig"]


class PayplanConfig(AppConfig):  # type: ignore[misc]
    """payplan in a Django project: checks, signals, and payplan's tables upgraded with ``migrate``.

    Nothing is opened at import time or in :meth:`ready`: the store and the
    providers are made on first use (:func:`payplan.django.store`).

    .. versionadded:: 0.3.0
    """

    name = "payplan.django"
    label = "payplan"
    verbose_name = "Payment plans"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks; forget the store when a test changes the settings; upgrade on migrate."""
        from django.core.signals import setting_changed
        from django.db.models.signals import post_migrate

        from . import checks

        checks.register()
        setting_changed.connect(_settings_changed, dispatch_uid="payplan.django.settings")
        post_migrate.connect(_upgrade_store, sender=self, dispatch_uid="payplan.django.upgrade")


def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting in ("PAYPLAN", "DATABASES"):
        from . import reset

        reset()


def _upgrade_store(*, using: str, verbosity: int = 1, **_: Any) -> None:
    """After ``migrate``: bring payplan's tables to the code's schema, where they live in the migrated database."""
    from .conf import SettingsError, payplan_settings, store_url

    try:
        config = payplan_settings()
    except SettingsError:
        return  # `manage.py check` (payplan.E001) says what is wrong; Django's own migrations go on
    if not config.upgrade_on_migrate:
        return
    if config.store_is_database:
        if config.store != using:
            return
    elif using != "default" or config.store.startswith("memory:"):
        return
    from ..store.sql import upgrade

    revision = upgrade(store_url(config))
    if verbosity >= 1:
        print(f"  payplan's tables are at schema revision {revision}")
