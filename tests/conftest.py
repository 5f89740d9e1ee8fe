"""Test-suite settings: a hypothesis profile that keeps CI fast and deterministic."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("FTX_HYPOTHESIS_PROFILE", "ci"))
