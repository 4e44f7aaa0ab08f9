"""Shared test configuration: Hypothesis profiles and the tests/ import path."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

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
# few of them (each mutant reruns every test that reaches it, so examples are paid for thousands of
# times; properties that name their own count keep it), and mutmut runs the suite more than once in
# one process, which Hypothesis would take for a test called from different executors. No shrinking:
# a mutant is killed by the first failing example, and shrinking it costs a killed mutant up to 40 s.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("default"),
    max_examples=25,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.differing_executors],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under the mutation profile, no property runs more examples than the profile's.

    A property that names its own count (a few hundred for an "any order" claim) keeps it in
    `make test`; under `make mutation` it would pay that count again for each of the thousands of
    mutants that reach it. Its other settings stay, with differing_executors allowed (mutmut runs
    the suite more than once in one process).
    """
    if settings.default is not settings.get_profile("mutation"):
        return
    cap = settings.default.max_examples
    for item in items:
        function = getattr(item, "function", None)
        own = getattr(function, "_hypothesis_internal_use_settings", None)
        holder, attribute = function, "_hypothesis_internal_use_settings"
        if own is None:  # a rule-based state machine's TestCase carries its settings on the class
            holder, attribute = getattr(item, "cls", None), "settings"
            own = getattr(holder, attribute, None)
        if isinstance(own, settings) and own is not settings.default:
            checks = [*own.suppress_health_check, HealthCheck.differing_executors]
            setattr(holder, attribute, settings(own, max_examples=min(own.max_examples, cap), suppress_health_check=checks))



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
