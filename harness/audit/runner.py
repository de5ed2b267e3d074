"""Run an audit: the configured sections in a safe order, each isolated, into one self-describing record.

Order: scan first (so verify can score the clean subset), then the endpoint is started if the audit
serves one, then fingerprint (so no score is attributed to an endpoint before we know what it serves),
then verify on the weights and on the endpoint. A section that raises is recorded as
`{"status": "error", ...}` and the others still run. The record (`audit.json`) keeps every section's own
dict verbatim, except that absolute paths inside the run folder are written relative to it ("./scan/...")
and a loopback server's port (which changes between runs) is replaced by a placeholder; both real values
are kept under `timing`, where everything that legitimately changes between identical runs lives.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import platform
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.audit.config import AuditConfig
from harness.audit.plan import SectionPlan, endpoint_model_name, plan_sections
from harness.audit.sections import SECTIONS, SectionContext
from harness.records.audit import (
    SCHEMA,
    SCHEMA_VERSION,
    SECTION_TITLES,
    section_class,
    write_audit_record,
)
from harness.records.files import json_safe, package_version, sha256_file
from harness.records.status import combine_status, exit_code

# The versions that can change a number in the report, keyed as audit.json has always keyed them.
AUDIT_PACKAGES = (
    "harness",
    "lm_eval",
    "transformers",
    "torch",
    "vllm",
    "llama_cpp_python",
    "datasets",
    "numpy",
    "scipy",
    "jinja2",
    "matplotlib",
)
SERVED_URL_PLACEHOLDER = "http://127.0.0.1:<port>/v1"
# Hashing a corpus is worth it up to a point; beyond it record names and sizes (and say so).
HASH_BYTES_CAP = 2 * 1024**3

SectionFn = Callable[..., dict]


@dataclass
class SectionRunners:
    """The capability entry points the audit calls; tests inject recorded ones, the CLI uses the real ones."""

    scan: SectionFn | None = None
    verify: SectionFn | None = None
    fingerprint: SectionFn | None = None
    contamination: SectionFn | None = None
    # serve(name: str, served_model_name: str) -> context manager yielding the base URL ("http://h:p/v1")
    serve: Callable[[str, str], contextlib.AbstractContextManager[str]] | None = None

    def get(self, name: str) -> Callable:
        fn = getattr(self, name)
        return fn if fn is not None else _REAL[name]()


def _real_scan() -> SectionFn:
    from harness.leakage import run_scan

    return run_scan


def _real_verify() -> SectionFn:
    from harness.verify import run_verify

    return run_verify


def _real_fingerprint() -> SectionFn:
    from harness.fingerprint import run_fingerprint

    return run_fingerprint


def _real_contamination() -> SectionFn:
    from harness.contamination import run_contamination

    return run_contamination


def _real_serve() -> Callable[[str, str], contextlib.AbstractContextManager[str]]:
    @contextlib.contextmanager
    def serve(name: str, served_model_name: str) -> Iterator[str]:
        from harness.models.server_process import serve_transformers
        from harness.models.smollm2 import resolve_model_path

        with serve_transformers(resolve_model_path(name), served_model_name=served_model_name) as handle:
            yield _base_url(handle)

    return serve


def _base_url(handle: Any) -> str:
    """The server handle's OpenAI base URL, whichever attribute the models package names it."""
    for attr in ("base_url", "url"):
        value = getattr(handle, attr, None)
        if isinstance(value, str):
            return value.rstrip("/") if value.rstrip("/").endswith("/v1") else value.rstrip("/") + "/v1"
    if isinstance(handle, str):
        return handle
    raise TypeError(f"server handle {handle!r} has no base_url")


_REAL: dict[str, Callable[[], Callable]] = {
    "scan": _real_scan,
    "verify": _real_verify,
    "fingerprint": _real_fingerprint,
    "contamination": _real_contamination,
    "serve": _real_serve,
}


def section_status(section: dict) -> str:
    """A section's status as one of the four classes; a word nobody registered counts as failed."""
    return section_class(section)


def overall_status(sections: dict[str, dict]) -> str:
    """The sections combined by the one rule every command uses (``harness.records.status``): a flag
    stands whatever else happened, then a failed check, then an unresolved one; only all-clean is clean,
    and an audit that checked nothing is unresolved."""
    return combine_status(section_status(s) for s in sections.values())


def audit_headline(status: str, sections: dict[str, dict]) -> str:
    """One plain sentence for the top of the report."""
    if not sections:
        return "Nothing was configured to check."
    classes = {n: section_status(s) for n, s in sections.items()}
    flagged = [n for n, c in classes.items() if c == "flagged"]
    failed = [n for n, c in classes.items() if c == "failed"]
    unresolved = [n for n, c in classes.items() if c == "unresolved"]
    names = lambda ns: ", ".join(SECTION_TITLES.get(n, n).lower() for n in ns)  # noqa: E731
    if status == "clean":
        return f"No problem found: all {len(sections)} checks ({names(sections)}) came back clean."
    parts = []
    if flagged:
        parts.append(f"problems found by {names(flagged)}")
    if failed:
        parts.append(f"{names(failed)} could not complete")
    if unresolved:
        parts.append(f"{names(unresolved)} left something unresolved")
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def attribution(sections: dict[str, dict], has_endpoint_scores: bool) -> dict[str, Any] | None:
    """What the endpoint's scores can be attributed to, given the fingerprint that ran before them."""
    if not has_endpoint_scores:
        return None
    fp = sections.get("fingerprint")
    if fp is None:
        return {
            "fingerprint_verdict": None,
            "note": "The endpoint was not fingerprinted: its scores are "
            "those of whatever model it served, which this audit did not check.",
        }
    verdict = fp.get("verdict") if fp.get("status") != "error" else None
    notes = {
        "match": "The endpoint's fingerprint matched the reference weights: its scores are attributed to them.",
        "mismatch": "WARNING: the endpoint's fingerprint did NOT match the reference weights: its scores "
        "belong to whatever model it actually serves, not to the claimed one.",
        "inconclusive": "The endpoint's fingerprint was inconclusive: its scores cannot be attributed to the "
        "claimed weights with confidence.",
    }
    return {
        "fingerprint_verdict": verdict,
        "note": notes.get(verdict, "The fingerprint failed: the endpoint's scores are unattributed."),
    }


def error_section(exc: BaseException, *, context: str = "") -> dict[str, Any]:
    """The record of a section that raised, so the report says what failed and where."""
    message = f"{type(exc).__name__}: {exc}"
    if context:
        message = f"{context}: {message}"
    tail = traceback.format_exception(exc)[-8:]
    return {
        "status": "error",
        "headline": f"This check failed before it could give a result ({message.splitlines()[0][:300]}).",
        "error": message,
        "traceback_tail": "".join(tail)[-4000:],
    }


def package_versions() -> dict[str, str | None]:
    """Python's and ``AUDIT_PACKAGES``' versions (absent packages as null)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in AUDIT_PACKAGES:
        out[name] = package_version(name.replace("_", "-"))
    return out


def _json_safe(obj: Any) -> Any:
    return json_safe(obj, default=str)


def _canonical_sha256(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def input_checksums(config: AuditConfig) -> dict[str, Any]:
    """sha256 of the audit file, the claims file and the scanned files (up to HASH_BYTES_CAP in total)."""
    base = config.base_dir
    out: dict[str, Any] = {"audit_file": config.file_sha256}
    if config.claims_sha256:
        out["claims_file"] = config.claims_sha256
    files: list[Path] = []
    for p in config.scan_paths:
        if any(ch in str(p) for ch in "*?["):
            files += [Path(m) for m in sorted(glob.glob(str(p), recursive=True)) if Path(m).is_file()]
        elif p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.is_file())
        elif p.is_file():
            files.append(p)
    scan: dict[str, Any] = {}
    budget = HASH_BYTES_CAP
    for fpath in files:
        try:
            key = str(fpath.relative_to(base))
        except ValueError:
            key = str(fpath)
        size = fpath.stat().st_size
        if size <= budget:
            scan[key] = {"bytes": size, "sha256": sha256_file(fpath)}
            budget -= size
        else:
            scan[key] = {"bytes": size, "sha256": None, "note": "not hashed: over the audit's hashing cap"}
    if config.scan_paths:
        out["scan_inputs"] = scan
    return out


def _relocate(obj: Any, replacements: list[tuple[str, str]]) -> Any:
    """Replace run-specific strings (run folder, loopback URL) inside a JSON value, recursively."""
    if isinstance(obj, str):
        for old, new in replacements:
            if old in obj:
                obj = obj.replace(old, new)
        return obj
    if isinstance(obj, dict):
        return {_relocate(k, replacements): _relocate(v, replacements) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_relocate(v, replacements) for v in obj]
    return obj


def new_run_dir(out_root: Path, name: str, inputs_sha256: str, now: datetime) -> Path:
    """`<out>/<name>/<UTC time>-<inputs hash>`: sorts by time, and equal inputs share the suffix."""
    stem = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{inputs_sha256[:8]}"
    run_dir = out_root / name / stem
    i = 2
    while run_dir.exists():
        run_dir = out_root / name / f"{stem}-{i}"
        i += 1
    run_dir.mkdir(parents=True)
    return run_dir


Events = Callable[[str, str, dict | None], None]


def run_audit(
    config: AuditConfig,
    *,
    out_root: Path,
    runners: SectionRunners | None = None,
    progress: bool = True,
    on_event: Events | None = None,
    render: bool = True,
) -> tuple[dict[str, Any], Path]:
    """Run every configured section, write `audit.json` (+ report.md/html), return (record, run folder)."""
    runners = runners or SectionRunners()
    emit = on_event or (lambda *_: None)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    checksums = input_checksums(config)
    config_record = {"file": str(config.path.name), "parsed": _json_safe(config.raw), "claims": config.claims}
    inputs_sha = _canonical_sha256({"config": config_record, "checksums": checksums})
    run_dir = new_run_dir(Path(out_root), config.name, inputs_sha, started)
    plans = plan_sections(config)
    sections: dict[str, dict] = {}
    section_seconds: dict[str, float] = {}
    served_url: str | None = None
    replacements = [(str(run_dir.resolve()), "."), (str(run_dir), ".")]

    endpoint = config.file.endpoint
    with contextlib.ExitStack() as stack:
        base_url: str | None = endpoint.url if endpoint is not None else None
        endpoint_error: dict | None = None
        for plan in plans:
            if (
                plan.needs_endpoint
                and endpoint is not None
                and endpoint.serve
                and base_url is None
                and endpoint_error is None
            ):
                emit("serve", "start", None)
                try:
                    base_url = served_url = stack.enter_context(
                        runners.get("serve")(endpoint.serve, endpoint_model_name(config))
                    )
                    replacements.append((served_url, SERVED_URL_PLACEHOLDER))
                    emit("serve", "done", {"status": "clean", "headline": "local endpoint started"})
                except Exception as exc:
                    endpoint_error = error_section(
                        exc, context=f"could not start the local {endpoint.serve} endpoint"
                    )
                    emit("serve", "done", endpoint_error)
            emit(plan.name, "start", None)
            t_section = time.monotonic()
            out_dir = run_dir / plan.out_subdir
            out_dir.mkdir(parents=True, exist_ok=True)
            if plan.needs_endpoint and endpoint_error is not None:
                result = endpoint_error
            else:
                result = _call_section(plan, runners, out_dir, base_url, run_dir, sections, progress)
            sections[plan.name] = _relocate(_json_safe(result), replacements)
            section_seconds[plan.name] = round(time.monotonic() - t_section, 3)
            emit(plan.name, "done", sections[plan.name])

    status = overall_status(sections)
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "headline": audit_headline(status, sections),
        "name": config.name,
        "description": config.file.audit.description,
        "inputs_sha256": inputs_sha,
        "config": config_record,
        "checksums": checksums,
        "versions": package_versions(),
        "plan": [
            {
                "section": p.name,
                "calls": p.runner,
                "out_dir": p.out_subdir,
                "arguments": _relocate(_json_safe(p.kwargs), replacements),
            }
            for p in plans
        ],
        "attribution": attribution(sections, "verify_endpoint" in sections),
        "sections": sections,
        "exit_code": exit_code(status),
        "timing": {
            "run_id": run_dir.name,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - t0, 3),
            "sections_seconds": section_seconds,
            "served_endpoint": served_url,
        },
    }
    write_audit_record(run_dir / "audit.json", record)
    if render:
        from harness.report.render import render_reports

        render_reports(run_dir / "audit.json")
    return record, run_dir


def _call_section(
    plan: SectionPlan,
    runners: SectionRunners,
    out_dir: Path,
    base_url: str | None,
    run_dir: Path,
    sections: dict[str, dict],
    progress: bool,
) -> dict:
    """One planned call through its section (``harness.audit.sections``), isolated: whatever it raises
    becomes an error record, and so does a result that is not a record."""
    try:
        ctx = SectionContext(
            entry_point=runners.get(plan.runner),
            out_dir=out_dir,
            run_dir=run_dir,
            base_url=base_url,
            done=sections,
            progress=progress,
        )
        result = SECTIONS[plan.name].run(plan, ctx)
    except (Exception, SystemExit) as exc:
        return error_section(exc)
    if not isinstance(result, dict) or "status" not in result:
        return {
            "status": "error",
            "headline": "This check returned no result record.",
            "error": f"{plan.runner} returned {type(result).__name__}, not a dict with a 'status'",
        }
    return result
