"""payplan's example booking site (Flask): see README.md beside this file."""

from __future__ import annotations

from .app import Settings, Site, create_app, site_of

__all__ = ["Settings", "Site", "create_app", "site_of"]
