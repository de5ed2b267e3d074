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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.report.audit_config import AuditConfig

SCHEMA_VERSION = 1
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


@dataclass(frozen=True)
class SectionPlan:
    """One section call: which entry point, with which arguments, into which subfolder."""

    name: str  # "scan" | "fingerprint" | "verify_weights" | "verify_endpoint"
    runner: str  # "scan" | "fingerprint" | "verify"
    out_subdir: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    needs_endpoint: bool = False
    needs_scan: bool = False


def plan_sections(config: AuditConfig) -> list[SectionPlan]:
    """The calls an audit makes, in order; pure, so the order and arguments are testable without models."""
    f = config.file
    plans: list[SectionPlan] = []
    if f.scan is not None:
        kw: dict[str, Any] = {"paths": [str(p) for p in config.scan_paths], "ngram": f.scan.ngram}
        if f.scan.benchmarks is not None:
            kw["benchmarks"] = list(f.scan.benchmarks)
        if f.scan.fields is not None:
            kw["fields"] = list(f.scan.fields)
        if f.scan.workers is not None:
            kw["workers"] = f.scan.workers
        if f.scan.profile:
            kw["profile"] = True
        plans.append(SectionPlan("scan", "scan", "scan", kw))
    v = f.verify
    for target in config.verify_targets:
        overrides = getattr(v, target) if v is not None else None
        benchmarks = (overrides.benchmarks if overrides and overrides.benchmarks else None) or (
            v.benchmarks if v else None
        )
        # A per-target override of either way of cutting the test set replaces both of the shared ones.
        if overrides and (overrides.limit or overrides.sample):
            limit, sample = overrides.limit, overrides.sample
        else:
            limit, sample = (v.limit, v.sample) if v else (None, None)
        kw = {
            "claims": config.claims_file or config.claims,
            "benchmarks": benchmarks,
            "limit": limit,
            "seed": v.seed if v else 1234,
        }
        if isinstance(sample, dict) and benchmarks:  # sizes for benchmarks this target does not score
            sample = {k: n for k, n in sample.items() if k == "default" or k in benchmarks}
        if sample is not None:
            kw["sample"] = sample
        if target == "weights":
            assert f.model is not None
            model_args = dict(f.model.model_args)
            if f.model.revision:
                model_args.setdefault("revision", f.model.revision)
            kw |= {
                "model": _local_path(config, f.model.path),
                "backend": f.model.backend,
                "model_args": model_args or None,
            }
        else:
            assert f.endpoint is not None
            endpoint_args = dict(f.endpoint.model_args)
            if f.endpoint.serve and f.endpoint.backend == "openai-completions":
                # The audit serves this model itself, so it knows the tokenizer that multiple-choice
                # log-likelihoods need: the served model's own.
                endpoint_args.setdefault("tokenizer", f.endpoint.serve)
            kw |= {
                "model": endpoint_model_name(config),
                "backend": f.endpoint.backend,
                "api_key_env": f.endpoint.api_key_env,
                "model_args": endpoint_args or None,
            }
        if target == "endpoint":
            plans += _fingerprint_plan(config)
        plans.append(
            SectionPlan(
                f"verify_{target}",
                "verify",
                f"verify_{target}",
                kw,
                needs_endpoint=target == "endpoint",
                needs_scan=f.scan is not None,
            )
        )
    if not any(p.name == "fingerprint" for p in plans):
        plans += _fingerprint_plan(config)
    plans += _contamination_plan(config)
    return plans


def _contamination_plan(config: AuditConfig) -> list[SectionPlan]:
    """`harness contamination` on the weights or the endpoint; after the fingerprint, so an endpoint's
    contamination is only read once the audit knows what it serves."""
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
        kw["reference"] = _local_path(config, c.reference)
    if target == "weights":
        assert f.model is not None
        model_args = dict(f.model.model_args)
        if f.model.revision:
            model_args.setdefault("revision", f.model.revision)
        kw |= {
            "model": _local_path(config, f.model.path),
            "backend": f.model.backend,
            "model_args": model_args or None,
        }
    else:
        assert f.endpoint is not None
        endpoint_args = dict(f.endpoint.model_args)
        if f.endpoint.serve and f.endpoint.backend == "openai-completions":
            endpoint_args.setdefault("tokenizer", f.endpoint.serve)
        kw |= {
            "model": endpoint_model_name(config),
            "backend": f.endpoint.backend,
            "api_key_env": f.endpoint.api_key_env,
            "model_args": endpoint_args or None,
        }
    return [
        SectionPlan(
            "contamination", "contamination", "contamination", kw, needs_endpoint=target == "endpoint"
        )
    ]


def _local_path(config: AuditConfig, value: str) -> str:
    """A relative path that exists next to the audit file is made absolute; names pass through unchanged."""
    candidate = config.base_dir / value
    if value != "smollm2" and not Path(value).is_absolute() and candidate.exists():
        return str(candidate.resolve())
    return value


def _fingerprint_plan(config: AuditConfig) -> list[SectionPlan]:
    f = config.file
    if f.fingerprint is None or f.endpoint is None:
        return []
    kw: dict[str, Any] = {
        "model": endpoint_model_name(config),
        "reference": _local_path(config, f.fingerprint.reference),
        "budget": f.fingerprint.budget,
        "seed": f.fingerprint.seed,
        "api_key_env": f.endpoint.api_key_env,
    }
    if f.fingerprint.chat is not None:
        kw["chat"] = f.fingerprint.chat
    return [SectionPlan("fingerprint", "fingerprint", "fingerprint", kw, needs_endpoint=True)]


def endpoint_model_name(config: AuditConfig) -> str:
    ep = config.file.endpoint
    assert ep is not None
    return ep.model or (f"{ep.serve}" if ep.serve else "")


def section_status(section: dict) -> str:
    """A section's status as one of the four classes; a word nobody registered counts as failed."""
    from harness.records.status import status_class

    try:
        return status_class(str(section.get("status")))
    except ValueError:
        return "failed"


def overall_status(sections: dict[str, dict]) -> str:
    """The sections combined by the one rule every command uses (``harness.records.status``): a flag
    stands whatever else happened, then a failed check, then an unresolved one; only all-clean is clean,
    and an audit that checked nothing is unresolved."""
    from harness.records.status import combine_status

    return combine_status(section_status(s) for s in sections.values())


def exit_code(status: str) -> int:
    """0 clean, 1 flagged, 2 failed, 3 unresolved: the shared exit-code table."""
    from harness.records.status import exit_code as shared_exit_code

    try:
        return shared_exit_code(status)
    except ValueError:
        return 2


SECTION_TITLES = {
    "scan": "Leakage scan",
    "fingerprint": "Endpoint fingerprint",
    "verify_weights": "Scores of the weights",
    "verify_endpoint": "Scores of the endpoint",
    "contamination": "Contamination (model side)",
}


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
    """The versions that can change a number in the report (absent packages as null)."""
    names = [
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
    ]
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
            scan[key] = {"bytes": size, "sha256": _sha256_file(fpath)}
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


def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def _canonical_sha256(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode("utf-8")).hexdigest()


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
        "schema": "harness.audit",
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
    write_json(run_dir / "audit.json", record)
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
    kwargs = dict(plan.kwargs)
    try:
        fn = runners.get(plan.runner)
        if plan.runner == "scan":
            paths = kwargs.pop("paths")
            result = fn(paths, out_dir=out_dir, progress=progress, **kwargs)
        else:
            if plan.needs_endpoint:
                kwargs["endpoint" if plan.runner == "fingerprint" else "base_url"] = base_url
            if plan.runner == "fingerprint":
                kwargs["reference"] = Path(
                    kwargs["reference"]
                )  # the contract's type; "smollm2" stays "smollm2"
            if plan.runner == "verify" and plan.needs_scan:
                leakage = run_dir / "scan" / "leakage.json"
                if (
                    section_status(sections.get("scan", {})) in ("clean", "flagged", "unresolved")
                    and leakage.is_file()
                ):
                    kwargs["clean_from"] = leakage
            result = fn(out_dir=out_dir, progress=progress, **kwargs)
    except (Exception, SystemExit) as exc:
        return error_section(exc)
    if not isinstance(result, dict) or "status" not in result:
        return {
            "status": "error",
            "headline": "This check returned no result record.",
            "error": f"{plan.runner} returned {type(result).__name__}, not a dict with a 'status'",
        }
    return result


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Atomic write: a crash mid-write never leaves a half audit.json behind."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
