"""Defaults the CLI shows in its help; kept apart from the runner so `harness --help` stays light."""

DEFAULT_BUDGET = 200  # requests, retries included: enough for every probe on a well-behaved endpoint
DEFAULT_ALPHA = 0.01  # family-wise level of the tests behind a verdict (Holm-adjusted across probes)
