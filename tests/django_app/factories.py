"""Provider factories for PAYPLAN["PROVIDERS"][...]["FACTORY"] in the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from payplan.testing import SandboxProvider


def sandbox(secrets: dict[str, str], options: dict[str, Any]) -> SandboxProvider:
    """A sandbox on the day *options* give, signing with the secret read from the environment."""
    return SandboxProvider(dt.date.fromisoformat(options["today"]), webhook_secret=secrets["signing"])


def not_a_provider(secrets: dict[str, str], options: dict[str, Any]) -> object:
    """Returns something that is not a provider."""
    return object()
