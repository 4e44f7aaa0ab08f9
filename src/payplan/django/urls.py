"""URLs to include: ``path("payplan/", include("payplan.django.urls"))``.

One webhook endpoint per configured provider, ``webhooks/<name>`` (named
``payplan:webhook``: ``reverse("payplan:webhook", args=["stripe"])``); give
each provider's dashboard its full URL.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from django.urls import path

from .views import webhook

app_name = "payplan"

urlpatterns = [
    path("webhooks/<str:provider>", webhook, name="webhook"),
]
