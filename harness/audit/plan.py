"""The calls an audit makes, in order: pure (config in, plans out), so the order and every argument are
testable without a model, a corpus or a server.

Order: scan first (so verify can score the clean subset), then verify on the weights, the fingerprint
right before the endpoint is scored (so no score is attributed to an endpoint before we know what it
serves), then verify on the endpoint, then model-side contamination. Each section says what it would
call (``harness.audit.sections``); this module only decides the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.audit.config import AuditConfig


@dataclass(frozen=True)
class SectionPlan:
    """One section call: which entry point, with which arguments, into which subfolder."""

    name: str  # a key of harness.audit.sections.SECTIONS
    runner: str  # the capability entry point: "scan" | "fingerprint" | "verify" | "contamination"
    out_subdir: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    needs_endpoint: bool = False
    needs_scan: bool = False


def section_order(config: AuditConfig) -> list[str]:
    """The configured sections' names in the order they run (a section may still plan nothing)."""
    names = ["scan"]
    for target in config.verify_targets:
        if target == "endpoint":
            names.append("fingerprint")
        names.append(f"verify_{target}")
    if "fingerprint" not in names:
        names.append("fingerprint")
    return [*names, "contamination"]


def plan_sections(config: AuditConfig) -> list[SectionPlan]:
    """Every section's planned calls, in the order of ``section_order``."""
    from harness.audit.sections import SECTIONS

    plans: list[SectionPlan] = []
    for name in section_order(config):
        plans += SECTIONS[name].plan(config)
    return plans


def local_path(config: AuditConfig, value: str) -> str:
    """A relative path that exists next to the audit file is made absolute; names pass through unchanged."""
    candidate = config.base_dir / value
    if value != "smollm2" and not Path(value).is_absolute() and candidate.exists():
        return str(candidate.resolve())
    return value


def endpoint_model_name(config: AuditConfig) -> str:
    ep = config.file.endpoint
    assert ep is not None
    return ep.model or (f"{ep.serve}" if ep.serve else "")


def weights_arguments(config: AuditConfig) -> dict[str, Any]:
    """The arguments that point a capability at the audit's weights (``[model]``)."""
    f = config.file
    assert f.model is not None
    model_args = dict(f.model.model_args)
    if f.model.revision:
        model_args.setdefault("revision", f.model.revision)
    return {
        "model": local_path(config, f.model.path),
        "backend": f.model.backend,
        "model_args": model_args or None,
    }


def endpoint_arguments(config: AuditConfig) -> dict[str, Any]:
    """The arguments that point a capability at the audit's endpoint (``[endpoint]``)."""
    f = config.file
    assert f.endpoint is not None
    endpoint_args = dict(f.endpoint.model_args)
    if f.endpoint.serve and f.endpoint.backend == "openai-completions":
        # The audit serves this model itself, so it knows the tokenizer that multiple-choice
        # log-likelihoods need: the served model's own.
        endpoint_args.setdefault("tokenizer", f.endpoint.serve)
    return {
        "model": endpoint_model_name(config),
        "backend": f.endpoint.backend,
        "api_key_env": f.endpoint.api_key_env,
        "model_args": endpoint_args or None,
    }
