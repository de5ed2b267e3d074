"""Audits: one TOML file runs scan, fingerprint, verify and contamination in order, into one record
(``audit.json``, ``harness.records.audit``) that ``harness.report`` renders.

``config`` parses and validates the audit file, ``plan`` decides the calls and their order,
``sections`` holds each section behind one interface, ``runner`` runs the plan, ``cli`` is the command.
"""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "AuditConfig": "config",
    "AuditConfigError": "config",
    "SECTIONS": "sections",
    "Section": "sections",
    "SectionPlan": "plan",
    "SectionRunners": "runner",
    "load_audit": "config",
    "parse_audit": "config",
    "plan_sections": "plan",
    "run_audit": "runner",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
