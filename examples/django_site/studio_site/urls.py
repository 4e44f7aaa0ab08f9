"""The studio's URLs: the booking pages, the Django admin (staff), payplan's webhooks."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("studio.urls")),
    path("admin/", admin.site.urls),
    path("payplan/", include("payplan.django.urls")),
]
