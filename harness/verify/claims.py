"""Claims files: what was claimed, per benchmark, and under which evaluation setting.

A score means nothing without its setting (8-shot chain-of-thought GSM8K with a chat template is a
different measurement from 5-shot plain GSM8K), so a claim carries the setting it was published
under and the run reproduces that setting. Example (TOML, values in percent, one table per benchmark):

    model = "mattshumer/Reflection-Llama-3.1-70B"
    notes = "launch post, 2024-09-05"

    [gsm8k]
    value = 99.2
    metric = "exact_match"
    filter = "flexible-extract"
    n_shot = 0
    chain_of_thought = true
    chat_template = true
    source = "https://..."

The benchmark tables may also sit under a `[benchmarks]` table (`[benchmarks.gsm8k]`); an audit
file's inline `[claims.gsm8k]` tables are the same tables one level down.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.data.registry import BENCHMARKS, BenchmarkSpec, get_spec

# Metrics, default metric, answer filters and the chain-of-thought task of each benchmark come from
# its spec (harness/data/benchmarks/<name>.toml): the metric a benchmark is scored with when nobody
# said otherwise is what lm-eval's task reports first for GSM8K and MMLU, and length-normalised
# accuracy for ARC and HellaSwag, the number model cards and leaderboards publish for those.

_BENCHMARK_KEYS = {
    "value",
    "metric",
    "filter",
    "n_shot",
    "chain_of_thought",
    "chat_template",
    "max_gen_toks",
    "source",
    "notes",
}
# The keys that make up the evaluation setting (what the run must reproduce).
SETTING_KEYS = ("metric", "filter", "n_shot", "chain_of_thought", "chat_template", "max_gen_toks")
_TOP_KEYS = {"model", "notes", "benchmarks"}  # besides one table per benchmark name


class ClaimsError(ValueError):
    """A claims file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Setting:
    """How one benchmark is run: metric, answer extraction, shots, chain of thought, chat template.

    `n_shot=None` means the lm-eval task's own default (GSM8K 5, GSM8K-CoT 8, others 0).
    """

    metric: str
    filter: str  # lm-eval filter name: "strict-match" / "flexible-extract" for GSM8K, "none" otherwise
    n_shot: int | None = None
    chain_of_thought: bool = False
    chat_template: bool = False
    max_gen_toks: int | None = None  # generation cap (GSM8K); None: the backend's default (lm-eval: 256)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def metric_key(self) -> str:
        """The key lm-eval uses in its results, e.g. "exact_match,strict-match"."""
        return f"{self.metric},{self.filter}"


@dataclass(frozen=True)
class Claim:
    benchmark: str
    value: float  # percent, as published
    setting: Setting
    source: str | None = None  # where the claim was published; None when the file does not say
    notes: str = ""
    # Setting keys the file states; the others take the documented defaults (reported as assumed).
    stated: tuple[str, ...] = ()
    decimals: int | None = None  # decimals the value was written with (rounding is granted to the claim)

    def to_dict(self) -> dict[str, Any]:
        """Flat, like the TOML table it came from (the setting's keys beside the value)."""
        return {
            "benchmark": self.benchmark,
            "value": self.value,
            **self.setting.to_dict(),
            "source": self.source,
            "notes": self.notes,
            "stated": list(self.stated),
            "decimals": self.decimals,
        }


@dataclass(frozen=True)
class ClaimsFile:
    claims: tuple[Claim, ...]
    model: str | None = None
    notes: str = ""
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "model": self.model,
            "notes": self.notes,
            "claims": [c.to_dict() for c in self.claims],
        }

    def get(self, benchmark: str) -> Claim | None:
        return next((c for c in self.claims if c.benchmark == benchmark), None)


def default_setting(benchmark: str) -> Setting:
    """lm-eval's defaults for a benchmark, used when no claim fixes the setting."""
    lm_eval = get_spec(benchmark).lm_eval
    return Setting(metric=lm_eval.default_metric, filter=lm_eval.default_filter)


def _titles(which: Callable[[BenchmarkSpec], bool]) -> str:
    """The titles of the benchmarks a rule applies to, for error messages ("GSM8K")."""
    return ", ".join(s.title for s in BENCHMARKS.values() if which(s))


def load_claims(source: Path | str | dict[str, Any]) -> ClaimsFile:
    """Read and validate a claims file (path) or an already-parsed mapping (e.g. an audit section)."""
    if isinstance(source, dict):
        where = "<claims>"
        data = source
    else:
        path = Path(source)
        where = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ClaimsError(f"{where}: file not found") from None
        except UnicodeDecodeError as exc:
            raise ClaimsError(f"{where}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
        except OSError as exc:
            raise ClaimsError(f"{where}: cannot read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ClaimsError(f"{where}: not valid TOML: {exc}") from None
    return parse_claims(data, where)


def parse_claims(data: dict[str, Any], where: str = "<claims>") -> ClaimsFile:
    """Validate a parsed claims table; every error names the file and the key."""
    if not isinstance(data, dict):
        raise ClaimsError(f"{where}: claims must be a table of benchmark tables, got {type(data).__name__}")
    unknown = set(data) - _TOP_KEYS - set(BENCHMARKS)
    if unknown:
        raise ClaimsError(
            f"{where}: unknown key(s) {sorted(unknown)}: not a benchmark ({', '.join(BENCHMARKS)}) "
            f"nor one of {sorted(_TOP_KEYS)}"
        )
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise ClaimsError(f"{where}: 'model' must be a string")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise ClaimsError(f"{where}: 'notes' must be a string")
    nested = data.get("benchmarks", {})
    if not isinstance(nested, dict):
        raise ClaimsError(f"{where}: 'benchmarks' must be a table of [benchmarks.<name>] tables")
    tables: dict[str, tuple[str, Any]] = {}
    for name, body in nested.items():
        tables[name] = (f"benchmarks.{name}", body)
    for name in BENCHMARKS:
        if name in data:
            if name in tables:
                raise ClaimsError(f"{where}: [{name}] and [benchmarks.{name}] both given; keep one")
            tables[name] = (name, data[name])
    if not tables:
        raise ClaimsError(
            f"{where}: no claims: add a table per benchmark, e.g. [gsm8k] with value = 56.7 "
            f"(benchmarks: {', '.join(BENCHMARKS)})"
        )
    claims = [_parse_claim(name, key, body, where) for name, (key, body) in tables.items()]
    return ClaimsFile(tuple(claims), model=model, notes=notes, path=None if where == "<claims>" else where)


def _parse_claim(name: str, key: str, body: Any, where: str) -> Claim:
    if name not in BENCHMARKS:
        raise ClaimsError(f"{where}: [{key}]: unknown benchmark; known: {', '.join(BENCHMARKS)}")
    if not isinstance(body, dict):
        raise ClaimsError(f"{where}: [{key}] must be a table")
    unknown = set(body) - _BENCHMARK_KEYS
    if unknown:
        raise ClaimsError(
            f"{where}: [{key}]: unknown key(s) {sorted(unknown)}; allowed: {sorted(_BENCHMARK_KEYS)}"
        )

    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimsError(f"{where}: {key}.value must be a number (percent), got {value!r}")
    if not 0 <= value <= 100:
        raise ClaimsError(f"{where}: {key}.value = {value}: a percentage between 0 and 100 (not a fraction)")

    spec = get_spec(name)
    lm_eval = spec.lm_eval
    metric = body.get("metric", lm_eval.default_metric)
    if metric not in lm_eval.metrics:
        raise ClaimsError(
            f"{where}: {key}.metric = {metric!r}; for {name} use one of {list(lm_eval.metrics)}"
        )

    filt = body.get("filter", lm_eval.default_filter)
    if lm_eval.extracts_answer:
        if filt not in lm_eval.filters:
            raise ClaimsError(f"{where}: {key}.filter = {filt!r}; use one of {list(lm_eval.filters)}")
    elif filt != "none":
        raise ClaimsError(
            f"{where}: {key}.filter applies to {_titles(lambda s: s.lm_eval.extracts_answer)} only; "
            f"{name} has no answer extraction"
        )

    n_shot = body.get("n_shot")
    if n_shot is not None and (isinstance(n_shot, bool) or not isinstance(n_shot, int) or n_shot < 0):
        raise ClaimsError(f"{where}: {key}.n_shot must be a non-negative integer, got {n_shot!r}")

    flags = {}
    for flag in ("chain_of_thought", "chat_template"):
        val = body.get(flag, False)
        if not isinstance(val, bool):
            raise ClaimsError(f"{where}: {key}.{flag} must be true or false, got {val!r}")
        flags[flag] = val
    if flags["chain_of_thought"] and lm_eval.chain_of_thought is None:
        cot = {
            s.title: s.lm_eval.chain_of_thought.task
            for s in BENCHMARKS.values()
            if s.lm_eval.chain_of_thought
        }
        raise ClaimsError(
            f"{where}: {key}.chain_of_thought: only {', '.join(cot)} has a chain-of-thought task here "
            f"(lm-eval {', '.join(cot.values())})"
        )

    max_gen_toks = body.get("max_gen_toks")
    if max_gen_toks is not None:
        if isinstance(max_gen_toks, bool) or not isinstance(max_gen_toks, int) or max_gen_toks < 1:
            raise ClaimsError(f"{where}: {key}.max_gen_toks must be a positive integer, got {max_gen_toks!r}")
        if not spec.generative:
            raise ClaimsError(
                f"{where}: {key}.max_gen_toks applies to {_titles(lambda s: s.generative)} only (the "
                "generative benchmark)"
            )

    source = body.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise ClaimsError(f"{where}: {key}.source must be a non-empty string: where the claim was published")
    notes = body.get("notes", "")
    if not isinstance(notes, str):
        raise ClaimsError(f"{where}: {key}.notes must be a string")
    setting = Setting(metric=metric, filter=filt, n_shot=n_shot, max_gen_toks=max_gen_toks, **flags)
    from harness.verify.ceilings import decimals_of

    return Claim(
        benchmark=name,
        value=float(value),
        setting=setting,
        source=source.strip() if source else None,
        notes=notes,
        stated=tuple(k for k in SETTING_KEYS if k in body),
        decimals=decimals_of(value),
    )
