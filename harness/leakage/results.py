"""Merge shard results into the scan's record (the dict written as leakage.json). Pure: values in, dict out.

Per item: `overlap` is the share of the item's indexed units found anywhere in the corpus (a segment with
variants counts through its best-covered variant, weighted by the primary's units); `longest_match` the
longest run of consecutive item words found in one text; `where` the first qualifying place in input order
(files sorted, then record, then offset), or the first place at all for an item that matched without
qualifying; `dirty` whether any text qualified (see `matcher`). Every item with any match is listed, dirty
or not; items never matched are left out (the benchmark counts cover them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.leakage.core import Finding, Place, ShardResult
from harness.leakage.index import TestIndex
from harness.leakage.inputs import InputFile
from harness.leakage.readers import REPLACED

DIRTY_RULE = (
    "dirty = at least one training text holds a run of >= {ngram} consecutive words of one of the item's "
    "fields (question, answer or solution, one choice) through an n-gram fewer than {boilerplate} test items share, or a "
    "complete field of {floor}-{short_max} words with at least two of the item's other fields (all, if it "
    "has fewer) chained next to it, at most {gap} words apart (a HellaSwag context of {floor}-{short_max} "
    "words needs no companions); words are normalised (NFKC, case-folded, punctuation and whitespace folded); "
    "fields under {floor} words are not indexed"
)


def item_overlap(index: TestIndex, units: np.ndarray) -> np.ndarray:
    """Share of each item's indexed units present in `units`, variants counted through the best one."""
    segs = index.segments
    n_seg = len(segs)
    seg_units = segs.units.astype(np.float64)
    seg_group, seg_item = segs.group, segs.item
    found = (
        np.bincount(index.unit_segment[units], minlength=n_seg).astype(np.float64)
        if units.size
        else np.zeros(n_seg)
    )
    coverage = np.divide(found, seg_units, out=np.zeros(n_seg), where=seg_units > 0)
    best = np.zeros(n_seg)
    np.maximum.at(best, seg_group, coverage)
    primary = seg_group == np.arange(n_seg)
    weight = np.where(primary, seg_units, 0.0)
    num = np.bincount(seg_item, weights=weight * best, minlength=len(index.items))
    den = np.bincount(seg_item, weights=weight, minlength=len(index.items))
    return np.divide(num, den, out=np.zeros(len(index.items)), where=den > 0)


def _offsets(results: Sequence[ShardResult]) -> dict[str, tuple[int, int]]:
    """(line offset, record offset) of each shard within its file, from the shards before it."""
    out: dict[str, tuple[int, int]] = {}
    by_file: dict[int, list[ShardResult]] = {}
    for r in results:
        by_file.setdefault(r.shard.file_index, []).append(r)
    for shards in by_file.values():
        lines = records = 0
        for r in sorted(shards, key=lambda r: r.shard.part):
            base = r.shard.record_base if r.shard.record_base is not None else records
            out[r.shard.key] = (lines, base)
            lines += r.accounting.lines
            records = base + r.accounting.records
    return out


def _absolute(place: Place, lines: int, records: int) -> Place:
    return Place(
        **{
            **place.__dict__,
            "record": place.record + records,
            "line": None if place.line is None else place.line + lines,
        }
    )


def merge_accounting(
    results: Sequence[ShardResult], files: Sequence[InputFile], ignored: Sequence[str]
) -> dict[str, Any]:
    offsets = _offsets(results)
    total = {"bytes_read": 0, "bytes_decoded": 0, "records_read": 0, "records_skipped": 0, "blank_lines": 0}
    reasons: dict[str, dict[str, Any]] = {}
    repairs: dict[str, dict[str, Any]] = {}
    faults: list[dict[str, Any]] = []
    per_file: dict[int, dict[str, Any]] = {}
    for r in sorted(results, key=lambda r: (r.shard.file_index, r.shard.part)):
        a, f = r.accounting, r.shard.file
        lines, records = offsets[r.shard.key]
        for k in total:
            total[k] += getattr(a, k)
        pf = per_file.setdefault(
            r.shard.file_index,
            {
                "file": f.name,
                "format": f.format,
                "compression": f.compression,
                "bytes": f.size,
                "records_read": 0,
                "records_skipped": 0,
                REPLACED: 0,
                "file_faults": 0,
            },
        )
        pf["records_read"] += a.records_read
        pf["records_skipped"] += a.records_skipped
        pf[REPLACED] += a.repairs.get(REPLACED, {}).get("count", 0)
        pf["file_faults"] += len(a.file_faults)
        for source, target in ((a.skipped, reasons), (a.repairs, repairs)):
            for reason, entry in source.items():
                agg = target.setdefault(reason, {"count": 0, "examples": []})
                agg["count"] += entry["count"]
                for ex in entry["examples"]:
                    agg["examples"].append(
                        {
                            "file": f.name,
                            "line": None if ex["line"] is None else ex["line"] + lines,
                            "record": None if ex["record"] is None else ex["record"] + records,
                            "detail": ex["detail"],
                        }
                    )
        for fault in a.file_faults:
            faults.append(
                {
                    "file": f.name,
                    "reason": fault["reason"],
                    "line": None if fault["line"] is None else fault["line"] + lines,
                    "record": None if fault["record"] is None else fault["record"] + records,
                    "detail": fault["detail"],
                }
            )
    files_out = [per_file[i] for i in sorted(per_file)]
    return {
        "files": len(files),
        **total,
        REPLACED: sum(e["count"] for k, e in repairs.items() if k == REPLACED),
        "skipped_reasons": dict(sorted(reasons.items())),
        "repairs": dict(sorted(repairs.items())),
        "file_faults": faults,
        "files_ignored": list(ignored),
        "files_empty": [
            pf["file"]
            for pf in files_out
            if not pf["records_read"] + pf["records_skipped"] and not pf["file_faults"]
        ],
        "per_file": files_out,
    }


# Unsupported files found in a scanned directory that plausibly hold text: not reading them leaves the scan
# incomplete. Others (checksums, _SUCCESS markers, images, code) are listed but do not.
DATA_LIKE_SUFFIXES = frozenset(
    [
        ".csv",
        ".tsv",
        ".zip",
        ".tar",
        ".tgz",
        ".7z",
        ".rar",
        ".lz4",
        ".snappy",
        ".br",
        ".zlib",
        ".orc",
        ".avro",
        ".feather",
        ".pkl",
        ".pickle",
        ".xml",
        ".html",
        ".htm",
        ".sqlite",
        ".db",
        ".warc",
        ".wet",
        ".wat",
        ".tfrecord",
        ".msgpack",
        ".jsonl.lz4",
        ".yaml",
        ".yml",
        ".doc",
        ".docx",
        ".pdf",
        ".epub",
    ]
)


def completeness(accounting: dict[str, Any], max_skipped: float = 0.0) -> dict[str, Any]:
    """Whether the scan read everything it was given, and if not, what it did not read and why.

    Incomplete (never clean): no record read at all; any damaged file (what lies after the damage cannot
    be counted); skipped records beyond `max_skipped` (a fraction of all records); unsupported files in a
    scanned directory that plausibly hold text (`DATA_LIKE_SUFFIXES`).
    """
    read, skipped = accounting["records_read"], accounting["records_skipped"]
    total = read + skipped
    fraction = skipped / total if total else 0.0
    not_read: list[str] = []
    if read == 0:
        why = "every file was empty" if not total and not accounting["file_faults"] else "see below"
        not_read.append(f"no record was read at all ({why})")
    for fault in accounting["file_faults"]:
        detail = fault["detail"]
        if "could be read" not in detail:
            detail += "; nothing in it could be read" if fault.get("line") is None else ""
        not_read.append(f"{fault['file']}: {fault['reason']}: {detail}")
    if skipped and fraction > max_skipped:
        reasons = ", ".join(f"{k} {v['count']:,}" for k, v in accounting["skipped_reasons"].items())
        first = next(iter(accounting["skipped_reasons"].values()))["examples"][:1]
        at = ""
        if first:
            ex = first[0]
            at = f"; first: {ex['file']} " + (
                f"line {ex['line']}" if ex.get("line") is not None else f"record {ex['record']}"
            )
        not_read.append(
            f"{skipped:,} of {total:,} records ({fraction:.2%}) were skipped ({reasons}{at}), "
            f"more than --max-skipped {max_skipped:g} allows"
        )
    data_like = [f for f in accounting.get("files_ignored", []) if _data_like(f)]
    if data_like:
        more = f" and {len(data_like) - 3} more" if len(data_like) > 3 else ""
        not_read.append(
            f"{len(data_like)} file(s) of an unsupported type that may hold text were not read: "
            f"{', '.join(data_like[:3])}{more}"
        )
    return {
        "complete": not not_read,
        "records_skipped_fraction": round(fraction, 6),
        "max_skipped": max_skipped,
        "not_read": not_read,
    }


def _data_like(name: str) -> bool:
    lower = name.lower()
    return any(lower.endswith(suffix) for suffix in DATA_LIKE_SUFFIXES)


def merge_items(index: TestIndex, results: Sequence[ShardResult]) -> list[dict[str, Any]]:
    """Per-item results for every item with any match, in index order (benchmarks, then items)."""
    offsets = _offsets(results)
    merged: dict[int, Finding] = {}
    first: dict[int, tuple[tuple[int, int, int, int], Place]] = {}
    for r in results:
        lines, records = offsets[r.shard.key]
        for item, f in r.findings.items():
            m = merged.setdefault(item, Finding())
            m.longest = max(m.longest, f.longest)
            m.dirty = m.dirty or f.dirty
            m.records += f.records
            m.dirty_records += f.dirty_records
            if f.place is not None:
                place = _absolute(f.place, lines, records)
                rank = (0 if place.qualifying else 1, r.shard.file_index, place.record, place.offset)
                if item not in first or rank < first[item][0]:
                    first[item] = (rank, place)
    units = np.unique(np.concatenate([r.units for r in results])) if results else np.empty(0, np.int64)
    overlap = item_overlap(index, units)
    names = {r.shard.file_index: r.shard.file.name for r in results}
    out = []
    for item in sorted(merged):
        f, it = merged[item], index.items[item]
        entry: dict[str, Any] = {
            "item_id": it.item_id,
            "benchmark": it.benchmark,
            "dirty": f.dirty,
            "overlap": round(float(overlap[item]), 4),
            "longest_match": f.longest,
            "records": f.records,
            "dirty_records": f.dirty_records,
        }
        if item in first:
            rank, p = first[item]
            entry["where"] = {
                "file": names[rank[1]],
                "record": p.record,
                "line": p.line,
                "field": p.field,
                "offset": p.offset,
            }
            entry["matched_field"] = p.segment
            entry["matched_words"] = p.words
            entry["similarity"] = p.similarity
            entry["excerpt"] = p.excerpt
            entry["excerpt_offset"] = p.excerpt_offset
        out.append(entry)
    return out


def merge_rephrased(
    index: TestIndex, results: Sequence[ShardResult], dirty: set[str]
) -> list[dict[str, Any]]:
    """Items matched by the rephrase stage and not dirty by n-grams: the best score, its place, and in how
    many records they matched (in index order)."""
    offsets = _offsets(results)
    best: dict[int, tuple[tuple[float, int, int, int], Any, int]] = {}
    records: dict[int, int] = {}
    for r in results:
        lines, base = offsets[r.shard.key]
        for item, f in (r.rephrased or {}).items():
            records[item] = records.get(item, 0) + f.records
            rank = (-f.score, r.shard.file_index, f.record + base, f.offset)
            if item not in best or rank < best[item][0]:
                best[item] = (rank, f, lines)
    out = []
    names = {r.shard.file_index: r.shard.file.name for r in results}
    for item in sorted(best):
        it = index.items[item]
        if it.item_id in dirty:
            continue
        rank, f, lines = best[item]
        out.append(
            {
                "item_id": it.item_id,
                "benchmark": it.benchmark,
                "score": f.score,
                "numbers_in_order": f.numbers_in_order,
                "numbers_present": f.numbers_present,
                "shared_words": f.shared_words,
                "records": records[item],
                "where": {
                    "file": names[rank[1]],
                    "record": rank[2],
                    "line": None if f.line is None else f.line + lines,
                    "field": f.field,
                    "offset": f.offset,
                },
                "excerpt": f.excerpt,
                "excerpt_offset": f.excerpt_offset,
            }
        )
    return out


def benchmark_counts(index: TestIndex, items: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for name, meta in index.benchmarks.items():
        counts[name] = {
            "items": int(meta["items"]),
            "dirty": 0,
            "matched": 0,
            "undetectable": 0,
            "split": meta["split"],
        }
    for name, detectable in zip(index.items.benchmark, index.items.detectable.tolist(), strict=True):
        if not detectable:
            counts[name]["undetectable"] += 1
    for entry in items:
        c = counts[entry["benchmark"]]
        c["matched"] += 1
        c["dirty"] += int(entry["dirty"])
    for c in counts.values():
        c["clean"] = c["items"] - c["dirty"] - c["undetectable"]
    return counts


def scan_status(benchmarks: dict[str, dict[str, Any]], complete: dict[str, Any]) -> str:
    """`leak` when any item is dirty or, under --rephrased, matched rephrased (a finding stands whatever was
    not read), else `incomplete` when something was not read, else `clean` (words of
    harness.records.status: flagged, unresolved, clean)."""
    if any(b["dirty"] or b.get("rephrased") for b in benchmarks.values()):
        return "leak"
    return "clean" if complete["complete"] else "incomplete"


def headline(
    benchmarks: dict[str, dict[str, Any]], accounting: dict[str, Any], complete: dict[str, Any] | None = None
) -> str:
    """One sentence: what was found, in how much data, and what could not be read."""
    total = sum(b["items"] for b in benchmarks.values())
    dirty = {k: b["dirty"] for k, b in benchmarks.items() if b["dirty"]}
    size = _size(accounting["bytes_read"])
    records = f"{accounting['records_read']:,} records"
    skipped = accounting["records_skipped"]
    tail = f"; {skipped:,} records could not be read (see accounting)" if skipped else ""
    if accounting["file_faults"]:
        tail += f"; {len(accounting['file_faults'])} file(s) were damaged"
    if not dirty and not any(b.get("rephrased") for b in benchmarks.values()):
        if complete is not None and not complete["complete"]:
            return (
                f"No test item of {len(benchmarks)} benchmark(s) ({total:,} items) was found in what could be "
                f"read, {size} of training data ({records}){tail}; what was not read was not checked."
            )
        return f"No test item of {len(benchmarks)} benchmark(s) ({total:,} items) was found in {size} of training data ({records}){tail}."
    reph = sum(b.get("rephrased", 0) for b in benchmarks.values())
    if reph:
        tail = f"; {reph:,} more item(s) were found rephrased (see rephrased)" + tail
    if not dirty and reph:
        return f"No test item was found verbatim in {size} of training data ({records}){tail}."
    parts = ", ".join(f"{k} {v:,}" for k, v in dirty.items())
    n = sum(dirty.values())
    return f"{n:,} of {total:,} test items were found in {size} of training data ({records}): {parts}{tail}."


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
