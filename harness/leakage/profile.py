"""`--profile`: what the scanned corpus is like, per file and overall, alongside the leakage scan.

Three measures per record (the text of its scanned fields, joined by a line break, as UTF-8):
- compression ratio: compressed size / raw size under DEFLATE at level 1 (`zlib`, raw stream, no header),
  the gzip measure of redundancy that Pandey (2024, "gzip Predicts Data-dependent Scaling Laws",
  arXiv:2405.16684) found to predict how a data set's scaling law shifts: low ratios are repetitive or
  templated text, high ones dense or noisy text. DEFLATE at level 1 runs at 40-80 MB per CPU-second on
  the development machine, several times slower than the scan itself (about 200), so it is measured on a
  deterministic sample: the records whose text hash is 0 mod `SAMPLE_EVERY` (1 in 128), which keeps the
  profile's cost under 10% of the scan's (docs/scan.md has the measurement); the sample size is reported;
- exact duplicates: records whose text hash (xxh3, 64 bits) another record already had, within each file
  and over the whole corpus (every record, not sampled);
- record length in bytes (every record).
For JSON Lines read by the compiled parser, the parser hashes each record's text (XXH3-64, the same function
as the `xxhash` package) while it reads it, and only the sampled records' texts come back to Python.
Distributions are kept as fixed-bin histograms (mergeable across shards and engines, bounded memory),
with exact means; quantiles are read off the histograms (resolution: one bin). The duplicate count keeps
one 64-bit hash per distinct record until the scan is merged.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

SAMPLE_EVERY = 128
RATIO_EDGES = np.round(np.linspace(0.0, 1.5, 61), 3)  # bins of 0.025; a last bin for anything above 1.5
LENGTH_EDGES = np.round(10 ** np.arange(0.0, 9.05, 0.1), 1)  # log bins, 1 byte to 1 GB
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def compression_ratio(data: bytes) -> float:
    """Compressed / raw size of `data` under raw DEFLATE at level 1 (1.0 for empty data)."""
    if not data:
        return 1.0
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    return len(c.compress(data) + c.flush()) / len(data)


@dataclass
class CorpusProfile:
    """Accumulates the three measures over records; merges with others (shards, files)."""

    records: int = 0
    bytes: int = 0
    sampled: int = 0
    sampled_bytes: int = 0
    ratio_sum: float = 0.0
    ratio_hist: np.ndarray = field(default_factory=lambda: np.zeros(RATIO_EDGES.size, np.int64))
    length_hist: np.ndarray = field(default_factory=lambda: np.zeros(LENGTH_EDGES.size + 1, np.int64))
    hashes: list[np.ndarray] = field(default_factory=list)  # uint64, one per record (deduplicated on merge)
    _unique: np.ndarray | None = None

    def add(self, text: str) -> None:
        self.add_many([text.encode("utf-8", "surrogatepass")])

    def add_many(self, records: Sequence[bytes | memoryview]) -> None:
        """Records in order, each as the UTF-8 of its text."""
        n = len(records)
        if n:
            hashes = np.fromiter(map(xxhash.xxh3_64_intdigest, records), dtype=np.uint64, count=n)
            lengths = np.fromiter(map(len, records), dtype=np.int64, count=n)
            self.add_hashed(hashes, lengths, lambda i: bytes(records[i]))

    def add_hashed(self, hashes: np.ndarray, lengths: np.ndarray, text: Callable[[int], bytes]) -> None:
        """Records in order, given as their xxh3-64 text hashes and byte lengths; `text(i)` gives the text of
        record i, read only for the sampled records (the compiled JSON Lines parser hashes the others)."""
        if not hashes.size:
            return
        self.records += int(hashes.size)
        self.bytes += int(lengths.sum())
        self.hashes.append(hashes.astype(np.uint64, copy=False))
        self.length_hist += np.bincount(
            np.searchsorted(LENGTH_EDGES, lengths, "right"), minlength=self.length_hist.size
        )
        # in record order: the float sum is the same however the records arrive
        for i in np.flatnonzero(hashes % np.uint64(SAMPLE_EVERY) == 0).tolist():
            data = text(i)
            r = compression_ratio(data)
            self.sampled += 1
            self.sampled_bytes += len(data)
            self.ratio_sum += r
            self.ratio_hist[min(int(r / 0.025), RATIO_EDGES.size - 1)] += 1

    def unique(self) -> np.ndarray:
        if self._unique is None or self.hashes:
            parts = [np.empty(0, np.uint64), *self.hashes]
            if self._unique is not None:
                parts.append(self._unique)
            self._unique = np.unique(np.concatenate(parts))
            self.hashes = []
        return self._unique

    def merge(self, other: CorpusProfile) -> CorpusProfile:
        out = CorpusProfile(
            records=self.records + other.records,
            bytes=self.bytes + other.bytes,
            sampled=self.sampled + other.sampled,
            sampled_bytes=self.sampled_bytes + other.sampled_bytes,
            ratio_sum=self.ratio_sum + other.ratio_sum,
            ratio_hist=self.ratio_hist + other.ratio_hist,
            length_hist=self.length_hist + other.length_hist,
        )
        out._unique = np.unique(np.concatenate((self.unique(), other.unique())))
        return out

    def summary(self) -> dict[str, Any]:
        """The numbers leakage.json carries (duplicates within this profile's records)."""
        distinct = int(self.unique().size)
        dup = self.records - distinct
        return {
            "records": self.records,
            "bytes": self.bytes,
            "exact_duplicates": dup,
            "exact_duplicate_rate": round(dup / self.records, 6) if self.records else 0.0,
            "length_bytes": {
                "mean": round(self.bytes / self.records, 1) if self.records else None,
                **_quantiles(self.length_hist, np.concatenate(([0.0], LENGTH_EDGES, [np.inf])), "length"),
                "histogram": {"edges": LENGTH_EDGES.tolist(), "counts": self.length_hist.tolist()},
            },
            "compression_ratio": {
                "sampled_records": self.sampled,
                "sampled_bytes": self.sampled_bytes,
                "mean": round(self.ratio_sum / self.sampled, 4) if self.sampled else None,
                **_quantiles(self.ratio_hist, np.concatenate((RATIO_EDGES, [np.inf])), "ratio"),
                "histogram": {"edges": RATIO_EDGES.tolist(), "counts": self.ratio_hist.tolist()},
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "bytes": self.bytes,
            "sampled": self.sampled,
            "sampled_bytes": self.sampled_bytes,
            "ratio_sum": self.ratio_sum,
            "ratio_hist": self.ratio_hist.tolist(),
            "length_hist": self.length_hist.tolist(),
            "unique": base64.b64encode(self.unique().astype("<u8").tobytes()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CorpusProfile:
        out = cls(
            records=d["records"],
            bytes=d["bytes"],
            sampled=d["sampled"],
            sampled_bytes=d["sampled_bytes"],
            ratio_sum=d["ratio_sum"],
            ratio_hist=np.asarray(d["ratio_hist"], np.int64),
            length_hist=np.asarray(d["length_hist"], np.int64),
        )
        out._unique = np.frombuffer(base64.b64decode(d["unique"]), dtype="<u8").astype(np.uint64)
        return out


def _quantiles(counts: np.ndarray, edges: np.ndarray, what: str) -> dict[str, float | None]:
    """Quantiles read off a histogram whose bin i spans edges[i]..edges[i+1] (linear within the bin)."""
    total = int(counts.sum())
    out: dict[str, float | None] = {}
    cum = np.cumsum(counts)
    for q in QUANTILES:
        key = f"p{round(q * 100)}"
        if not total:
            out[key] = None
            continue
        rank = q * total
        i = int(np.searchsorted(cum, rank, "left"))
        lo, hi = float(edges[i]), float(edges[i + 1])
        if not np.isfinite(hi):
            out[key] = lo
            continue
        before = float(cum[i - 1]) if i else 0.0
        frac = float((rank - before) / counts[i]) if counts[i] else 0.0
        out[key] = round(lo + frac * (hi - lo), 4 if what == "ratio" else 1)
    return out


def profile_record(files: list[tuple[str, CorpusProfile]]) -> dict[str, Any]:
    """leakage.json's `profile`: overall and per file, and how it was measured."""
    overall = CorpusProfile()
    per_file = []
    for name, prof in files:
        per_file.append({"file": name, **prof.summary()})
        overall = overall.merge(prof)
    return {
        "method": {
            "text": "the record's scanned fields joined by a line break, as UTF-8",
            "compression": f"raw DEFLATE, zlib level 1; compressed / raw bytes; on the records whose xxh3 "
            f"hash is 0 mod {SAMPLE_EVERY} (a deterministic 1-in-{SAMPLE_EVERY} sample)",
            "duplicates": "exact: records whose xxh3-64 text hash an earlier record had (every record)",
            "quantiles": "read off the histograms (resolution: one bin)",
        },
        "overall": overall.summary(),
        "per_file": per_file,
    }
