"""Shared test settings."""

import os

from hypothesis import HealthCheck, settings

# Keep the suite deterministic and within its time budget on 2 cores.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# make fuzz: HYPOTHESIS_PROFILE=fuzz. Twenty times the examples of "ci", drawn afresh on every run;
# tests/test_fuzz.py scales its per-test max_examples by the same ratio (see its examples()).
settings.register_profile(
    "fuzz", max_examples=20 * 40, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
