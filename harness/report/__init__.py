"""Audits: one TOML file runs scan, fingerprint and verify in order; one record, one report."""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "AuditConfig": "audit_config",
    "AuditConfigError": "audit_config",
    "SectionRunners": "audit_runner",
    "exit_code": "audit_runner",
    "load_audit": "audit_config",
    "parse_audit": "audit_config",
    "render_html": "render",
    "render_markdown": "render",
    "render_reports": "render",
    "run_audit": "audit_runner",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
