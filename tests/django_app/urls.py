"""The tests' URLs: the admin and payplan's webhooks, as a site includes them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("payplan/", include("payplan.django.urls")),
]
