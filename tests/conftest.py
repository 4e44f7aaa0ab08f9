"""Shared test configuration: Hypothesis profiles and the tests/ import path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=300, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))

#: Where the official provider specs live (beside the project, never copied into it);
#: PAYPLAN_PROVIDER_SPECS points elsewhere (a git worktree that is not beside them).
SPECS = Path(
    os.environ.get("PAYPLAN_PROVIDER_SPECS") or Path(__file__).resolve().parents[2] / "shared" / "provider-specs"
)
