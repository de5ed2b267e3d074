"""The audit file: one TOML under `audits/` that says what to check; parsed and validated up front.

Everything is validated before any section runs, so a typo in the last table does not cost an hour of
scoring first. Errors name the file and the key (`audits/x.toml: [scan] paths[1]: file not found`).
Relative paths in the file are resolved against the file's own folder, so an audit runs the same from
any working directory.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.data.registry import BENCHMARKS

WEIGHTS_BACKENDS = ("hf", "vllm")
ENDPOINT_BACKENDS = ("openai-completions", "openai-chat")
SERVABLE = ("smollm2",)


class AuditConfigError(ValueError):
    """A bad audit file: the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_benchmarks(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [b for b in value if b not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; known: {sorted(BENCHMARKS)}")
    if len(set(value)) != len(value):
        raise ValueError("benchmarks listed twice")
    return value


class AuditMeta(_Strict):
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""


class ModelSection(_Strict):
    """Weights to score locally: a path, a Hub name already on disk, or "smollm2"."""

    path: str
    backend: Literal["hf", "vllm"] = "hf"
    revision: str | None = None
    model_args: dict[str, Any] = Field(default_factory=dict)


class EndpointSection(_Strict):
    """An OpenAI-compatible endpoint: either `url` (someone else's) or `serve` (the audit starts one)."""

    url: str | None = None
    serve: Literal["smollm2"] | None = None
    model: str | None = None
    api_key_env: str | None = None
    backend: Literal["openai-completions", "openai-chat"] = "openai-completions"
    model_args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _url_or_serve(self) -> EndpointSection:
        if (self.url is None) == (self.serve is None):
            raise ValueError(
                "give exactly one of `url` (an existing endpoint) or `serve` (start one locally)"
            )
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"`url` must start with http:// or https://, got {self.url!r}")
        if self.url is not None and not self.model:
            raise ValueError("`model` (the model name the endpoint is asked for) is required with `url`")
        return self


def _check_sample(value: int | dict[str, int] | None) -> int | dict[str, int] | None:
    """`sample = 40`, or per benchmark: `sample = { default = 40, gsm8k = 8 }`."""
    sizes = value if isinstance(value, dict) else {"default": value}
    unknown = [k for k in sizes if k != "default" and k not in BENCHMARKS]
    if unknown:
        raise ValueError(
            f"unknown benchmark(s) {unknown} in sample; known: {sorted(BENCHMARKS)} or 'default'"
        )
    if any(v is not None and v < 1 for v in sizes.values()):
        raise ValueError("sample sizes must be positive numbers of items")
    return value


def _limit_or_sample(section: Any) -> Any:
    if section.limit is not None and section.sample is not None:
        raise ValueError("give `limit` (the first N items) or `sample` (N random items), not both")
    return section


class VerifyOverrides(_Strict):
    benchmarks: list[str] | None = None
    limit: int | None = Field(default=None, ge=1)
    sample: int | dict[str, int] | None = None

    _bench = field_validator("benchmarks")(_check_benchmarks)
    _sample = field_validator("sample")(_check_sample)
    _cut = model_validator(mode="after")(_limit_or_sample)


class VerifySection(_Strict):
    targets: list[Literal["weights", "endpoint"]] | None = None
    benchmarks: list[str] | None = None
    limit: int | None = Field(
        default=None, ge=1
    )  # the first N items of each lm-eval task (MMLU: per subject)
    sample: int | dict[str, int] | None = None  # seeded random sample of N items (per benchmark: a table)
    seed: int = 1234
    weights: VerifyOverrides = Field(default_factory=VerifyOverrides)
    endpoint: VerifyOverrides = Field(default_factory=VerifyOverrides)

    _bench = field_validator("benchmarks")(_check_benchmarks)
    _sample = field_validator("sample")(_check_sample)
    _cut = model_validator(mode="after")(_limit_or_sample)


class FingerprintSection(_Strict):
    reference: str
    budget: int = Field(default=200, ge=1)
    seed: int = 0
    chat: bool | None = None
    tolerance: Literal["16bit", "8bit", "4bit"] | None = None
    # a trusted server with the public weights scores fresh probes; `reference` is then a signature
    reference_endpoint: str | None = None
    reference_model: str | None = None
    reference_api_key_env: str | None = None


class ScanSection(_Strict):
    paths: list[str] = Field(min_length=1)
    benchmarks: list[str] | None = None
    ngram: int = Field(default=13, ge=1)
    fields: list[str] | None = None
    workers: int | None = Field(default=None, ge=1)
    profile: bool = (
        False  # the corpus profile (compression ratio, duplicates, lengths; harness scan --profile)
    )

    _bench = field_validator("benchmarks")(_check_benchmarks)


class ContaminationSection(_Strict):
    """`harness contamination` on the audit's weights (default when there is a [model]) or endpoint."""

    target: Literal["weights", "endpoint"] | None = None
    benchmarks: list[str] | None = None
    sample: int | dict[str, int] | None = None
    seed: int = 1234
    twins: int = Field(default=2, ge=1, le=20)
    reference: str | None = None
    tests: list[Literal["scores", "likelihood", "completion", "order"]] | None = None
    control: bool | None = None
    alpha: float = Field(default=0.01, gt=0, lt=0.5)
    n_shot: int | None = Field(default=None, ge=0)
    max_gen_toks: int | None = Field(default=None, ge=1)

    _bench = field_validator("benchmarks")(_check_benchmarks)
    _sample = field_validator("sample")(_check_sample)


class AuditFile(_Strict):
    """The whole file; every table is optional."""

    audit: AuditMeta = Field(default_factory=AuditMeta)
    model: ModelSection | None = None
    endpoint: EndpointSection | None = None
    claims: dict[str, Any] | None = None
    verify: VerifySection | None = None
    fingerprint: FingerprintSection | None = None
    scan: ScanSection | None = None
    contamination: ContaminationSection | None = None


class AuditConfig(BaseModel):
    """A validated audit: the parsed file plus what was resolved from it (absolute paths, checksums)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    name: str
    file: AuditFile
    raw: dict[str, Any]
    file_sha256: str
    claims: dict[str, Any] | None  # inline claims, or the claims file's table (read and checksummed)
    claims_file: Path | None
    claims_sha256: str | None
    scan_paths: tuple[Path, ...]
    verify_targets: tuple[str, ...]

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def _key_of(loc: tuple[Any, ...]) -> str:
    """Pydantic's error location as the TOML key a user would look for: `[scan] paths[1]`."""
    parts = [p for p in loc if p not in ("function-after[_url_or_serve(), EndpointSection]",)]
    if not parts:
        return "(top level)"
    head, rest = str(parts[0]), parts[1:]
    key = ""
    for p in rest:
        if isinstance(p, int):
            key += f"[{p}]"
        elif not str(p).startswith(("function-", "literal[")):
            key += f".{p}" if key else str(p)
    return f"[{head}] {key}".rstrip() if key else f"[{head}]"


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see docs/audit.md)"
        lines.append(f"{path}: {_key_of(tuple(err['loc']))}: {msg}")
    return "\n".join(lines)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _resolve_claims(path: Path, claims: dict[str, Any] | None) -> tuple[dict | None, Path | None, str | None]:
    """Inline claims are kept as written; `file = "..."` is read now so its bytes are checksummed."""
    if claims is None:
        return None, None, None
    if "file" not in claims:
        unknown = [k for k in claims if k not in BENCHMARKS and not isinstance(claims[k], str)]
        if unknown:
            raise AuditConfigError(
                f"{path}: [claims] {unknown[0]}: not a benchmark; known: {sorted(BENCHMARKS)}"
            )
        return dict(claims), None, None
    extra = [k for k in claims if k != "file"]
    if extra:
        raise AuditConfigError(f"{path}: [claims] {extra[0]}: give either `file` or inline claims, not both")
    claims_path = (path.parent / str(claims["file"])).resolve()
    if not claims_path.is_file():
        raise AuditConfigError(f"{path}: [claims] file: {claims_path} not found")
    try:
        table = tomllib.loads(claims_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuditConfigError(f"{claims_path}: invalid TOML ({exc}) (claims file named in {path})") from None
    return table, claims_path, _sha256_file(claims_path)


def _verify_targets(path: Path, f: AuditFile) -> tuple[str, ...]:
    wants_verify = f.verify is not None or f.claims is not None
    if not wants_verify:
        return ()
    asked = f.verify.targets if f.verify and f.verify.targets is not None else None
    if asked is None:
        targets = tuple(t for t, present in (("weights", f.model), ("endpoint", f.endpoint)) if present)
        if not targets:
            raise AuditConfigError(
                f"{path}: [verify]: nothing to score; add a [model] or an [endpoint] table"
            )
        return targets
    for t in asked:
        if t == "weights" and f.model is None:
            raise AuditConfigError(f"{path}: [verify] targets: 'weights' needs a [model] table")
        if t == "endpoint" and f.endpoint is None:
            raise AuditConfigError(f"{path}: [verify] targets: 'endpoint' needs an [endpoint] table")
    return tuple(dict.fromkeys(asked))


def parse_audit(text: str, path: Path) -> AuditConfig:
    """Validate the text of an audit file; `path` locates relative paths and names the file in errors."""
    path = Path(path).resolve()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AuditConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        f = AuditFile.model_validate(raw)
    except ValidationError as exc:
        raise AuditConfigError(_format_errors(path, exc)) from None
    if f.fingerprint is not None and f.endpoint is None:
        raise AuditConfigError(f"{path}: [fingerprint]: needs an [endpoint] table to fingerprint")
    if f.contamination is not None:
        target = f.contamination.target or ("weights" if f.model is not None else "endpoint")
        if (target == "weights" and f.model is None) or (target == "endpoint" and f.endpoint is None):
            table = "[model]" if target == "weights" else "[endpoint]"
            raise AuditConfigError(f"{path}: [contamination]: target '{target}' needs a {table} table")
    claims, claims_file, claims_sha = _resolve_claims(path, f.claims)
    scan_paths = []
    if f.scan is not None:
        for i, p in enumerate(f.scan.paths):
            resolved = (path.parent / p).resolve()
            # Globs are the scan's business; a plain path that does not exist is a typo worth stopping for.
            if not any(ch in p for ch in "*?[") and not resolved.exists():
                raise AuditConfigError(f"{path}: [scan] paths[{i}]: {resolved} not found")
            scan_paths.append(resolved)
    return AuditConfig(
        path=path,
        name=f.audit.name or path.stem,
        file=f,
        raw=raw,
        file_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        claims=claims,
        claims_file=claims_file,
        claims_sha256=claims_sha,
        scan_paths=tuple(scan_paths),
        verify_targets=_verify_targets(path, f),
    )


def load_audit(path: str | Path) -> AuditConfig:
    """Read and validate an audit file; raises AuditConfigError naming the file and key."""
    path = Path(path)
    if not path.is_file():
        raise AuditConfigError(f"{path}: audit file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AuditConfigError(f"{path}: not UTF-8 text ({exc})") from None
    return parse_audit(text, path)
