"""harness: audit language-model benchmark claims.

Three capabilities share one benchmark data layer (`harness.data`):
`harness.verify` (re-run claims through lm-eval and judge them statistically),
`harness.fingerprint` (does an endpoint serve the weights it claims?) and
`harness.leakage` (n-gram scan of training corpora against the test sets).
`harness.audit` runs them all from one file; `harness.report` renders what they record;
`harness.models` holds the backends.
"""

__version__ = "0.1.0"
