"""The Section interface and its registry: every section is found by name, plans from the config alone,
and the plan is the union of the sections' own plans in the audit's order."""

from __future__ import annotations

from pathlib import Path

from harness.audit import load_audit
from harness.audit.config import parse_audit
from harness.audit.plan import plan_sections, section_order
from harness.audit.sections import SECTIONS, Section
from harness.records.audit import SECTION_TITLES


def test_every_section_is_registered_under_its_name_with_a_title() -> None:
    assert list(SECTIONS) == ["scan", "verify_weights", "fingerprint", "verify_endpoint", "contamination"]
    for name, section in SECTIONS.items():
        assert isinstance(section, Section)  # the Protocol is runtime-checkable by attribute
        assert section.name == name and section.title == SECTION_TITLES[name]


def test_each_section_plans_only_its_own_calls(audit_dir: Path) -> None:
    config = load_audit(audit_dir / "full.toml")
    for name, section in SECTIONS.items():
        plans = section.plan(config)
        assert all(p.name == name for p in plans)
    assert SECTIONS["contamination"].plan(config) == []  # not configured
    assert [p.name for p in plan_sections(config)] == [
        "scan",
        "verify_weights",
        "fingerprint",
        "verify_endpoint",
    ]


def test_endpoint_first_targets_keep_the_fingerprint_before_the_endpoint(tmp_path: Path) -> None:
    text = """
[model]
path = "smollm2"
[endpoint]
serve = "smollm2"
[claims.gsm8k]
value = 50.0
[verify]
targets = ["endpoint", "weights"]
[fingerprint]
reference = "smollm2"
"""
    config = parse_audit(text, tmp_path / "a.toml")
    assert section_order(config)[:4] == ["scan", "fingerprint", "verify_endpoint", "verify_weights"]
    assert [p.name for p in plan_sections(config)] == ["fingerprint", "verify_endpoint", "verify_weights"]


def test_a_fingerprint_without_endpoint_scores_runs_after_the_weights(tmp_path: Path) -> None:
    text = """
[model]
path = "smollm2"
[endpoint]
url = "http://example.invalid/v1"
model = "m"
[claims.gsm8k]
value = 50.0
[verify]
targets = ["weights"]
[fingerprint]
reference = "smollm2"
"""
    config = parse_audit(text, tmp_path / "a.toml")
    assert [p.name for p in plan_sections(config)] == ["verify_weights", "fingerprint"]


def test_a_fingerprint_against_a_trusted_endpoint_plans_and_opens_it(tmp_path: Path) -> None:
    """`reference_endpoint` travels in the plan as plain strings and is opened (signature checked)
    only when the section runs; `tolerance` reaches the fingerprint."""
    import pytest

    from harness.audit.sections import SectionContext
    from harness.fingerprint.reference import ReferenceError

    text = """
[endpoint]
url = "http://example.invalid/v1"
model = "m"
[fingerprint]
reference = "smollm2"
tolerance = "8bit"
reference_endpoint = "http://trusted.invalid/v1"
"""
    config = parse_audit(text, tmp_path / "a.toml")
    (plan,) = SECTIONS["fingerprint"].plan(config)
    assert plan.kwargs["tolerance"] == "8bit"
    assert plan.kwargs["reference_endpoint"] == "http://trusted.invalid/v1"
    assert plan.kwargs["reference_model"] == "m"
    called: list[dict] = []
    ctx = SectionContext(lambda **kw: called.append(kw) or {}, tmp_path, tmp_path, "http://x/v1", {}, False)
    with pytest.raises(ReferenceError, match="must be a signature"):  # smollm2 is weights, not a signature
        SECTIONS["fingerprint"].run(plan, ctx)
    assert called == []
    bad = text.replace('tolerance = "8bit"', 'tolerance = "3bit"')
    with pytest.raises(Exception, match="tolerance"):
        parse_audit(bad, tmp_path / "b.toml")
