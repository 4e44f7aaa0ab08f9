"""What makes the site safe to put on the internet.

* **The owner's login** (:func:`owner_required`): one owner, a password
  hashed with werkzeug's ``generate_password_hash`` (scrypt), checked with
  ``check_password_hash``; the session cookie then carries a stamp of that
  hash, so changing the password logs every session out.
* **Client links** (:class:`Signer`): a client's page is
  ``/b/<token>``, the plan id signed with the site's key (itsdangerous,
  which Flask ships). A guessed or altered token is a 404; plan ids alone
  open nothing.
* **CSRF**: Flask-WTF's ``CSRFProtect`` checks a token on every POST form
  (the webhook endpoint, mounted beside Flask, is signed by the provider instead).
* **Headers and cookies**: a Content-Security-Policy with no inline script,
  no framing, ``nosniff``, ``Referrer-Policy: same-origin`` (client links
  never leave the site in a ``Referer``), ``no-store`` on every page;
  the session cookie ``HttpOnly``, ``SameSite=Lax``, ``Secure`` (with the
  ``__Host-`` prefix) behind HTTPS, holding only the owner stamp and the
  CSRF token; form bodies above ``max_form_bytes`` refused with 413.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, abort, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from .settings import Settings

#: Every page's Content-Security-Policy. Scripts and styles only from the site's own
#: /static files (no inline script, no third-party host); style *attributes* are allowed
#: because the agreement and statement are the very HTML payplan e-mails, where
#: ``style="text-align:right"`` is the only way to align a column. Forms post only to the
#: site (and, with Stripe Checkout, are redirected to Stripe's page: see :func:`csp`).
CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
])


def csp(form_targets: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy, with *form_targets* (origins) allowed as where a form's answer may redirect.

    Browsers check ``form-action`` on every redirect a form post leads to:
    signing the agreement redirects to Stripe Checkout's page, whose origin
    must be listed.
    """
    if not form_targets:
        return CSP
    return CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *form_targets]))


#: How long a booking draft (the agreement page's signed form) stays signable.
DRAFT_MAX_AGE = 24 * 3600

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


def secure(app: Flask, settings: Settings, form_targets: tuple[str, ...] = ()) -> None:
    """Configure *app*'s cookies, CSRF protection, size limit, proxy trust and headers.

    *form_targets* are the other origins a form's answer may redirect to (:func:`csp`).
    """
    policy = csp(form_targets)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="__Host-session" if settings.https else "session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
        MAX_CONTENT_LENGTH=settings.max_form_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_form_bytes,
        # A token lives as long as the session: a client may take their time over the form.
        WTF_CSRF_TIME_LIMIT=None,
    )
    CSRFProtect(app)
    if settings.proxies:
        n = settings.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if settings.https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response


def owner_stamp(settings: Settings) -> str:
    """What a logged-in owner's session holds: a keyed digest of the password hash (no personal data)."""
    digest = hmac.new(settings.secret_key.encode(), settings.owner_password_hash.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def check_login(settings: Settings, name: str, password: str) -> bool:
    """Whether *name* and *password* are the owner's (the hash is checked even for a wrong name)."""
    good_password = check_password_hash(settings.owner_password_hash, password)
    good_name = hmac.compare_digest(name.strip().encode(), settings.owner.encode())
    return good_password and good_name


def log_in(settings: Settings) -> None:
    """Start the owner's session (a new one: nothing from before the login is kept)."""
    session.clear()
    session.permanent = True
    session["owner"] = owner_stamp(settings)


def is_owner(settings: Settings) -> bool:
    """Whether this request comes from the owner's logged-in session."""
    stamp = session.get("owner")
    return isinstance(stamp, str) and hmac.compare_digest(stamp, owner_stamp(settings))


def owner_required(settings: Settings) -> Callable[[View], View]:
    """A view decorator: the owner's session or, for a page, the login; for an action, 403."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if not is_owner(settings):
                if request.method == "GET":
                    return redirect(url_for("login"))
                abort(403)
            return view(*args, **kwargs)

        return cast(View, wrapped)

    return decorate


class Signer:
    """Client links and booking drafts, signed with the site's key.

    A client link is the plan id, signed: the only way to a client's page.
    A draft is the booking form as the client filled it, signed and timed,
    carried in the agreement page (never in a cookie) until it is signed,
    and, with Stripe Checkout, in the link Stripe sends the client back to
    (the same draft is the same link: a double click asks Stripe for the
    same page under the same idempotency key).
    """

    def __init__(self, key: str) -> None:
        self._links = URLSafeSerializer(key, salt="booking-site.client-link")
        self._drafts = URLSafeTimedSerializer(key, salt="booking-site.draft")

    def link(self, plan_id: str) -> str:
        """The token of *plan_id*'s client page."""
        token: str = self._links.dumps(plan_id)
        return token

    def plan_of(self, token: str) -> str | None:
        """The plan id a token was made for, or None for a guessed or altered one."""
        try:
            found = self._links.loads(token)
        except BadSignature:
            return None
        return found if isinstance(found, str) else None

    def draft(self, slug: str, plan_id: str, form: dict[str, str]) -> str:
        """The booking form, signed, for the agreement page."""
        token: str = self._drafts.dumps({"slug": slug, "plan_id": plan_id, "form": form})
        return token

    def read_draft(self, token: str) -> tuple[str, str, dict[str, str]] | None:
        """``(slug, plan_id, form)`` of a draft, or None when it is altered or older than a day."""
        try:
            data = self._drafts.loads(token, max_age=DRAFT_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("form"), dict):
            return None
        return str(data["slug"]), str(data["plan_id"]), {str(k): str(v) for k, v in data["form"].items()}
