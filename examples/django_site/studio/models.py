"""The studio's own record of a client: who booked which plan (payplan keeps the money side)."""

from __future__ import annotations

from django.db import models


class Client(models.Model):  # type: ignore[misc]
    """One booking's client: the name and e-mail payplan's reminders go to."""

    plan_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    tier = models.CharField(max_length=100)
    session = models.DateField()
    booked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.plan_id})"
