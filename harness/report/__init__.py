"""Reports: render records (audit.json and the sections' own records) as Markdown and self-contained
HTML. Rendering only: nothing here runs a check (audits run in ``harness.audit``)."""

from harness._lazy import lazy_exports

# public name -> submodule; imported on first use (see harness/_lazy.py)
_EXPORTS = {
    "render_contamination_markdown": "markdown",
    "render_fingerprint_markdown": "markdown",
    "render_html": "render",
    "render_markdown": "render",
    "render_reports": "render",
    "render_scan_markdown": "markdown",
    "render_verify_markdown": "markdown",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
