"""The Django admin over payplan's store, read-only: plans, a plan's ledger, the webhook inbox, operations.

payplan's tables are the store's (SQLAlchemy Core), not Django models, so
each page is a view of its own, reading through :func:`payplan.django.store`,
registered on the admin site with a placeholder model
(:mod:`payplan.django.models`) that puts it in the admin's index and gives
it a permission:

* **Payment plans** (``payplan.view_plan``): every plan with its status,
  paid and balance; a plan's page has its schedule, ledger, statement,
  signed agreements, provider bindings, webhook events and operations.
* **Webhook events** (``payplan.view_webhookevent``): the inbox, by status;
  staff with ``payplan.retry_webhookevent`` may retry failed events, the
  one action here that can record money (the event's own entry, once).
* **Provider operations** (``payplan.view_operation``): the money-moving
  calls, those in flight (reserved or unknown) first.

No page adds, changes or deletes anything else. Money is shown in the
plan's currency, for the client's locale (from ``PAYPLAN["CONTACTS"]``) or
``PAYPLAN["LOCALE"]``. The admin's own login guards every page; a staff
member without the permission gets 403.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .._money import Money, format_money
from .._status import plan_status
from ..exceptions import PayplanError, UnknownPlanError
from ..store import InboxStatus, OperationStatus
from .models import Operation, Plan, WebhookEvent

__all__ = ["OperationAdmin", "PlanAdmin", "WebhookEventAdmin"]

PAGE = 50


def _locale_for(plan: Any) -> str:
    from . import config, contacts

    find = contacts()
    if find is not None:
        try:
            contact = find(plan)
        except Exception:  # the site's lookup: a page must still render without it
            contact = None
        if contact is not None:
            return str(contact.locale)
    return config().locale


def _money(amount: Money | None, locale: str) -> str:
    if amount is None:
        return ""
    try:
        return format_money(amount, locale)
    except PayplanError:
        return format_money(amount, "en_US")


class _StoreAdmin(admin.ModelAdmin):  # type: ignore[misc]
    """A read-only admin page over the store: no add, change or delete; view by permission only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        opts = self.model._meta
        return bool(request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_module_perms(self.model._meta.app_label))

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "has_view_permission": True,
            **extra,
        }

    def _guard(self, request: HttpRequest, *, post: bool = False) -> HttpResponse | None:
        """403 without the view permission; 405 for a method that could change something."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        allowed = ["GET", "HEAD", *(["POST"] if post else [])]
        return None if request.method in allowed else HttpResponseNotAllowed(allowed)

    def get_urls(self) -> list[Any]:
        info = self.model._meta.app_label, self.model._meta.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name="{}_{}_changelist".format(*info))]


@admin.register(Plan)
class PlanAdmin(_StoreAdmin):
    """Payment plans: status, paid and balance; each plan's ledger, statement and agreement."""

    def get_urls(self) -> list[Any]:
        return [
            *super().get_urls(),
            path("<path:plan_id>/", self.admin_site.admin_view(self.plan_view), name="payplan_plan_detail"),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Every plan (by id, 50 to a page) with its status, paid and balance today."""
        from . import store

        refused = self._guard(request)
        if refused:
            return refused
        found = store()
        query = request.GET.get("q", "").strip()
        ids = [i for i in found.plan_ids() if query.lower() in i.lower()]
        page = Paginator(ids, PAGE).get_page(request.GET.get("p"))
        today = timezone.localdate()
        rows = []
        for plan_id in page.object_list:
            try:
                stored = found.load(plan_id)
            except UnknownPlanError:
                continue
            plan, ledger = stored.plan, stored.ledger
            locale = _locale_for(plan)
            status = plan_status(plan, ledger, today)
            rows.append({
                "id": plan_id,
                "url": reverse("admin:payplan_plan_detail", args=[plan_id]),
                "client": plan.client or "",
                "status": status.status.value.replace("_", " "),
                "total": _money(plan.total, locale),
                "paid": _money(ledger.net_paid, locale),
                "balance": _money(status.balance, locale),
                "active": stored.active,
            })
        return TemplateResponse(request, "payplan/admin/plans.html", self._context(
            request, "Payment plans", rows=rows, page=page, query=query, count=len(ids), today=today,
        ))

    def plan_view(self, request: HttpRequest, plan_id: str) -> HttpResponse:
        """One plan: its schedule, ledger, statement, agreements, bindings, webhook events and operations."""
        from .._documents import Parties, render_statement
        from . import config, store

        refused = self._guard(request)
        if refused:
            return refused
        found = store()
        try:
            stored = found.load(plan_id)
        except UnknownPlanError:
            raise Http404(f"no payment plan {plan_id!r}") from None
        plan, ledger = stored.plan, stored.ledger
        locale = _locale_for(plan)
        today = timezone.localdate()
        status = plan_status(plan, ledger, today)
        schedule = [{
            "number": s.number,
            "due": s.installment.due,
            "amount": _money(s.installment.amount, locale),
            "paid": _money(s.paid, locale),
            "outstanding": _money(s.outstanding, locale),
            "state": s.status.value.replace("_", " "),
            "days_overdue": s.days_overdue,
        } for s in status.installments]
        entries = [{
            "id": e.id,
            "on": e.on,
            "kind": e.kind.replace("_", " "),
            "amount": _money(getattr(e, "amount", None), locale),
            "detail": getattr(e, "reason", "") or getattr(e, "reference", "") or "",
        } for e in ledger]
        parties = Parties(business=config().business or "the business", client=plan.client or "the client")
        try:
            statement = render_statement(plan, ledger, today, format="txt", locale=locale, parties=parties)
        except PayplanError as exc:
            statement = f"(the statement cannot be rendered: {exc})"
        inbox = found.inbox(plan_id=plan_id)
        return TemplateResponse(request, "payplan/admin/plan.html", self._context(
            request, f"Payment plan {plan_id}",
            plan=plan, stored=stored, status=status.status.value.replace("_", " "), today=today,
            total=_money(plan.total, locale), paid=_money(ledger.net_paid, locale),
            balance=_money(status.balance, locale), fees=_money(status.fees_outstanding, locale),
            locale=locale, schedule=schedule, entries=entries, statement=statement,
            agreements=found.agreements(plan_id), bindings=found.bindings(plan_id),
            events=[_event_row(e, locale) for e in inbox],
            operations=[_operation_row(o, locale) for o in found.operations(plan_id=plan_id)],
        ))


def _event_row(kept: Any, locale: str | None = None) -> dict[str, Any]:
    event = kept.event
    return {
        "key": f"{event.provider}:{event.id}",
        "provider": event.provider,
        "id": event.id,
        "plan_id": event.plan_id,
        "kind": event.kind.value.replace("_", " "),
        "on": event.occurred_on,
        "amount": _money(event.amount, locale or "en_US") if event.amount is not None else "",
        "status": kept.status.value,
        "failed": kept.status is InboxStatus.FAILED,
        "attempts": kept.attempts,
        "error": kept.error or "",
    }


def _operation_row(op: Any, locale: str | None = None) -> dict[str, Any]:
    return {
        "key": op.key,
        "provider": op.provider,
        "plan_id": op.plan_id,
        "action": op.action,
        "installment": op.installment or "",
        "attempt": op.attempt,
        "amount": _money(op.amount, locale or "en_US") if op.amount is not None else "",
        "status": op.status.value,
        "in_flight": op.status in (OperationStatus.RESERVED, OperationStatus.UNKNOWN),
        "reference": op.reference or "",
        "error": op.error or "",
    }


def _locales(plan_ids: set[str]) -> dict[str, str]:
    from . import config, store

    out = {}
    for plan_id in plan_ids:
        try:
            out[plan_id] = _locale_for(store().load(plan_id).plan)
        except UnknownPlanError:
            out[plan_id] = config().locale
    return out


@admin.register(WebhookEvent)
class WebhookEventAdmin(_StoreAdmin):
    """The webhook inbox by status; failed events can be retried (``payplan.retry_webhookevent``)."""

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """Whether the user may retry failed events."""
        return bool(request.user.has_perm("payplan.retry_webhookevent"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The inbox (newest first, 50 to a page), by status; POST ``retry`` retries the failed events chosen."""
        from . import store

        refused = self._guard(request, post=True)
        if refused:
            return refused
        if request.method == "POST":
            return self._retry(request)
        status = request.GET.get("status", "")
        wanted = {s.value: s for s in InboxStatus}.get(status)
        kept = list(reversed(store().inbox(status=wanted)))
        page = Paginator(kept, PAGE).get_page(request.GET.get("p"))
        locales = _locales({k.event.plan_id for k in page.object_list})
        rows = [_event_row(k, locales.get(k.event.plan_id)) for k in page.object_list]
        return TemplateResponse(request, "payplan/admin/webhooks.html", self._context(
            request, "Webhook events", rows=rows, page=page, status=status, count=len(kept),
            statuses=[s.value for s in InboxStatus], can_retry=self.has_retry_permission(request),
        ))

    def _retry(self, request: HttpRequest) -> HttpResponse:
        from . import store

        if not self.has_retry_permission(request):
            raise PermissionDenied
        chosen = set(request.POST.getlist("event"))
        found = store()
        failed = {f"{k.event.provider}:{k.event.id}": k for k in found.inbox(status=InboxStatus.FAILED)}
        applied = still = 0
        for key in sorted(chosen):
            kept = failed.get(key)
            if kept is None:
                continue  # not failed (any more): applied and deferred events are never retried by hand
            result = found.ingest(kept.event, kept.body)
            if result.status is InboxStatus.APPLIED:
                applied += 1
            else:
                still += 1
        skipped = len(chosen) - applied - still
        self.message_user(
            request,
            f"Retried {applied + still} failed event(s): {applied} applied, {still} still not applied"
            + (f"; {skipped} not failed, left alone" if skipped else ""),
            messages.SUCCESS if not still else messages.WARNING,
        )
        return HttpResponseRedirect(request.get_full_path())


@admin.register(Operation)
class OperationAdmin(_StoreAdmin):
    """Provider operations (charges, refunds): those in flight (reserved, unknown) by default, or all."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The operations in flight, or ``?status=all`` / one status."""
        from . import store

        refused = self._guard(request)
        if refused:
            return refused
        status = request.GET.get("status", "in_flight")
        found = store()
        if status == "in_flight":
            ops = [*found.operations(status=OperationStatus.RESERVED), *found.operations(status=OperationStatus.UNKNOWN)]
        else:
            ops = list(found.operations(status={s.value: s for s in OperationStatus}.get(status)))
        page = Paginator(ops, PAGE).get_page(request.GET.get("p"))
        locales = _locales({o.plan_id for o in page.object_list})
        rows = [_operation_row(o, locales.get(o.plan_id)) for o in page.object_list]
        return TemplateResponse(request, "payplan/admin/operations.html", self._context(
            request, "Provider operations", rows=rows, page=page, status=status, count=len(ops),
            statuses=["in_flight", "all", *[s.value for s in OperationStatus]],
        ))
