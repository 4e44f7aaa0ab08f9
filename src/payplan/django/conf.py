"""The ``PAYPLAN`` setting: one dict in the site's ``settings.py``, read and checked here.

.. code-block:: python

    PAYPLAN = {
        # a URL, or the name of a DATABASES entry (payplan's tables in the site's own database)
        "STORE": "default",
        # providers by name; their secrets are read from the environment variables named here
        "PROVIDERS": {
            "stripe": {"SECRETS": {"api_key": "STRIPE_API_KEY", "webhook_secret": "STRIPE_WEBHOOK_SECRET"}},
        },
        "NOTIFIER": "django",            # Django's e-mail backend (the default); None: no messages
        "CATALOG": BASE_DIR / "catalog.toml",
        "CONTACTS": "bookings.payplan.contact_for",   # plan -> payplan.notify.Contact | None
    }

Nothing is read at import time: :func:`payplan_settings` reads
``settings.PAYPLAN`` when it is first needed, and again after a test
changes it (Django's ``setting_changed`` signal, see :mod:`payplan.django`).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from attrs import field, frozen

from ..exceptions import PayplanError

__all__ = [
    "DEFAULT_SECRETS",
    "KINDS",
    "PayplanSettings",
    "ProviderSettings",
    "SettingsError",
    "database_url",
    "import_string",
    "payplan_settings",
    "store_url",
]

#: The provider kinds payplan builds itself, with the package each needs (its extra).
KINDS: Mapping[str, tuple[str, str]] = {
    "stripe": ("stripe", "payplan[stripe]"),
    "square": ("square", "payplan[square]"),
    "paypal": ("paypalserversdk", "payplan[paypal]"),
    "sandbox": ("payplan", "payplan"),
}

#: The secrets each kind needs, and the environment variables they are read from unless
#: ``SECRETS`` names others.
DEFAULT_SECRETS: Mapping[str, Mapping[str, str]] = {
    "stripe": {"api_key": "STRIPE_API_KEY", "webhook_secret": "STRIPE_WEBHOOK_SECRET"},
    "square": {"access_token": "SQUARE_ACCESS_TOKEN", "signature_key": "SQUARE_WEBHOOK_SIGNATURE_KEY"},
    "paypal": {"client_id": "PAYPAL_CLIENT_ID", "client_secret": "PAYPAL_CLIENT_SECRET"},
    "sandbox": {},
}

_KEYS = frozenset({
    "STORE", "PROVIDERS", "NOTIFIER", "EMAIL", "CATALOG", "CONTACTS", "LOCALE", "MAX_WEBHOOK_BODY",
    "SIGNALS_DATABASE", "UPGRADE_ON_MIGRATE", "BUSINESS",
})
_PROVIDER_KEYS = frozenset({"KIND", "FACTORY", "SECRETS", "OPTIONS"})


class SettingsError(PayplanError):
    """The ``PAYPLAN`` setting is not what payplan expects (the message names the key).

    .. versionadded:: 0.3.0
    """


@frozen
class ProviderSettings:
    """One entry of ``PAYPLAN["PROVIDERS"]``.

    Attributes:
        name: The provider's name: its webhook URL (``webhooks/<name>``) and
            the name its bindings carry.
        kind: ``stripe``, ``square``, ``paypal`` or ``sandbox`` (default: the
            name); ignored with *factory*.
        factory: The dotted path of a function ``(secrets, options) -> Provider``
            for a provider payplan does not build itself.
        secrets: Secret name to the environment variable it is read from.
        options: Other keyword options for the provider (not secret).

    .. versionadded:: 0.3.0
    """

    name: str
    kind: str
    factory: str | None = None
    secrets: Mapping[str, str] = field(factory=dict)
    options: Mapping[str, Any] = field(factory=dict)

    def secret_values(self) -> dict[str, str]:
        """Each secret's value from the environment (``""`` when unset)."""
        return {key: os.environ.get(var, "") for key, var in self.secrets.items()}


@frozen
class PayplanSettings:
    """``settings.PAYPLAN``, checked.

    Attributes:
        store: The store's URL, or the name of a ``DATABASES`` entry.
        providers: The providers by name.
        notifier: ``"django"`` (Django's e-mail backend), None (no messages),
            or the dotted path of a function returning a
            :class:`~payplan.notify.Notifier`.
        email: ``FROM`` (default ``DEFAULT_FROM_EMAIL``) and ``DOMAIN`` (of
            the ``Message-ID``) of the e-mails.
        catalog: The catalog's TOML file (or TOML text), if the site has one.
        contacts: The dotted path of a function ``plan -> Contact | None``.
        locale: The Babel locale money is shown in (default: from ``LANGUAGE_CODE``).
        max_webhook_body: The largest webhook body accepted, in bytes.
        signals_database: The ``DATABASES`` entry whose transactions the
            signals wait for, and where the record of signals sent lives.
        upgrade_on_migrate: Whether ``manage.py migrate`` also brings payplan's
            tables to the code's schema.
        business: The business's name on statements and agreements.

    .. versionadded:: 0.3.0
    """

    store: str
    providers: Mapping[str, ProviderSettings]
    notifier: str | None
    email: Mapping[str, str]
    catalog: str | Path | None
    contacts: str | None
    locale: str
    max_webhook_body: int
    signals_database: str
    upgrade_on_migrate: bool
    business: str

    @property
    def store_is_database(self) -> bool:
        """Whether :attr:`store` names a ``DATABASES`` entry rather than a URL."""
        return not _is_url(self.store)


def _is_url(text: str) -> bool:
    return "://" in text or text.startswith("memory:")


def _provider(name: object, raw: object) -> ProviderSettings:
    if not isinstance(name, str) or not name or "/" in name:
        raise SettingsError(f"expected PAYPLAN['PROVIDERS'] names without '/', got {name!r}")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise SettingsError(f"expected PAYPLAN['PROVIDERS'][{name!r}] as a dict, got {type(raw).__name__}")
    unknown = set(raw) - _PROVIDER_KEYS
    if unknown:
        raise SettingsError(
            f"expected PAYPLAN['PROVIDERS'][{name!r}] keys among {sorted(_PROVIDER_KEYS)}, got {sorted(unknown)}"
        )
    factory = raw.get("FACTORY")
    kind = raw.get("KIND", name)
    if factory is None and kind not in KINDS:
        raise SettingsError(
            f"expected PAYPLAN['PROVIDERS'][{name!r}]['KIND'] among {sorted(KINDS)} (or a FACTORY), got {kind!r}"
        )
    if factory is not None and not isinstance(factory, str):
        raise SettingsError(f"expected PAYPLAN['PROVIDERS'][{name!r}]['FACTORY'] as a dotted path, got {factory!r}")
    secrets = dict(DEFAULT_SECRETS.get(kind, {})) if factory is None else {}
    given = raw.get("SECRETS", {})
    if not isinstance(given, Mapping) or not all(isinstance(v, str) and v for v in given.values()):
        raise SettingsError(
            f"expected PAYPLAN['PROVIDERS'][{name!r}]['SECRETS'] as secret name -> environment variable name, "
            f"got {given!r}"
        )
    secrets.update(given)
    options = raw.get("OPTIONS", {})
    if not isinstance(options, Mapping):
        raise SettingsError(f"expected PAYPLAN['PROVIDERS'][{name!r}]['OPTIONS'] as a dict, got {options!r}")
    return ProviderSettings(name, str(kind), factory, secrets, dict(options))


def read_settings(
    raw: object, *, language_code: str = "en-us", databases: Mapping[str, Any] | None = None
) -> PayplanSettings:
    """Check a ``PAYPLAN`` dict and return it as :class:`PayplanSettings`.

    Raises:
        SettingsError: a key payplan does not know, or a value of the wrong
            shape; the message names the key, what was expected and what
            arrived.
    """
    databases = databases or {}
    if not isinstance(raw, Mapping):
        raise SettingsError(f"expected settings.PAYPLAN as a dict, got {type(raw).__name__}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise SettingsError(f"expected PAYPLAN keys among {sorted(_KEYS)}, got {sorted(unknown)}")
    store = raw.get("STORE")
    if not isinstance(store, str) or not store:
        raise SettingsError(
            f"expected PAYPLAN['STORE'] as a URL ('sqlite:///payplan.db') or a DATABASES name ('default'), got {store!r}"
        )
    if not _is_url(store) and store not in databases:
        raise SettingsError(
            f"expected PAYPLAN['STORE'] to be a URL or one of DATABASES {sorted(databases)}, got {store!r}"
        )
    providers_raw = raw.get("PROVIDERS", {})
    if not isinstance(providers_raw, Mapping):
        raise SettingsError(f"expected PAYPLAN['PROVIDERS'] as a dict of name -> options, got {providers_raw!r}")
    providers = {str(name): _provider(name, value) for name, value in providers_raw.items()}
    notifier = raw.get("NOTIFIER", "django")
    if notifier is not None and not isinstance(notifier, str):
        raise SettingsError(f"expected PAYPLAN['NOTIFIER'] as 'django', None or a dotted path, got {notifier!r}")
    email = raw.get("EMAIL", {})
    if not isinstance(email, Mapping) or set(email) - {"FROM", "DOMAIN"}:
        raise SettingsError(f"expected PAYPLAN['EMAIL'] as a dict with FROM and/or DOMAIN, got {email!r}")
    catalog = raw.get("CATALOG")
    if catalog is not None and not isinstance(catalog, str | Path):
        raise SettingsError(f"expected PAYPLAN['CATALOG'] as a path or TOML text, got {type(catalog).__name__}")
    contacts = raw.get("CONTACTS")
    if contacts is not None and not isinstance(contacts, str):
        raise SettingsError(f"expected PAYPLAN['CONTACTS'] as a dotted path, got {contacts!r}")
    locale = raw.get("LOCALE") or _to_locale(language_code)
    if not isinstance(locale, str):
        raise SettingsError(f"expected PAYPLAN['LOCALE'] as a locale such as 'en_US', got {locale!r}")
    max_body = raw.get("MAX_WEBHOOK_BODY", 512 * 1024)
    if not isinstance(max_body, int) or isinstance(max_body, bool) or max_body < 1:
        raise SettingsError(f"expected PAYPLAN['MAX_WEBHOOK_BODY'] as a positive number of bytes, got {max_body!r}")
    signals_db = raw.get("SIGNALS_DATABASE", "default")
    if not isinstance(signals_db, str) or (databases and signals_db not in databases):
        raise SettingsError(
            f"expected PAYPLAN['SIGNALS_DATABASE'] to be one of DATABASES {sorted(databases)}, got {signals_db!r}"
        )
    upgrade = raw.get("UPGRADE_ON_MIGRATE", True)
    if not isinstance(upgrade, bool):
        raise SettingsError(f"expected PAYPLAN['UPGRADE_ON_MIGRATE'] as True or False, got {upgrade!r}")
    business = raw.get("BUSINESS", "")
    if not isinstance(business, str):
        raise SettingsError(f"expected PAYPLAN['BUSINESS'] as text, got {business!r}")
    return PayplanSettings(
        store, providers, notifier, {str(k): str(v) for k, v in email.items()}, catalog, contacts,
        locale, max_body, signals_db, upgrade, business,
    )


def _to_locale(language_code: str) -> str:
    # Django's own translation.to_locale, without importing Django here: "en-us" -> "en_US".
    lang, _, country = language_code.partition("-")
    return f"{lang.lower()}_{country.upper()}" if country else lang.lower()


def payplan_settings() -> PayplanSettings:
    """``settings.PAYPLAN`` of the running Django project, checked.

    Raises:
        SettingsError: no ``PAYPLAN`` setting, or one payplan cannot use.
    """
    from django.conf import settings

    raw = getattr(settings, "PAYPLAN", None)
    if raw is None:
        raise SettingsError("expected a PAYPLAN dict in the Django settings (see docs/web-django.md), got none")
    return read_settings(raw, language_code=settings.LANGUAGE_CODE, databases=settings.DATABASES)


def store_url(config: PayplanSettings) -> str:
    """The store's URL: :attr:`PayplanSettings.store` itself, or its ``DATABASES`` entry translated.

    A PostgreSQL entry becomes ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME``
    (its string ``OPTIONS`` as query parameters); an SQLite entry becomes
    ``sqlite:///NAME``. The connection's current settings are read, so under
    Django's test runner this is the test database.

    Raises:
        SettingsError: an entry of another engine, or an in-memory SQLite database.
    """
    if not config.store_is_database:
        return config.store
    from django.db import connections

    return database_url(connections[config.store].settings_dict, config.store)


def database_url(entry: Mapping[str, Any], alias: str = "default") -> str:
    """The store URL of one ``DATABASES`` entry (*alias* names it in errors); see :func:`store_url`.

    Raises:
        SettingsError: an entry of another engine, or an in-memory SQLite database.
    """
    from sqlalchemy.engine import URL

    engine = str(entry.get("ENGINE", ""))
    name = str(entry.get("NAME") or "")
    if engine.endswith(("postgresql", "postgis")):
        options = {k: str(v) for k, v in (entry.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
        url = URL.create(
            "postgresql+psycopg",
            username=entry.get("USER") or None,
            password=entry.get("PASSWORD") or None,
            host=entry.get("HOST") or None,
            port=int(entry["PORT"]) if entry.get("PORT") else None,
            database=name or None,
            query=options,
        )
        return url.render_as_string(hide_password=False)
    if engine.endswith("sqlite3"):
        if not name or name == ":memory:" or "mode=memory" in name:
            raise SettingsError(
                f"expected DATABASES[{alias!r}] to be an SQLite file payplan can open too, got an in-memory "
                f"database {name!r} (set its NAME, and TEST['NAME'] for tests, to a file)"
            )
        return f"sqlite:///{name}"
    raise SettingsError(
        f"expected DATABASES[{alias!r}] on PostgreSQL or SQLite for payplan's store, got ENGINE {engine!r}"
    )


def import_string(path: str, what: str) -> Callable[..., Any]:
    """The callable at dotted *path* (``package.module.name``).

    Raises:
        SettingsError: the module or the name cannot be found; the message names *what*.
    """
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name) if module else None
    except (ImportError, AttributeError) as exc:
        raise SettingsError(f"expected {what} {path!r} to name a function, got {type(exc).__name__}: {exc}") from None
    if not callable(found):
        raise SettingsError(f"expected {what} {path!r} to name a function, got {found!r}")
    return found  # type: ignore[no-any-return]
