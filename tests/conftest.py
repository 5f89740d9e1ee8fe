"""Test-suite settings: a hypothesis profile that keeps CI fast and deterministic, a private
kernel cache directory for the session and ``enable_checks`` (set before ftx is imported)."""
import os
import tempfile

from hypothesis import HealthCheck, settings

os.environ.setdefault("FTX_CACHE_DIR", tempfile.mkdtemp(prefix="ftx-test-cache-"))
# Type-check every jaxpr every transform produces (check_jaxpr), as the issue asks: it costs
# the suite no measurable time and turns a malformed rewrite into an error at its source.
os.environ.setdefault("FTX_ENABLE_CHECKS", "1")

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("FTX_HYPOTHESIS_PROFILE", "ci"))
