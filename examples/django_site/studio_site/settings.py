"""Settings of the example studio, from the environment (Django's own tutorial does the same).

Development defaults apply when ``STUDIO_DEBUG`` is on (the default, for ``make django-site``):
a per-start secret key, e-mail printed to the console, the sandbox provider. In production set
``STUDIO_DEBUG=0``, ``STUDIO_SECRET_KEY``, ``STUDIO_ALLOWED_HOSTS`` and a real provider
(``manage.py check --deploy`` then says what is still missing).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("STUDIO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("STUDIO_SECRET_KEY") or (secrets.token_urlsafe(50) if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("set STUDIO_SECRET_KEY (a long random string) when STUDIO_DEBUG=0")
ALLOWED_HOSTS = os.environ.get("STUDIO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "payplan.django",
    "studio",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "studio_site.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "studio_site.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("STUDIO_DATABASE", str(BASE_DIR / "studio.sqlite3")),
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "admin:login"
EMAIL_BACKEND = os.environ.get("STUDIO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = "Lumen Photo Studio <studio@example.com>"

PAYPLAN = {
    # payplan's tables in the site's own database, beside Django's (migrate upgrades both)
    "STORE": "default",
    # the sandbox moves no money (payplan.W005 outside DEBUG): a real site names stripe, square or paypal here,
    # with its secrets in the environment
    "PROVIDERS": {"sandbox": {}},
    "NOTIFIER": "django",
    "EMAIL": {"DOMAIN": "example.com"},
    "CATALOG": BASE_DIR / "studio" / "catalog.toml",
    "CONTACTS": "studio.payplan_setup.contact_for",
    "BUSINESS": "Lumen Photo Studio",
}
