"""The webhook endpoint: one URL per configured provider, answered by :func:`payplan.web.handle_webhook`."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..web import handle_webhook, read_limited

__all__ = ["webhook"]


def _json(status: int, outcome: str, detail: str) -> HttpResponse:
    body = json.dumps({"outcome": outcome, "events": [], "detail": detail}).encode()
    return HttpResponse(body, status=status, content_type="application/json")


def _webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """``POST <prefix>/webhooks/<provider>``: verify the delivery, keep it in the store's inbox, apply it.

    Exempt from CSRF (a provider cannot send Django's token: the signature
    is the check). The raw body is read through ``request.read`` with
    :func:`payplan.web.read_limited`, so a body over
    ``PAYPLAN["MAX_WEBHOOK_BODY"]`` is refused with 413 before it is read
    whole, and handed untouched to the provider's signature check. The
    answer is :func:`payplan.store.receive_webhook`'s: 200 applied (or a
    duplicate, or an ignored type), 202 deferred, 400 unreadable, 401 forged
    or stale, 413 too large, 422 kept as failed, 503 the store failed;
    404 for a provider that is not configured, 405 for a method other
    than POST.

    .. versionadded:: 0.3.0
    """
    from . import config, providers, store

    found = providers().get(provider)
    if found is None:
        known = ", ".join(sorted(providers()))
        return _json(404, "not_found", f"expected a webhook path for one of {known}, got {provider!r}")
    if request.method != "POST":
        response = _json(405, "method_not_allowed", f"expected POST, got {request.method}")
        response["Allow"] = "POST"
        return response
    limit = config().max_webhook_body
    body = read_limited(request.read, request.META.get("CONTENT_LENGTH"), limit)
    if isinstance(body, tuple):
        status, answer = body
    else:
        status, answer = handle_webhook(store(), found, request.headers, body, max_body=limit)
    return HttpResponse(answer, status=status, content_type="application/json")


webhook: Any = csrf_exempt(_webhook)
webhook.__doc__ = _webhook.__doc__
