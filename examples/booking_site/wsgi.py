"""The deployed site as a WSGI app, configured from the environment (docs/deploying.md).

    gunicorn --workers 2 --bind 127.0.0.1:8000 'booking_site.wsgi:app'

Importing this module refuses to start (:class:`~booking_site.settings.UnsafeSettingsError`)
when a secret is missing, short or well known.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

app = create_app(Settings.from_env())
