"""The app's models: the record of signals sent, and the admin's entries for payplan's own tables.

payplan's tables (plans, ledgers, the webhook inbox, operations) belong to
the store (SQLAlchemy Core, migrated by Alembic under their own version
table, see ``manage.py payplan_upgrade``); Django never creates, reads or
writes them through models. The three unmanaged models below have no
table at all: they give the Django admin an entry for each page over the
store and the permissions that guard it (``payplan.view_plan``,
``payplan.view_webhookevent``, ``payplan.retry_webhookevent``,
``payplan.view_operation``). The only table Django migrates is
``payplan_django_signals``, the record of signals sent.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

__all__ = ["Operation", "Plan", "SentSignal", "WebhookEvent"]


class SentSignal(models.Model):  # type: ignore[misc]
    """One signal sent for one ledger entry (unique): what keeps a signal from being sent twice."""

    signal = models.CharField(max_length=40)
    plan_id = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    entry_id = models.CharField(max_length=200)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payplan_django_signals"
        constraints: ClassVar[list[Any]] = [models.UniqueConstraint(fields=["signal", "plan_id", "key"], name="payplan_signal_once")]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.signal} {self.plan_id} {self.key}"


class Plan(models.Model):  # type: ignore[misc]
    """Payment plans (the store's): the admin's plans page and its ``view_plan`` permission."""

    plan_id = models.CharField(max_length=200, primary_key=True)

    class Meta:
        managed = False
        db_table = "payplan_django_admin_plan"
        default_permissions = ("view",)
        verbose_name = "payment plan"


class WebhookEvent(models.Model):  # type: ignore[misc]
    """The store's webhook inbox: the admin's page, ``view_webhookevent`` and ``retry_webhookevent``."""

    event_id = models.CharField(max_length=200, primary_key=True)

    class Meta:
        managed = False
        db_table = "payplan_django_admin_webhookevent"
        default_permissions = ("view",)
        permissions: ClassVar[list[tuple[str, str]]] = [("retry_webhookevent", "Can retry failed webhook events")]
        verbose_name = "webhook event"


class Operation(models.Model):  # type: ignore[misc]
    """The store's provider operations (charges, refunds): the admin's page and ``view_operation``."""

    key = models.CharField(max_length=200, primary_key=True)

    class Meta:
        managed = False
        db_table = "payplan_django_admin_operation"
        default_permissions = ("view",)
        verbose_name = "provider operation"
