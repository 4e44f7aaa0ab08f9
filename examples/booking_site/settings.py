"""What the site is configured with, read from the environment, and refused when unsafe.

A deployed site takes every secret from its environment (``Settings.from_env``)
and refuses to start with a missing, short or well-known one. Demo mode
(``make site``, the tests) makes its own random secrets at each start, prints
the owner's demo password, and is the only mode with a demo clock.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from werkzeug.security import generate_password_hash

HERE = Path(__file__).resolve().parent

#: Secrets that are in public source code (payplan's sandbox, this example's past
#: versions, the usual placeholders): a site started with one of them is refused.
KNOWN_SECRETS = frozenset({
    "whsec_sandbox", "whsec_booking_site", "test", "dev", "secret", "changeme", "change-me", "password",
})
#: The shortest session key accepted outside demo mode (characters).
MIN_KEY_LENGTH = 32
PROVIDERS = ("sandbox", "stripe")
#: The environment variables :meth:`Settings.from_env` reads.
ENV = {
    "database": "BOOKING_SITE_DATABASE",
    "secret_key": "BOOKING_SITE_SECRET_KEY",
    "webhook_secret": "BOOKING_SITE_WEBHOOK_SECRET",
    "owner": "BOOKING_SITE_OWNER",
    "owner_password_hash": "BOOKING_SITE_OWNER_PASSWORD_HASH",
    "provider": "BOOKING_SITE_PROVIDER",
    "stripe_api_key": "STRIPE_API_KEY",
    "stripe_api_base": "STRIPE_API_BASE",
    "proxies": "BOOKING_SITE_PROXIES",
    "business": "BOOKING_SITE_BUSINESS",
    "timezone": "BOOKING_SITE_TIMEZONE",
    "smtp_host": "BOOKING_SITE_SMTP_HOST",
    "smtp_port": "BOOKING_SITE_SMTP_PORT",
    "smtp_user": "BOOKING_SITE_SMTP_USER",
    "smtp_password": "BOOKING_SITE_SMTP_PASSWORD",
    "mail_from": "BOOKING_SITE_MAIL_FROM",
}
_INTS = ("proxies", "smtp_port")


class UnsafeSettingsError(ValueError):
    """The site was asked to start outside demo mode with a secret missing, short or well known."""


@dataclass(frozen=True)
class Settings:
    """What the site is configured with.

    Attributes:
        database: The store's URL (SQLite by default; PostgreSQL in production).
        catalog: The TOML catalog of tiers.
        business: The business's name on agreements and pages.
        locale: The Babel locale money and dates are formatted for.
        timezone: The IANA time zone of the plans, "today" and the signature times.
        demo: Demo mode: a demo clock the owner advances (starting on
            *today*), the sandbox or a local Stripe fake, secrets made at
            start. Never on the internet.
        today: The demo clock's first day (demo mode only; a deployed site's
            "today" is the date in *timezone*).
        provider: ``"sandbox"`` (payplan's in-memory sandbox, demo mode only)
            or ``"stripe"``: in demo mode Stripe's local fake with its clock
            (``payplan.testing.stripe``), otherwise Stripe itself with
            *stripe_api_key*.
        secret_key: Signs the session cookie, the client links and the
            booking drafts (32 characters or more, random).
        webhook_secret: The provider's webhook signing secret.
        owner: The owner's login name.
        owner_password_hash: The owner's password, hashed
            (``werkzeug.security.generate_password_hash``).
        https: The site is served over HTTPS: cookies are ``Secure`` and
            browsers are told to keep to HTTPS (HSTS).
        proxies: How many reverse proxies (the TLS terminator) sit in front
            of the site: their ``X-Forwarded-*`` headers are trusted, no others.
        stripe_api_key: Stripe's secret key (provider ``"stripe"`` outside demo mode).
        stripe_api_base: Where the Stripe SDK sends its requests: empty for
            Stripe itself; a local stand-in (payplan's ``FakeStripe``, which
            also serves Checkout's page) in tests. Outside demo mode only
            HTTPS, or plain HTTP on 127.0.0.1.
        smtp_host: The mail server reminders and notices go through
            (STARTTLS, logged in as *smtp_user* when set); demo mode keeps
            them in memory and shows them on the client's page.
        smtp_port: Its port.
        smtp_user: The mail server login, if it needs one.
        smtp_password: Its password.
        mail_from: The ``From`` address of reminders and notices.
        max_form_bytes: The largest form body accepted (413 above it).
    """

    database: str = "sqlite:///booking_site.db"
    catalog: Path = HERE / "catalog.toml"
    business: str = "Lumen Photo Studio"
    locale: str = "en_US"
    timezone: str = "America/New_York"
    demo: bool = False
    today: dt.date | None = None
    provider: str = "stripe"
    secret_key: str = ""
    webhook_secret: str = ""
    owner: str = "owner"
    owner_password_hash: str = field(default="", repr=False)
    https: bool = True
    proxies: int = 0
    stripe_api_key: str = field(default="", repr=False)
    stripe_api_base: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    mail_from: str = ""
    max_form_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The deployed site's settings, from ``BOOKING_SITE_*`` variables (and ``STRIPE_API_KEY``)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, variable in ENV.items():
            if variable in env:
                values[name] = int(env[variable]) if name in _INTS else env[variable]
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def for_demo(cls, password: str, *, today: dt.date, **changes: object) -> Settings:
        """Demo mode: random secrets made now, the owner's *password* hashed, plain HTTP on 127.0.0.1."""
        settings = cls(
            demo=True, today=today, provider="sandbox", https=False,
            secret_key=secrets.token_urlsafe(32), webhook_secret="whsec_" + secrets.token_urlsafe(24),
            owner_password_hash=generate_password_hash(password),
        )
        return replace(settings, **changes)  # type: ignore[arg-type]

    def problems(self) -> list[str]:
        """What stops these settings from starting the site (empty when it may start)."""
        found = []
        if self.provider not in PROVIDERS:
            found.append(f"provider: expected one of {', '.join(PROVIDERS)}, got {self.provider!r}")
        if self.demo:
            if self.today is None:
                found.append("today: demo mode needs the demo clock's first day")
            return found
        key = ENV["secret_key"]
        if not self.secret_key:
            found.append(f"{key} is missing: set it to {MIN_KEY_LENGTH} or more random characters "
                         "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        elif self.secret_key in KNOWN_SECRETS or len(self.secret_key) < MIN_KEY_LENGTH:
            found.append(f"{key} is a well-known or short value ({len(self.secret_key)} characters): "
                         f"expected {MIN_KEY_LENGTH} or more random characters")
        hook = ENV["webhook_secret"]
        if not self.webhook_secret:
            found.append(f"{hook} is missing: set it to the signing secret of your provider's webhook endpoint")
        elif self.webhook_secret in KNOWN_SECRETS:
            found.append(f"{hook} is a default from public source code ({self.webhook_secret!r}): "
                         "use your provider's signing secret for this endpoint")
        if not self.owner_password_hash:
            found.append(f"{ENV['owner_password_hash']} is missing: set it to the output of "
                         "python -c 'from werkzeug.security import generate_password_hash as h; print(h(input()))'")
        if self.provider == "sandbox":
            found.append("provider 'sandbox' is for demo mode only: set BOOKING_SITE_PROVIDER=stripe")
        elif self.provider == "stripe" and not self.stripe_api_key:
            found.append(f"{ENV['stripe_api_key']} is missing: provider 'stripe' needs your Stripe secret key")
        if self.stripe_api_base and not self.stripe_api_base.startswith(("https://", "http://127.0.0.1:")):
            found.append(f"{ENV['stripe_api_base']} must be an https:// address (or http://127.0.0.1:<port> for a "
                         f"local stand-in), got {self.stripe_api_base!r}")
        if not self.smtp_host or not self.mail_from:
            found.append(f"{ENV['smtp_host']} and {ENV['mail_from']} are needed: reminders and notices go by e-mail")
        if self.today is not None:
            found.append("today: the demo clock exists only in demo mode")
        return found

    def check(self) -> None:
        """Raise :class:`UnsafeSettingsError` naming every problem in :meth:`problems`."""
        found = self.problems()
        if found:
            raise UnsafeSettingsError("the booking site refuses to start:\n  - " + "\n  - ".join(found))
