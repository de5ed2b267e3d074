"""The honest floor and the power table: pure functions over the floor script's JSONL rows.

``scripts/fingerprint_floor.py`` fingerprints every zoo endpoint many times and appends one row per run
(``compact_run``); this module turns those rows into the tables issue 13 asks for:

* **honest floor**: per class of honest endpoint, runs, false ``mismatch`` count and the exact
  (Clopper-Pearson) one-sided 95% upper bound on the false-alarm rate, from ``scipy.stats.binomtest``.
  0 false alarms in n runs bounds the rate by 1 - 0.05^(1/n): 1% needs n >= 299.
* **power**: per substitute class, runs, detections (``mismatch``), misses by ``match`` (a cleared
  substitute: the worse error) and ``inconclusive``, the detection rate with its exact two-sided 95%
  interval, and the requests and tokens spent per run.

Runs against one deterministic endpoint are not independent draws when the probes do not change with
the seed: identical records are one observation repeated. Each row therefore carries a digest of its
record (without timing and the endpoint's port), and the tables count distinct records beside runs and
give the bound over both. The binomial bound is exact for independent runs; it says nothing about
endpoints unlike any in the zoo.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.records.files import dumps_json, sha256_bytes

# Honest, but not counted in the headline floor: a buyer may not call Q2/Q3 "the claimed weights".
EXCLUDED_FROM_FLOOR = frozenset({"aggressive-quantisation"})
CONFIDENCE = 0.95


def clopper_pearson_upper(k: int, n: int, confidence: float = CONFIDENCE) -> float | None:
    """Exact one-sided upper confidence bound on a binomial rate (None when n is 0)."""
    from scipy.stats import binomtest

    if n == 0:
        return None
    return float(binomtest(k, n, alternative="less").proportion_ci(confidence).high)


def clopper_pearson_interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Exact two-sided confidence interval on a binomial rate (None when n is 0)."""
    from scipy.stats import binomtest

    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def code_digest(package_dir: Path) -> str:
    """sha256 over a package's Python sources (names and contents): which fingerprint code ran."""
    h = hashlib.sha256()
    for p in sorted(Path(package_dir).rglob("*.py")):
        h.update(p.relative_to(package_dir).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def run_key(endpoint: str, seed: int, budget: int, code: str, tolerance: str = "4bit") -> str:
    """The JSONL key of one run; the default tolerance keeps the keys written before it was a setting."""
    key = f"{endpoint}|seed={seed}|budget={budget}|code={code}"
    return key if tolerance == "4bit" else f"{key}|tolerance={tolerance}"


def claim_class(honest: bool, klass: str, within: bool, tolerance: str) -> tuple[bool, str]:
    """(honest, class) of an endpoint under a claim of ``tolerance`` numerics. Under the default 4bit
    claim the zoo's own labels stand; under 8bit or 16bit an honest endpoint computing with fewer bits
    than claimed serves less than was claimed, and counts as a substitute of its own class."""
    if tolerance == "4bit" or not honest or within:
        return honest, klass
    return False, f"quantised below the claimed {tolerance}"


def record_digest(record: dict[str, Any]) -> str:
    """Digest of a fingerprint record without what varies between identical runs (timing, URL, paths)."""
    stable = {k: v for k, v in record.items() if k not in ("timing", "endpoint", "settings")}
    settings = {k: v for k, v in (record.get("settings") or {}).items() if k != "seed"}
    return sha256_bytes(dumps_json({**stable, "settings": settings}))[:16]


def compact_run(record: dict[str, Any]) -> dict[str, Any]:
    """What the floor keeps of one fingerprint record (the full record stays in its run folder)."""
    cost = record.get("cost") or {}
    evidence = [
        {
            "name": e.get("name"),
            "supports": e.get("supports"),
            "p_value": e.get("p_value"),
            "decisive": e.get("decisive"),
            "statistic": (e.get("statistic") or "")[:200],
        }
        for e in record.get("evidence") or []
    ]
    return {
        "verdict": record.get("verdict") or "error",
        "status": record.get("status"),
        "weights_relation": record.get("weights_relation"),
        "headline": (record.get("headline") or "")[:400],
        "mode": (record.get("capabilities") or {}).get("mode"),
        "requests": int(cost.get("requests") or 0),
        "tokens": int(cost.get("prompt_tokens") or 0) + int(cost.get("completion_tokens") or 0),
        "evidence": evidence,
        "error": record.get("error"),
        "record_digest": record_digest(record),
        "seconds": (record.get("timing") or {}).get("seconds"),
    }


def completed(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows that finished a fingerprint (harness failures are retried on resume), by key; last wins."""
    return {r["key"]: r for r in rows if not r.get("failure")}


def _median(xs: list[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def _group_rows(rows: list[dict[str, Any]], by: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r[by]].append(r)
    return dict(out)


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    verdicts = [r["verdict"] for r in rows]
    distinct = {(r["endpoint"], r["record_digest"]) for r in rows}
    distinct_mismatch = {(r["endpoint"], r["record_digest"]) for r in rows if r["verdict"] == "mismatch"}
    return {
        "endpoints": len({r["endpoint"] for r in rows}),
        "runs": len(rows),
        "distinct_records": len(distinct),
        "mismatch": verdicts.count("mismatch"),
        "match": verdicts.count("match"),
        "inconclusive": verdicts.count("inconclusive"),
        "error": verdicts.count("error"),
        "distinct_mismatch": len(distinct_mismatch),
        "median_requests": _median([r["requests"] for r in rows]),
        "median_tokens": _median([r["tokens"] for r in rows]),
        "mean_tokens": statistics.fmean([r["tokens"] for r in rows]) if rows else None,
    }


def summarise(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The floor and power tables (JSON-safe) from completed JSONL rows."""
    done = list(completed(rows).values())
    honest = [r for r in done if r["honest"]]
    subs = [r for r in done if not r["honest"]]
    floor_rows = []
    for klass, rs in sorted(_group_rows(honest, "class").items()):
        c = _counts(rs)
        c["class"] = klass
        c["in_floor"] = klass not in EXCLUDED_FROM_FLOOR
        c["false_mismatch_upper95"] = clopper_pearson_upper(c["mismatch"], c["runs"])
        c["false_mismatch_upper95_distinct"] = clopper_pearson_upper(
            c["distinct_mismatch"], c["distinct_records"]
        )
        floor_rows.append(c)
    counted = [r for r in honest if r["class"] not in EXCLUDED_FROM_FLOOR]
    total = _counts(counted)
    total["class"] = "all honest (headline)"
    total["false_mismatch_upper95"] = clopper_pearson_upper(total["mismatch"], total["runs"])
    total["false_mismatch_upper95_distinct"] = clopper_pearson_upper(
        total["distinct_mismatch"], total["distinct_records"]
    )
    power_rows = []
    for klass, rs in sorted(_group_rows(subs, "class").items()):
        c = _counts(rs)
        c["class"] = klass
        c["detection_rate"] = c["mismatch"] / c["runs"] if c["runs"] else None
        c["detection_ci95"] = clopper_pearson_interval(c["mismatch"], c["runs"])
        power_rows.append(c)
    per_endpoint = []
    for name, rs in _group_rows(done, "endpoint").items():
        c = _counts(rs)
        c.update(endpoint=name, honest=rs[0]["honest"], **{"class": rs[0]["class"]})
        relations = sorted({str(r.get("weights_relation")) for r in rs})
        c["weights_relation"] = relations
        c["example_headline"] = rs[0]["headline"]
        per_endpoint.append(c)
    return {
        "honest_floor": floor_rows,
        "honest_total": total,
        "power": power_rows,
        "per_endpoint": per_endpoint,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def render_markdown(summary: dict[str, Any], *, meta: dict[str, Any] | None = None) -> str:
    """The tables as Markdown (rendered from ``summarise``'s output, never re-computed)."""
    lines = ["# Fingerprint honest floor and power", ""]
    for k, v in (meta or {}).items():
        lines.append(f"- {k}: {v}")
    lines += [
        "",
        "## Honest floor (false `mismatch` on endpoints serving the claimed weights)",
        "",
        "| class | endpoints | runs | distinct records | false mismatch | 95% upper (runs) | 95% upper (distinct) | match | inconclusive | error | median requests | median tokens |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in [*summary["honest_floor"], summary["honest_total"]]:
        name = c["class"] if c.get("in_floor", True) else f"{c['class']} (not in headline)"
        lines.append(
            f"| {name} | {c['endpoints']} | {c['runs']} | {c['distinct_records']} | {c['mismatch']} | "
            f"{_pct(c['false_mismatch_upper95'])} | {_pct(c['false_mismatch_upper95_distinct'])} | {c['match']} | "
            f"{c['inconclusive']} | {c['error']} | {_num(c['median_requests'])} | {_num(c['median_tokens'])} |"
        )
    lines += [
        "",
        "## Power on substitutes (`mismatch` = detected; `match` = a substitute cleared)",
        "",
        "| class | endpoints | runs | detected | rate (95% CI) | cleared as match | inconclusive | error | median requests | median tokens |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in summary["power"]:
        ci = c["detection_ci95"]
        rate = "n/a" if ci is None else f"{_pct(c['detection_rate'])} ({_pct(ci[0])}-{_pct(ci[1])})"
        lines.append(
            f"| {c['class']} | {c['endpoints']} | {c['runs']} | {c['mismatch']} | {rate} | {c['match']} | "
            f"{c['inconclusive']} | {c['error']} | {_num(c['median_requests'])} | {_num(c['median_tokens'])} |"
        )
    lines += [
        "",
        "## Per endpoint",
        "",
        "| endpoint | honest | class | runs | distinct | match | mismatch | inconclusive | error | median tokens | weights_relation | a headline |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in summary["per_endpoint"]:
        headline = c["example_headline"].replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(
            f"| {c['endpoint']} | {'yes' if c['honest'] else 'no'} | {c['class']} | {c['runs']} | "
            f"{c['distinct_records']} | {c['match']} | {c['mismatch']} | {c['inconclusive']} | {c['error']} | "
            f"{_num(c['median_tokens'])} | {', '.join(c['weights_relation'])} | {headline} |"
        )
    return "\n".join(lines) + "\n"
