"""Settings for benchmarks: production settings plus a bare DRF view (the ceiling) and no throttles.

Throttles would answer 429 long before a load generator has measured anything; they are measured by
their own tests, not here.
"""

from bookflow_api.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000000/min"),  # noqa: F405
}
