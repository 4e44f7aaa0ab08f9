"""The studio's pages, written on payplan's booking lifecycle (``payplan.django.bookings()``) and nothing below it.

* ``/``: the catalog and the booking form;
* ``/sign/``: the payment agreement rendered from the plan, signed with the client's name; signing books
  the plan (kept, agreement kept, published to the provider, deposit charged: ``Bookings.book``);
* ``/plan/<signed token>/``: the client's page, reached by the signed link the booking ends on (no account
  needed; the token is the plan id signed with the site's ``SECRET_KEY``, so it cannot be guessed or altered).

Staff use the Django admin (``/admin/``), where payplan's pages show every plan, the webhook inbox and the
provider operations.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

import payplan.django as pp
from payplan import Parties, PaymentPlan, format_money, render_agreement, render_statement
from payplan.exceptions import PayplanError, UnknownPlanError
from payplan.providers import Payer
from payplan.store import SignedAgreement

from .forms import BookingForm
from .models import Client

BOOKING_SALT = "studio.booking"
PLAN_SALT = "studio.plan"
LOCALE = "en_US"


def _money(amount: Any) -> str:
    return format_money(amount, LOCALE)


def _quote(data: dict[str, Any]) -> PaymentPlan:
    """The client's plan from the form's choices (the same plan on the agreement page and at signing)."""
    return pp.catalog()[data["tier"]].quote(
        data["plan_id"], booked=dt.date.fromisoformat(data["booked"]), session=dt.date.fromisoformat(data["session"]),
        installments=data["installments"], timezone=settings.TIME_ZONE, client=data["email"],
    )


def _agreement(plan: PaymentPlan, name: str) -> str:
    return render_agreement(plan, format="txt", locale=LOCALE, parties=Parties(pp.config().business, name))


def _schedule(plan: PaymentPlan) -> list[dict[str, Any]]:
    return [{"number": i.number, "due": i.due, "amount": _money(i.amount)} for i in plan.installments]


def book(request: HttpRequest) -> HttpResponse:
    """The catalog and the booking form; a valid form shows the agreement to sign."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    catalog = pp.catalog()
    tiers = [t.name for t in catalog.tiers]
    form = BookingForm(request.POST or None, tiers=tiers)
    if request.method == "POST" and form.is_valid():
        data = {
            **{k: form.cleaned_data[k] for k in ("tier", "installments", "name", "email", "card")},
            "session": form.cleaned_data["session"].isoformat(),
            "booked": timezone.localdate().isoformat(),
            "plan_id": f"studio-{secrets.token_hex(5)}",
        }
        try:
            plan = _quote(data)
        except PayplanError as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "studio/agreement.html", {
                "plan": plan, "schedule": _schedule(plan), "total": _money(plan.total), "name": data["name"],
                "agreement": _agreement(plan, data["name"]), "booking": signing.dumps(data, salt=BOOKING_SALT),
            })
    return render(request, "studio/book.html", {
        "form": form,
        "tiers": [{"name": t.name, "fee": _money(t.fee) if t.fee else "", "description": t.description}
                  for t in catalog.tiers],
    })


def sign(request: HttpRequest) -> HttpResponse:
    """Sign the agreement and book: the plan, the signature, the provider, the deposit."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        data = signing.loads(request.POST.get("booking", ""), salt=BOOKING_SALT, max_age=3600)
    except signing.BadSignature:
        return render(request, "studio/error.html", {"message": "This booking form expired; please book again."},
                      status=400)
    plan = _quote(data)
    link = reverse("studio:plan", args=[signing.dumps(plan.id, salt=PLAN_SALT)])
    if Client.objects.filter(plan_id=plan.id).exists():
        return HttpResponseRedirect(link)  # signed twice (a double click): booked once
    if request.POST.get("agree") != "yes" or request.POST.get("signature", "").strip() != data["name"]:
        return render(request, "studio/agreement.html", {
            "plan": plan, "schedule": _schedule(plan), "total": _money(plan.total), "name": data["name"],
            "agreement": _agreement(plan, data["name"]), "booking": request.POST["booking"],
            "error": f"To sign, tick the box and type your name exactly as {data['name']!r}.",
        }, status=400)
    signed = SignedAgreement(plan.id, plan.version, _agreement(plan, data["name"]), data["name"], timezone.now())
    Client.objects.create(plan_id=plan.id, name=data["name"], email=data["email"], tier=data["tier"],
                          session=dt.date.fromisoformat(data["session"]))
    pp.bookings().book(
        plan, Payer(payment_method_id=data["card"], email=data["email"]), provider="sandbox",
        on=timezone.localdate(), agreement=signed,
    )
    return HttpResponseRedirect(link)


def client_page(request: HttpRequest, token: str) -> HttpResponse:
    """The client's page by signed link: the schedule with what is paid and owed, the ledger, the statement."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    try:
        plan_id = signing.loads(token, salt=PLAN_SALT)
        booking = pp.bookings().booking(plan_id)
    except (signing.BadSignature, UnknownPlanError):
        raise Http404("no such booking") from None
    today = timezone.localdate()
    status = booking.status(today)
    client = Client.objects.filter(plan_id=plan_id).first()
    name = client.name if client else ""
    return render(request, "studio/plan.html", {
        "plan": booking.plan,
        "name": name,
        "status": status.status.value.replace("_", " "),
        "paid": _money(booking.ledger.net_paid),
        "balance": _money(status.balance),
        "rows": [{
            "number": s.number, "due": s.installment.due, "amount": _money(s.installment.amount),
            "paid": _money(s.paid), "state": s.status.value.replace("_", " "),
        } for s in status.installments],
        "entries": [{"on": e.on, "kind": e.kind.replace("_", " "), "amount": _money(e.amount) if hasattr(e, "amount")
                     and e.amount is not None else "", "reason": getattr(e, "reason", "")} for e in booking.ledger],
        "agreements": booking.agreements,
        "statement": render_statement(booking.plan, booking.ledger, today, format="txt", locale=LOCALE,
                                      parties=Parties(pp.config().business, name)),
    })
