"""payplan in a Django project: settings, checks, webhook URLs, commands, the admin, signals.

Install with the ``django`` extra (``pip install 'payplan[django]'``, Django
4.2 and 5.x), then::

    INSTALLED_APPS = [..., "django.contrib.admin", "payplan.django"]
    PAYPLAN = {"STORE": "default", "PROVIDERS": {"stripe": {}}, "CATALOG": BASE_DIR / "catalog.toml"}
    # urls.py
    urlpatterns = [..., path("payplan/", include("payplan.django.urls"))]

The site's code reaches payplan through the functions below: one store,
one set of providers, one notifier and one booking lifecycle per process,
made on first use from ``settings.PAYPLAN`` (thread-safe: every request
thread shares them), and forgotten by :func:`reset` (Django's
``setting_changed`` signal calls it when a test overrides ``PAYPLAN``).
See docs/web-django.md.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._catalog import Catalog
    from .._plan import PaymentPlan
    from ..bookings import Bookings
    from ..notify import Contact, Notifier
    from ..providers import Provider
    from ..store import Store
    from ._dispatch import SignalingStore
    from .conf import PayplanSettings

__all__ = [
    "bookings",
    "catalog",
    "config",
    "contacts",
    "notifier",
    "provider",
    "providers",
    "raw_store",
    "reset",
    "store",
]

_lock = threading.RLock()
_made: dict[str, Any] = {}


def _once(name: str, make: Callable[[], Any]) -> Any:
    found = _made.get(name)
    if found is None:
        with _lock:
            found = _made.get(name)
            if found is None:
                found = _made[name] = make()
    return found


def config() -> PayplanSettings:
    """``settings.PAYPLAN``, checked (:class:`payplan.django.conf.PayplanSettings`)."""
    from .conf import payplan_settings

    return _once("config", payplan_settings)  # type: ignore[no-any-return]


def store() -> SignalingStore:
    """The site's store, opened on first use; it sends :mod:`payplan.django.signals` for what it records.

    The URL is ``PAYPLAN["STORE"]``, or its ``DATABASES`` entry translated
    (:func:`payplan.django.conf.store_url`). The schema must be at the
    code's revision (``manage.py payplan_upgrade``, or ``migrate``).
    """

    def make() -> SignalingStore:
        from ..store import Store
        from ._dispatch import SignalingStore
        from .conf import store_url

        settings = config()
        return SignalingStore(Store.open(store_url(settings)), database=settings.signals_database)

    return _once("store", make)  # type: ignore[no-any-return]


def raw_store() -> Store:
    """The store itself, without signals (what ``payplan_import`` loads history into)."""
    return store().inner


def providers() -> Mapping[str, Provider]:
    """The configured providers by name, built on first use (secrets read from the environment then)."""

    def make() -> Mapping[str, Provider]:
        from types import MappingProxyType

        from ._providers import build_provider

        return MappingProxyType({name: build_provider(p) for name, p in config().providers.items()})

    return _once("providers", make)  # type: ignore[no-any-return]


def provider(name: str) -> Provider:
    """The provider configured under *name*.

    Raises:
        SettingsError: no provider of that name in ``PAYPLAN["PROVIDERS"]``.
    """
    from .conf import SettingsError

    found = providers().get(name)
    if found is None:
        raise SettingsError(f"expected a provider among PAYPLAN['PROVIDERS'] {sorted(providers())}, got {name!r}")
    return found


def notifier() -> Notifier | None:
    """The notifier: Django's e-mail backend (``"django"``, the default), the site's own, or None."""

    def make() -> Any:
        from .conf import import_string

        settings = config()
        if settings.notifier is None:
            return _NONE
        if settings.notifier == "django":
            from .notify import DjangoEmailNotifier

            return DjangoEmailNotifier(
                settings.email.get("FROM"), domain=settings.email.get("DOMAIN", "payplan.invalid")
            )
        return import_string(settings.notifier, "PAYPLAN['NOTIFIER']")()

    made = _once("notifier", make)
    return None if made is _NONE else made


def contacts() -> Callable[[PaymentPlan], Contact | None] | None:
    """``PAYPLAN["CONTACTS"]``: the site's function from a plan to its client's contact, if set."""

    def make() -> Any:
        from .conf import import_string

        path = config().contacts
        return _NONE if path is None else import_string(path, "PAYPLAN['CONTACTS']")

    made = _once("contacts", make)
    return None if made is _NONE else made


def catalog() -> Catalog:
    """``PAYPLAN["CATALOG"]``, loaded once.

    Raises:
        SettingsError: no catalog configured.
    """

    def make() -> Catalog:
        from .._catalog import Catalog
        from .conf import SettingsError

        source = config().catalog
        if source is None:
            raise SettingsError("expected PAYPLAN['CATALOG'] (a TOML file), got none")
        return Catalog.from_toml(source)

    return _once("catalog", make)  # type: ignore[no-any-return]


def bookings() -> Bookings:
    """The booking lifecycle (:class:`payplan.bookings.Bookings`) over the store, providers, notifier and contacts.

    One per process, shared by every request thread: each of its steps is
    reserved in the store before it acts, so two requests for the same
    booking do the work once. Every entry it records goes through
    :func:`store`, so the signals follow.
    """

    def make() -> Bookings:
        from ..bookings import Bookings

        return Bookings(store(), providers(), notifier=notifier(), contacts=contacts())

    return _once("bookings", make)  # type: ignore[no-any-return]


def reset() -> None:
    """Close the store and forget everything made from the settings (they are read again on next use)."""
    with _lock:
        made = dict(_made)
        _made.clear()
    found = made.get("store")
    if found is not None:
        found.close()


_NONE = object()
