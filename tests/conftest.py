"""Shared test configuration: Hypothesis profiles and the tests/ import path."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

#: payplan.django's tests (tests/django_app) configure Django and need pytest-django and the SQL store: without
#: them (the core-only environment) the directory is not collected at all.
collect_ignore = [] if all(
    importlib.util.find_spec(name) for name in ("django", "pytest_django", "sqlalchemy")
) else ["django_app"]

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=300, print_blob=True)
# `make mutation` (mutmut): the same examples for every mutant (derandomized, no example database),
# and mutmut runs the suite more than once in one process, which Hypothesis would take for a
# test called from different executors.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("default"),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.differing_executors],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))



def _specs() -> Path:
    """``../shared/provider-specs`` beside the repository, or beside the main checkout of a git worktree."""
    root = Path(__file__).resolve().parents[1]
    found = root.parent / "shared" / "provider-specs"
    dotgit = root / ".git"
    if not found.is_dir() and dotgit.is_file():
        # A worktree's .git file reads "gitdir: <main>/.git/worktrees/<name>".
        text = dotgit.read_text().strip()
        if text.startswith("gitdir:"):
            main = Path(text.split(":", 1)[1].strip()).resolve().parents[2]
            if (main.parent / "shared" / "provider-specs").is_dir():
                found = main.parent / "shared" / "provider-specs"
    return found


#: Where the official provider specs live (beside the project, never copied into it);
#: PAYPLAN_PROVIDER_SPECS points elsewhere.
SPECS = Path(os.environ.get("PAYPLAN_PROVIDER_SPECS") or _specs())
