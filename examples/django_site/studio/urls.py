"""The booking pages."""

from django.urls import path

from . import views

app_name = "studio"

urlpatterns = [
    path("", views.book, name="book"),
    path("sign/", views.sign, name="sign"),
    path("plan/<str:token>/", views.client_page, name="plan"),
]
