"""The audit's sections behind one interface, found by name in one registry.

A ``Section`` plans its calls from the audit config (pure) and runs one planned call (the edge: it calls
a capability's entry point and returns that capability's record). The runner loops over the plan and
never branches on a section's name. Model: datatrove's ``PipelineStep`` run by one executor loop
(``pipeline/base.py``, ``executor/base.py``), and lm-eval's ``register_model`` registry of names.
A new section is a class here and a line in ``SECTIONS`` (and its title in
``harness.records.audit.SECTION_TITLES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from harness.audit.config import AuditConfig
from harness.audit.plan import (
    SectionPlan,
    endpoint_arguments,
    endpoint_model_name,
    local_path,
    weights_arguments,
)
from harness.records.audit import SECTION_TITLES, section_class


@dataclass(frozen=True)
class SectionContext:
    """What a running section may use besides its planned arguments."""

    entry_point: Callable[..., dict]  # the capability's function (real, or a recorded one in tests)
    out_dir: Path  # the section's own folder inside the run folder
    run_dir: Path
    base_url: str | None  # the endpoint's OpenAI base URL, once known
    done: dict[str, dict]  # records of the sections that already ran
    progress: bool


@runtime_checkable
class Section(Protocol):
    """One unit of an audit: a name, a title, its planned calls, and how to run one."""

    name: str
    title: str

    def plan(self, config: AuditConfig) -> list[SectionPlan]: ...

    def run(self, plan: SectionPlan, ctx: SectionContext) -> dict[str, Any]: ...


class _Base:
    name: ClassVar[str]

    @property
    def title(self) -> str:
        return SECTION_TITLES.get(self.name, self.name)


class ScanSection(_Base):
    """``harness scan`` over the audit's corpus paths; it runs first so verify can use its leakage.json."""

    name = "scan"

    def plan(self, config: AuditConfig) -> list[SectionPlan]:
        s = config.file.scan
        if s is None:
            return []
        kw: dict[str, Any] = {"paths": [str(p) for p in config.scan_paths], "ngram": s.ngram}
        if s.benchmarks is not None:
            kw["benchmarks"] = list(s.benchmarks)
        if s.fields is not None:
            kw["fields"] = list(s.fields)
        if s.workers is not None:
            kw["workers"] = s.workers
        if s.profile:
            kw["profile"] = True
        return [SectionPlan("scan", "scan", "scan", kw)]

    def run(self, plan: SectionPlan, ctx: SectionContext) -> dict[str, Any]:
        kwargs = dict(plan.kwargs)
        paths = kwargs.pop("paths")
        return ctx.entry_point(paths, out_dir=ctx.out_dir, progress=ctx.progress, **kwargs)


@dataclass(frozen=True)
class VerifySection(_Base):
    """``harness verify`` on one target (the weights or the endpoint), with the scan's clean subset."""

    target: str  # "weights" | "endpoint"

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"verify_{self.target}"

    def plan(self, config: AuditConfig) -> list[SectionPlan]:
        if self.target not in config.verify_targets:
            return []
        v = config.file.verify
        overrides = getattr(v, self.target) if v is not None else None
        benchmarks = (overrides.benchmarks if overrides and overrides.benchmarks else None) or (
            v.benchmarks if v else None
        )
        # A per-target override of either way of cutting the test set replaces both of the shared ones.
        if overrides and (overrides.limit or overrides.sample):
            limit, sample = overrides.limit, overrides.sample
        else:
            limit, sample = (v.limit, v.sample) if v else (None, None)
        kw: dict[str, Any] = {
            "claims": config.claims_file or config.claims,
            "benchmarks": benchmarks,
            "limit": limit,
            "seed": v.seed if v else 1234,
        }
        if isinstance(sample, dict) and benchmarks:  # sizes for benchmarks this target does not score
            sample = {k: n for k, n in sample.items() if k == "default" or k in benchmarks}
        if sample is not None:
            kw["sample"] = sample
        kw |= weights_arguments(config) if self.target == "weights" else endpoint_arguments(config)
        return [
            SectionPlan(
                self.name,
                "verify",
                self.name,
                kw,
                needs_endpoint=self.target == "endpoint",
                needs_scan=config.file.scan is not None,
            )
        ]

    def run(self, plan: SectionPlan, ctx: SectionContext) -> dict[str, Any]:
        kwargs = dict(plan.kwargs)
        if plan.needs_endpoint:
            kwargs["base_url"] = ctx.base_url
        if plan.needs_scan:
            leakage = ctx.run_dir / "scan" / "leakage.json"
            scan = ctx.done.get("scan", {})
            if section_class(scan) in ("clean", "flagged", "unresolved") and leakage.is_file():
                kwargs["clean_from"] = leakage
        return ctx.entry_point(out_dir=ctx.out_dir, progress=ctx.progress, **kwargs)


class FingerprintSection(_Base):
    """``harness fingerprint`` of the endpoint against the reference weights, before it is scored."""

    name = "fingerprint"

    def plan(self, config: AuditConfig) -> list[SectionPlan]:
        f = config.file
        if f.fingerprint is None or f.endpoint is None:
            return []
        kw: dict[str, Any] = {
            "model": endpoint_model_name(config),
            "reference": local_path(config, f.fingerprint.reference),
            "budget": f.fingerprint.budget,
            "seed": f.fingerprint.seed,
            "api_key_env": f.endpoint.api_key_env,
        }
        if f.fingerprint.chat is not None:
            kw["chat"] = f.fingerprint.chat
        if f.fingerprint.tolerance is not None:
            kw["tolerance"] = f.fingerprint.tolerance
        if f.fingerprint.reference_endpoint is not None:
            kw["reference_endpoint"] = f.fingerprint.reference_endpoint
            kw["reference_model"] = f.fingerprint.reference_model or kw["model"]
            kw["reference_api_key_env"] = f.fingerprint.reference_api_key_env
        return [SectionPlan("fingerprint", "fingerprint", "fingerprint", kw, needs_endpoint=True)]

    def run(self, plan: SectionPlan, ctx: SectionContext) -> dict[str, Any]:
        kwargs = dict(plan.kwargs)
        kwargs["endpoint"] = ctx.base_url
        from harness.fingerprint.trusted import resolve_reference

        kwargs["reference"] = resolve_reference(
            Path(kwargs["reference"]),  # the contract's type; "smollm2" stays "smollm2"
            kwargs["model"],
            endpoint=kwargs.pop("reference_endpoint", None),
            endpoint_model=kwargs.pop("reference_model", None),
            api_key_env=kwargs.pop("reference_api_key_env", None),
        )
        return ctx.entry_point(out_dir=ctx.out_dir, progress=ctx.progress, **kwargs)


class ContaminationSection(_Base):
    """``harness contamination`` on the weights or the endpoint; after the fingerprint, so an endpoint's
    contamination is only read once the audit knows what it serves."""

    name = "contamination"

    def plan(self, config: AuditConfig) -> list[SectionPlan]:
        f = config.file
        c = f.contamination
        if c is None:
            return []
        target = c.target or ("weights" if f.model is not None else "endpoint")
        kw: dict[str, Any] = {"seed": c.seed, "twins": c.twins, "alpha": c.alpha}
        for key in ("benchmarks", "sample", "tests", "control", "n_shot"):
            value = getattr(c, key)
            if value is not None:
                kw[key] = value
        if c.max_gen_toks is not None:
            kw["gen_kwargs"] = {"max_gen_toks": c.max_gen_toks}
        if c.reference is not None:
            kw["reference"] = local_path(config, c.reference)
        kw |= weights_arguments(config) if target == "weights" else endpoint_arguments(config)
        return [
            SectionPlan(
                "contamination", "contamination", "contamination", kw, needs_endpoint=target == "endpoint"
            )
        ]

    def run(self, plan: SectionPlan, ctx: SectionContext) -> dict[str, Any]:
        kwargs = dict(plan.kwargs)
        if plan.needs_endpoint:
            kwargs["base_url"] = ctx.base_url
        return ctx.entry_point(out_dir=ctx.out_dir, progress=ctx.progress, **kwargs)


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        ScanSection(),
        VerifySection("weights"),
        FingerprintSection(),
        VerifySection("endpoint"),
        ContaminationSection(),
    )
}
