"""The scan's files, all rendered from the one record (`leakage.json`), never recomputed:

- `leakage.json`: the record (`harness.records.scan.ScanRecord`, validated as it is written);
- `items.parquet`: one row per test item of the scanned benchmarks, matched or not;
- `summary.md`: the headline, per-benchmark counts, the dirty items with where they were found and an
  excerpt, what could not be read, and the rule;
- `clean/<benchmark>.txt`: ids of the items checked and not found, one per line (undetectable items are
  not in it: nothing vouches for them); `harness verify --clean-from leakage.json` scores the same split;
- `skipped.jsonl`: every skipped record listed in the record (file, line, reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from harness.leakage.index import TestIndex
from harness.records.files import atomic_path, atomic_write_bytes
from harness.records.scan import write_scan_record

EXCERPT_MD = 300  # characters of excerpt shown per item in summary.md


def write_outputs(
    out_dir: Path, record: dict[str, Any], index: TestIndex, record_examples: int = 100
) -> dict[str, str]:
    """Write every file; return their names relative to `out_dir` (also set as the record's `outputs`).

    skipped.jsonl gets every skipped record the shards listed; the record itself keeps the first
    `record_examples` per reason (the counts are always complete).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "record": "leakage.json",
        "items": "items.parquet",
        "summary": "summary.md",
        "skipped": "skipped.jsonl",
    }
    clean = write_clean_lists(out_dir, record, index)
    outputs.update({f"clean_{k}": v for k, v in clean.items()})
    record["outputs"] = outputs
    write_items_parquet(out_dir / "items.parquet", record, index)
    atomic_write_bytes(out_dir / "summary.md", render_summary(record).encode("utf-8"))
    lines = b"".join(
        orjson.dumps({"reason": reason, **ex}) + b"\n"
        for reason, entry in record["accounting"]["skipped_reasons"].items()
        for ex in entry["examples"]
    )
    atomic_write_bytes(out_dir / "skipped.jsonl", lines)
    for entry in record["accounting"]["skipped_reasons"].values():
        entry["examples_in_skipped_jsonl"] = len(entry["examples"])
        entry["examples"] = entry["examples"][:record_examples]
    for entry in (record["accounting"].get("repairs") or {}).values():
        entry["examples"] = entry["examples"][:record_examples]
    write_scan_record(out_dir / "leakage.json", record)  # validated against ScanRecord, written atomically
    return outputs


def write_clean_lists(out_dir: Path, record: dict[str, Any], index: TestIndex) -> dict[str, str]:
    dirty = {i["item_id"] for i in record["items"] if i["dirty"]}
    folder = out_dir / "clean"
    folder.mkdir(exist_ok=True)
    out = {}
    items = index.items  # by column: 20,609 items, five lists
    by_benchmark: dict[str, list[str]] = {name: [] for name in record["benchmarks"]}
    for item_id, name, detectable in zip(
        items.item_id, items.benchmark, items.detectable.tolist(), strict=True
    ):
        if detectable and item_id not in dirty and name in by_benchmark:
            by_benchmark[name].append(item_id)
    for name in record["benchmarks"]:
        ids = by_benchmark[name]
        rel = f"clean/{name}.txt"
        atomic_write_bytes(out_dir / rel, "".join(f"{i}\n" for i in ids).encode("utf-8"))
        out[name] = rel
    return out


def write_items_parquet(path: Path, record: dict[str, Any], index: TestIndex) -> None:
    """One row per test item. Built through pyarrow's JSON reader from JSON Lines written here, which keeps
    pandas out of the scan (building the table from Python lists makes pyarrow import pandas: 0.3 s of a
    scan's start-up)."""
    import io

    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    found = {i["item_id"]: i for i in record["items"]}
    # An item that was not found has the same row but for its name (most of them): written from a template.
    unfound = (
        b',"dirty":false,"overlap":0.0,"longest_match":0,"records":0,"dirty_records":0,"file":null,'
        b'"record":null,"line":null,"field":null,"offset":null,"matched_field":null,"similarity":null,'
        b'"excerpt":null}'
    )
    rows = []
    items = index.items  # by column
    for item_id, name, detectable in zip(
        items.item_id, items.benchmark, items.detectable.tolist(), strict=True
    ):
        f = found.get(item_id)
        if f is None:
            head = {"item_id": item_id, "benchmark": name, "detectable": detectable}
            rows.append(orjson.dumps(head)[:-1] + unfound)
            continue
        where = f.get("where") or {}
        rows.append(
            orjson.dumps(
                {
                    "item_id": item_id,
                    "benchmark": name,
                    "detectable": detectable,
                    "dirty": bool(f.get("dirty", False)),
                    "overlap": float(f.get("overlap", 0.0)),
                    "longest_match": int(f.get("longest_match", 0)),
                    "records": int(f.get("records", 0)),
                    "dirty_records": int(f.get("dirty_records", 0)),
                    "file": where.get("file"),
                    "record": where.get("record"),
                    "line": where.get("line"),
                    "field": where.get("field"),
                    "offset": where.get("offset"),
                    "matched_field": f.get("matched_field"),
                    "similarity": f.get("similarity"),
                    "excerpt": f.get("excerpt"),
                }
            )
        )
    schema = pa.schema(
        [
            ("item_id", pa.string()), ("benchmark", pa.string()), ("detectable", pa.bool_()), ("dirty", pa.bool_()),
            ("overlap", pa.float64()), ("longest_match", pa.int32()), ("records", pa.int64()),
            ("dirty_records", pa.int64()), ("file", pa.string()), ("record", pa.int64()), ("line", pa.int64()),
            ("field", pa.string()), ("offset", pa.int64()), ("matched_field", pa.string()),
            ("similarity", pa.float64()), ("excerpt", pa.string()),
        ]
    )  # fmt: skip
    table = pj.read_json(
        io.BytesIO(b"\n".join(rows) + b"\n"),
        read_options=pj.ReadOptions(use_threads=False, block_size=1 << 24),
        parse_options=pj.ParseOptions(explicit_schema=schema),
    )
    if table.num_rows != len(rows):
        raise RuntimeError("items.parquet: pyarrow read back another number of rows")
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _md(text: Any) -> str:
    """Untrusted text (training data) made inert in Markdown: one line, table pipes and HTML escaped."""
    s = " ".join(str(text).split())
    for a, b in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("|", "\\|"),
        ("`", "'"),
        ("[", "\\["),
        ("]", "\\]"),
    ):
        s = s.replace(a, b)
    return s


def render_summary(record: dict[str, Any]) -> str:
    status = str(record["status"]).upper()
    lines = [f"# Leakage scan: {status}", "", _md(record["headline"]), ""]
    complete = record.get("completeness") or {}
    if complete.get("not_read"):
        lines += ["**Not read, so not checked:**", ""]
        lines += [f"- {_md(reason)}" for reason in complete["not_read"]]
        lines.append("")
    a = record["accounting"]
    if a.get("decoded_with_replacement"):
        lines += [
            f"{a['decoded_with_replacement']:,} record(s) had invalid UTF-8 bytes: decoded with replacement "
            "(U+FFFD) and scanned.",
            "",
        ]
    lines += ["## Benchmarks", ""]
    lines += [
        "| benchmark | split | items | dirty | matched | undetectable | clean |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, b in record["benchmarks"].items():
        lines.append(
            f"| {name} | {b['split']} | {b['items']} | {b['dirty']} | {b['matched']} | {b['undetectable']} | {b['clean']} |"
        )
    dirty = [i for i in record["items"] if i["dirty"]]
    lines += ["", f"## Dirty items ({len(dirty)})", ""]
    if dirty:
        lines += [
            "| item | overlap | longest match | similarity | records | where | matched field | excerpt |",
            "|---|---:|---:|---:|---:|---|---|---|",
        ]
        for i in dirty:
            w = i.get("where") or {}
            place = f"{w.get('file')}, record {w.get('record')}" + (
                f", line {w['line']}" if w.get("line") is not None else ""
            )
            place += f", {w.get('field')} char {w.get('offset')}"
            excerpt = i.get("excerpt") or ""
            excerpt = excerpt if len(excerpt) <= EXCERPT_MD else excerpt[:EXCERPT_MD] + "…"
            lines.append(
                f"| {_md(i['item_id'])} | {i['overlap']:.3f} | {i['longest_match']} | {i.get('similarity', '')} | "
                f"{i['records']} | {_md(place)} | {_md(i.get('matched_field', ''))} | {_md(excerpt)} |"
            )
    else:
        lines.append("None.")
    partial = [i for i in record["items"] if not i["dirty"]]
    if partial:
        lines += [
            "",
            f"Matched without qualifying (shared or short fields only): {len(partial)} item(s); see items.parquet.",
        ]
    lines += [
        "",
        "## Accounting",
        "",
        f"- files: {a['files']}, bytes read: {a['bytes_read']:,} (decoded: {a['bytes_decoded']:,})",
        f"- records read: {a['records_read']:,}; records skipped: {a['records_skipped']:,}; blank lines: {a['blank_lines']:,}",
    ]
    for reason, entry in a["skipped_reasons"].items():
        ex = entry["examples"][:3]
        where = "; ".join(
            f"{_md(e['file'])} line {e['line']}"
            if e.get("line") is not None
            else f"{_md(e['file'])} record {e['record']}"
            for e in ex
        )
        lines.append(f"- skipped, {reason}: {entry['count']:,} (e.g. {where})")
    for reason, entry in (a.get("repairs") or {}).items():
        ex = entry["examples"][:3]
        where = "; ".join(
            f"{_md(e['file'])} line {e['line']}"
            if e.get("line") is not None
            else f"{_md(e['file'])} record {e['record']}"
            for e in ex
        )
        lines.append(f"- read after repair, {reason}: {entry['count']:,} (e.g. {where})")
    if a.get("files_empty"):
        lines.append(f"- empty files (no record): {len(a['files_empty'])}")
    for fault in a["file_faults"]:
        lines.append(
            f"- file fault, {fault['reason']}: {_md(fault['file'])} at line {fault['line']}: {_md(fault['detail'])}"
        )
    if a.get("files_ignored"):
        lines.append(f"- files ignored (unsupported type): {len(a['files_ignored'])}")
    if record.get("rephrased") is not None:
        lines += render_rephrased(record["rephrased"])
    if record.get("profile"):
        lines += render_profile(record["profile"])
    c = record["config"]
    lines += [
        "",
        "## Rule",
        "",
        _md(c["dirty_rule"]),
        "",
        f"n-gram: {c['ngram']}, floor: {c['floor']}, fields: {', '.join(c['fields']) if c['fields'] else 'every string field'}.",
        "",
    ]
    return "\n".join(lines)


def render_profile(profile: dict[str, Any]) -> list[str]:
    """The corpus profile as Markdown: a table per file and overall, and the compression-ratio histogram."""
    lines = ["", "## Corpus profile", ""]
    lines += [
        "| file | records | exact duplicates | length p50 (bytes) | p95 | compression ratio p50 | p5-p95 | sampled |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, p in [*((f["file"], f) for f in profile["per_file"]), ("all files", profile["overall"])]:
        ln, cr = p["length_bytes"], p["compression_ratio"]
        lines.append(
            f"| {_md(name)} | {p['records']:,} | {p['exact_duplicates']:,} ({p['exact_duplicate_rate']:.2%}) | "
            f"{ln['p50']} | {ln['p95']} | {cr['p50']} | {cr['p5']}-{cr['p95']} | {cr['sampled_records']:,} |"
        )
    hist = profile["overall"]["compression_ratio"]["histogram"]
    counts, edges = hist["counts"], hist["edges"]
    if sum(counts):
        lines += [
            "",
            "Compression ratio per record (all files; compressed / raw, DEFLATE level 1):",
            "",
            "```",
        ]
        top = max(counts)
        for i, n in enumerate(counts):
            if not n:
                continue
            label = f"{edges[i]:.3f}-{edges[i + 1]:.3f}" if i + 1 < len(edges) else f">= {edges[-1]:.3f}"
            lines.append(f"{label:>13} {'#' * max(1, round(40 * n / top)):<40} {n:,}")
        lines.append("```")
    lines += ["", _md(profile["method"]["compression"]) + "."]
    return lines


def render_rephrased(found: list[dict[str, Any]]) -> list[str]:
    """The rephrase stage's matches (items not found verbatim), with their scores and places."""
    lines = ["", f"## Rephrased items ({len(found)})", ""]
    if not found:
        return [*lines, "None: no test item was found rephrased (beyond those found verbatim)."]
    lines += [
        "| item | score | numbers present | numbers in order | shared words | records | where | excerpt |",
        "|---|---:|---|---:|---:|---:|---|---|",
    ]
    for r in found:
        w = r["where"]
        place = f"{w['file']}, record {w['record']}" + (
            f", line {w['line']}" if w.get("line") is not None else ""
        )
        excerpt = r["excerpt"] if len(r["excerpt"]) <= EXCERPT_MD else r["excerpt"][:EXCERPT_MD] + "…"
        lines.append(
            f"| {_md(r['item_id'])} | {r['score']} | {r['numbers_present']} | {r['numbers_in_order']} | "
            f"{r['shared_words']} | {r['records']} | {_md(place)} | {_md(excerpt)} |"
        )
    return lines
