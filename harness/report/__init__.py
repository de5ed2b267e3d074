"""Audits: one TOML file runs scan, fingerprint and verify in order; one record, one report."""

from harness.report.audit_config import AuditConfig, AuditConfigError, load_audit, parse_audit
from harness.report.audit_runner import SectionRunners, exit_code, run_audit
from harness.report.render import render_html, render_markdown, render_reports

__all__ = [
    "AuditConfig",
    "AuditConfigError",
    "SectionRunners",
    "exit_code",
    "load_audit",
    "parse_audit",
    "render_html",
    "render_markdown",
    "render_reports",
    "run_audit",
]
