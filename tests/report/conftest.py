"""The report tests render audits run with the recorded sections of tests/audit/conftest.py."""

from tests.audit.conftest import (  # noqa: F401  (fixtures, found by pytest by name)
    FULL_AUDIT,
    INJECTED,
    Recorder,
    audit_dir,
    make_recorder,
    recorded,
    recorded_fixture,
    recorder,
)
