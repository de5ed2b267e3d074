"""Defaults the CLI shows in its help; kept apart from the runner so `harness --help` stays light."""

DEFAULT_BUDGET = 200  # requests, retries included: enough for every test of the family (about 60 are planned)
DEFAULT_ALPHA = (
    0.01  # family-wise level: P(mismatch | the endpoint serves the claimed weights honestly) <= alpha
)
DEFAULT_TOLERANCE = (
    "4bit"  # the widest numerics still called honest: 16bit, 8bit or 4bit (llama.cpp Q4 files)
)
DEFAULT_MATCH_TIER = "8bit"  # a match certifies outputs within these numerics; beyond them (and within tolerance) is inconclusive
