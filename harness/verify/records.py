"""Per-item records: lm-eval's logged samples mapped back to the data layer's item ids.

One row per item: the exact request arguments lm-eval sent, the raw responses, the filtered
(extracted) answer, the target, and every per-item metric value lm-eval computed. With these, any
subset of items (clean vs dirty, one subject, corrected labels) can be re-scored without the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.items import BenchmarkSet
from harness.data.registry import get_spec

COLUMNS = [
    "item_id",
    "benchmark",
    "task",
    "doc_id",
    "subject",
    "prompt",
    "response",
    "extracted",
    "target",
    "correct",
    "metrics",
    "gen_tokens",
    "no_final_answer",
]

SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("benchmark", pa.string()),
        ("task", pa.string()),
        ("doc_id", pa.int64()),
        ("subject", pa.string()),
        ("prompt", pa.string()),  # JSON: lm-eval's request arguments, one entry per request
        ("response", pa.string()),  # JSON: raw responses (generations or [loglikelihood, is_greedy])
        # The answer under the primary metric: GSM8K's extracted number (or "[invalid]"); for multiple
        # choice the index of the chosen option (argmax of the log-likelihoods, length-normalised for
        # acc_norm, as lm-eval scores it)
        ("extracted", pa.string()),
        ("target", pa.string()),
        ("correct", pa.float64()),  # the primary metric's value for this item
        ("metrics", pa.string()),  # JSON: {"metric,filter": value} for every metric lm-eval computed
        # Generative benchmarks: tokens generated (model's tokenizer; null without one) and whether the
        # strict answer filter found no final answer (the signs of a generation cut at the token cap)
        ("gen_tokens", pa.int64()),
        ("no_final_answer", pa.bool_()),
    ]
)


class RecordError(ValueError):
    """lm-eval's samples do not line up with the data layer's items."""


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def _doc_text(benchmark: str, doc: dict[str, Any]) -> str:
    """The text the model is asked (the spec's ``text_field``): how a doc is matched to our row."""
    return doc[get_spec(benchmark).text_field]


def build_records(
    bs: BenchmarkSet,
    samples: dict[str, list[dict[str, Any]]],
    doc_rows: dict[str, list[int]],
    subjects: dict[str, str | None],
    metric_key: str,
    count_tokens: Callable[[str], int] | None = None,
) -> list[dict[str, Any]]:
    """Records for one benchmark, in our item order, from lm-eval's `samples` (log_samples=True).

    `doc_rows[task][doc_id]` is our row index; the document lm-eval scored is checked against our
    row's text, so a mis-mapped id is an error rather than a wrong label in a report. For generations,
    `count_tokens` (the model's tokenizer) fills `gen_tokens`.
    """
    metric, filter_name = metric_key.split(",", 1)
    by_row: dict[int, dict[str, Any]] = {}
    for task, rows in doc_rows.items():
        task_samples = samples.get(task)
        if task_samples is None:
            raise RecordError(f"lm-eval returned no samples for task {task}")
        for sample in task_samples:
            doc_id = int(sample["doc_id"])
            if doc_id >= len(rows):
                raise RecordError(f"{task}: doc_id {doc_id} beyond the {len(rows)} rows written for it")
            row_index = rows[doc_id]
            item = bs.items[row_index]
            ours = _doc_text(bs.benchmark, bs.rows[row_index])
            theirs = _doc_text(bs.benchmark, sample["doc"])
            if ours != theirs:
                raise RecordError(
                    f"{task} doc {doc_id} does not match {item.item_id}: {theirs[:80]!r} != {ours[:80]!r}"
                )
            rec = by_row.setdefault(
                row_index,
                {
                    "item_id": item.item_id,
                    "benchmark": bs.benchmark,
                    "task": task,
                    "doc_id": doc_id,
                    "subject": subjects.get(task) or item.subject,
                    "prompt": _json(sample["arguments"]),
                    "response": _json(sample["resps"]),
                    "extracted": None,
                    "target": str(sample["target"]),
                    "correct": None,
                    "metrics": {},
                    "gen_tokens": None,
                    "no_final_answer": None,
                },
            )
            if metric == "exact_match":
                _generation_facts(rec, sample, count_tokens)
            for name in sample["metrics"]:
                rec["metrics"][f"{name},{sample['filter']}"] = float(sample[name])
            if sample["filter"] == filter_name:
                rec["extracted"] = _extracted(sample, metric)
                if metric not in sample:
                    raise RecordError(f"{task}: lm-eval computed no '{metric}' (it has {sample['metrics']})")
                rec["correct"] = float(sample[metric])
    records = [by_row[i] for i in sorted(by_row)]
    for rec in records:
        if rec["correct"] is None:
            raise RecordError(f"{rec['item_id']}: lm-eval logged no '{metric_key}' result")
        rec["metrics"] = _json(rec["metrics"])
    return records


def _generation_facts(
    rec: dict[str, Any], sample: dict[str, Any], count_tokens: Callable[[str], int] | None
) -> None:
    """Token count of the raw generation and whether the strict filter found a final answer."""
    resps = sample.get("resps") or []
    text = resps[0][0] if resps and isinstance(resps[0], list) and resps[0] else None
    if rec["gen_tokens"] is None and count_tokens is not None and isinstance(text, str):
        rec["gen_tokens"] = int(count_tokens(text))
    if sample.get("filter") == "strict-match":
        filtered = sample.get("filtered_resps") or []
        first = filtered[0] if isinstance(filtered, list) and filtered else filtered
        rec["no_final_answer"] = str(first).strip() in ("[invalid]", "")


def _extracted(sample: dict[str, Any], metric: str) -> str:
    """The model's answer in words a reader can check against `target`."""
    resps = sample["filtered_resps"]
    if metric == "exact_match":
        return str(resps[0]) if isinstance(resps, list) and len(resps) == 1 else _json(resps)
    # multiple choice: filtered_resps are [loglikelihood, is_greedy] per option; lm-eval picks the
    # first argmax of the log-likelihoods, divided by the option's length in characters for acc_norm.
    lls = np.array([float(r[0]) for r in resps])
    if metric == "acc_norm":
        delimiter = " "  # target_delimiter of all four multiple-choice tasks used here
        lengths = np.array([float(len(arg[1].removeprefix(delimiter))) for arg in sample["arguments"]])
        lls = lls / lengths
    chosen = int(np.argmax(lls))
    target = sample["target"]
    if isinstance(target, int) and float(chosen == target) != float(sample.get(metric, -1)):
        return _json(resps)  # could not reproduce lm-eval's choice: keep its raw numbers instead
    return str(chosen)


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(list(records), schema=SCHEMA)
    pq.write_table(table, path)


def read_records(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def rescore(
    items_parquet: Path | str, item_ids: Sequence[str] | None = None, metric_key: str | None = None
) -> dict[str, Any]:
    """Score a subset of recorded items without the model, per benchmark, with the same statistics.

    `metric_key` ("acc_norm,none", "exact_match,flexible-extract", ...) re-scores under another metric
    lm-eval computed during the run; None uses the run's primary metric (`correct`). Unknown ids are
    an error, not silently dropped.
    """
    from harness.verify.statistics import measure

    frame = read_records(Path(items_parquet))
    if item_ids is not None:
        wanted = list(dict.fromkeys(item_ids))
        known = set(frame["item_id"])
        missing = [i for i in wanted if i not in known]
        if missing:
            raise RecordError(f"{len(missing)} item id(s) not in {items_parquet}, e.g. {missing[:3]}")
        frame = frame[frame["item_id"].isin(set(wanted))]
    out: dict[str, Any] = {}
    for benchmark, group in frame.groupby("benchmark", sort=True):
        if metric_key is None:
            values = group["correct"].astype(float).tolist()
        else:
            parsed = [orjson.loads(m) for m in group["metrics"]]
            if any(metric_key not in m for m in parsed):
                raise RecordError(
                    f"{benchmark}: metric '{metric_key}' was not recorded; have {sorted(parsed[0])}"
                )
            values = [float(m[metric_key]) for m in parsed]
        # a record's stratum (MMLU's subject) is its "subject"; strata cluster the rescored items
        clusters = group["subject"].tolist() if get_spec(str(benchmark)).strata is not None else None
        out[str(benchmark)] = {
            "n": len(values),
            "metric": metric_key or "primary",
            "measurement": measure(values, clusters=clusters).to_dict(),
        }
    return out
