"""The studio app."""

from django.apps import AppConfig


class StudioConfig(AppConfig):  # type: ignore[misc]
    """The booking pages."""

    name = "studio"
    default_auto_field = "django.db.models.BigAutoField"
