"""Shared test settings."""

import os

from hypothesis import HealthCheck, settings

# Keep the suite deterministic and within its time budget on 2 cores.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fuzz", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
