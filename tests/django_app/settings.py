"""Django settings for payplan.django's tests: the admin, sessions, and payplan (its PAYPLAN set per test)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
STATE = Path(tempfile.mkdtemp(prefix="payplan-django-tests-"))

DEBUG = False
SECRET_KEY = "tests-only-not-a-deployment-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "django_app.urls"
USE_TZ = True
TIME_ZONE = "America/New_York"
LANGUAGE_CODE = "en-us"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "payplan.django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
# SQLite files, not memory: payplan's store opens the same database through SQLAlchemy.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(STATE / "site.sqlite3"),
        "TEST": {"NAME": str(STATE / "test-site.sqlite3")},
    },
}
PG_URL = os.environ.get("PAYPLAN_TEST_POSTGRES_URL", "")
if PG_URL:
    # The project's throwaway PostgreSQL as a second database: payplan's tables live in it ("STORE": "pg").
    url = make_url(PG_URL)
    DATABASES["pg"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.database or "postgres",
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.host or "",
        "PORT": str(url.port or ""),
        "TEST": {"NAME": f"test_payplan_django_{os.getpid()}"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "studio@example.test"
PAYPLAN = {
    "STORE": "memory://",
    "PROVIDERS": {"sandbox": {"OPTIONS": {"today": "2026-12-01"}}},
}
