"""Vectorised hashing: a folded byte buffer -> word spans -> word codes -> n-gram hashes, with no per-word
Python. The test-set index and the corpus scan both go through these functions, so their hashes agree by
construction; nothing is seeded per process, so shards hashed anywhere (other processes, Ray nodes) agree.

Word code (64 bits) of a word's bytes b (length L), from at most three unaligned 8-byte loads:
    a0 = b[0:8], a1 = b[8:16] (0 if L <= 8), a2 = b[L-8:L] (0 if L <= 16), little-endian, zero-padded;
    code = mix(a0*K1 + a1*K2 + a2*K3 + L),   mix(h) = (h ^ h>>32) * M.
Words longer than 16 bytes that agree on their first 16 and last 8 bytes and their length share a code;
that and any 64-bit collision only costs a failed verification (`matcher` re-reads every hit word by word).

N-gram hash of codes c_0..c_{k-1}: sum(c_j * P^j) mod 2^64, read off one prefix sum per batch as
(S[s+k] - S[s]) * P^-s, so every window length costs two array operations. numpy's uint64 arithmetic wraps,
which is the modulus; P is odd, hence invertible mod 2^64.

`probe_windows` is the scan's hot path: fold, split, code, hash and look every window up in the index
(`index.KeyLookup`) for a whole batch. It has two implementations of one definition: the numpy reference
(the functions above and `index.lookup_windows`), and the compiled core (`_fastscan.c`, built by pip at
install; one pass over the bytes, about ten times faster).
`CORE` says which one runs ("compiled" when the extension is importable, else "pure"; the environment
variable HARNESS_SCAN_CORE=pure forces the reference). The tests hold the two equal on arbitrary input.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from harness.leakage.index import KeyLookup

CORE_VERSION = 2  # of _fastscan.c's interface: a module built from other sources is not used

try:
    from harness.leakage import _fastscan
except ImportError:  # not built (no compiler at install, or a source checkout): the reference path runs
    _fastscan = None
if _fastscan is not None and getattr(_fastscan, "VERSION", None) != CORE_VERSION:
    import warnings

    warnings.warn(
        "harness.leakage._fastscan was built from other sources: the scan runs its (slower) reference "
        "path; rebuild it with `pip install -e .`",
        RuntimeWarning,
        stacklevel=1,
    )
    _fastscan = None

CORE = "compiled" if _fastscan is not None and os.environ.get("HARNESS_SCAN_CORE") != "pure" else "pure"

U64 = np.uint64
K1 = U64(0x9E3779B97F4A7C15)
K2 = U64(0xC2B2AE3D27D4EB4F)
K3 = U64(0x165667B19E3779F9)
M = U64(0xFF51AFD7ED558CCD)
P = U64(0x100000001B3)
P_INV = U64(pow(int(P), -1, 1 << 64))
PAD = 8  # a buffer ends with at least this many separator bytes, so 8-byte loads stay inside it
_MASK = np.array([0] + [(1 << (8 * i)) - 1 for i in range(1, 8)] + [(1 << 64) - 1], dtype=U64)
_S32 = U64(32)
_powers: dict[str, np.ndarray] = {}


def word_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the words of a folded buffer (word bytes are > 0x20, separators <= 0x20)."""
    w = buf > 32
    edges = np.flatnonzero(w[1:] != w[:-1])
    edges += 1
    if w.size and w[0]:
        edges = np.concatenate((np.zeros(1, edges.dtype), edges))
    if w.size and w[-1]:
        edges = np.concatenate((edges, np.full(1, w.size, edges.dtype)))
    return edges[0::2], edges[1::2]


def word_codes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The uint64 code of every word span; `buf` must end with `PAD` separator bytes."""
    if starts.size == 0:
        return np.empty(0, U64)
    if buf.size < PAD or buf[-PAD:].max() > 32:
        raise ValueError("word_codes needs a buffer that ends with PAD separator bytes")
    loads = np.ndarray(shape=(buf.size - 7,), dtype=U64, buffer=buf, offset=0, strides=(1,))
    length = (ends - starts).astype(np.int64, copy=False)
    h = loads[starts]
    h &= np.take(_MASK, length, mode="clip")  # the word's own bytes (lengths over 8 clip to all 8)
    h *= K1
    h += length.view(U64)  # lengths are positive int64: same bits
    long = np.flatnonzero(length > 8)  # about one word in ten in English text
    if long.size:
        ls, ll = starts[long], length[long]
        extra = loads[ls + 8] & _MASK[np.minimum(ll - 8, 8)]
        extra *= K2
        tail = loads[ends[long] - 8]
        tail *= K3
        tail[ll <= 16] = 0
        extra += tail
        h[long] += extra
    h ^= h >> _S32
    h *= M
    return h


def word_code(word: bytes) -> int:
    """Reference implementation of one word's code (for tests and documentation)."""
    mask = (1 << 64) - 1
    n = len(word)
    a0 = int.from_bytes(word[:8], "little")
    a1 = int.from_bytes(word[8:16], "little") if n > 8 else 0
    a2 = int.from_bytes(word[-8:], "little") if n > 16 else 0
    h = (a0 * int(K1) + a1 * int(K2) + a2 * int(K3) + n) & mask
    h ^= h >> 32
    return (h * int(M)) & mask


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^j and P^-j for j < n, cached per process and grown geometrically (16 bytes per word of a batch)."""
    have = _powers.get("p")
    if have is None or have.size < n:
        size = max(n, 2 * (have.size if have is not None else 0), 1 << 16)
        p = np.full(size, P, dtype=U64)
        p[0] = 1
        np.cumprod(p, out=p)
        inv = np.full(size, P_INV, dtype=U64)
        inv[0] = 1
        np.cumprod(inv, out=inv)
        _powers["p"], _powers["inv"] = p, inv
    return _powers["p"], _powers["inv"]


def window_hashes(codes: np.ndarray, lengths: Iterable[int]) -> dict[int, np.ndarray]:
    """For each k in `lengths`, the hashes of every k-word window of `codes` (len(codes) - k + 1 values)."""
    m = codes.size
    p, inv = _power_tables(m + 1)
    prefix = np.empty(m + 1, dtype=U64)
    prefix[0] = 0
    np.multiply(codes, p[:m], out=prefix[1:])
    np.cumsum(prefix, out=prefix)
    out = {}
    for k in lengths:
        if k < 1:
            raise ValueError("window length must be positive")
        if m < k:
            out[k] = np.empty(0, U64)
            continue
        h = prefix[k:] - prefix[: m - k + 1]
        h *= inv[: m - k + 1]
        out[k] = h
    return out


def ngram_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """Hashes of every k-word window of `codes`."""
    return window_hashes(codes, (k,))[k]


def ngram_hash(codes: Iterable[int]) -> int:
    """Reference implementation of one n-gram's hash from its word codes."""
    mask = (1 << 64) - 1
    h, pw = 0, 1
    for c in codes:
        h = (h + c * pw) & mask
        pw = (pw * int(P)) & mask
    return h


def padded(data: bytes) -> np.ndarray:
    """A folded byte string as the uint8 buffer the functions above take (adds the `PAD` tail)."""
    return np.frombuffer(data + b" " * PAD, dtype=np.uint8)


# Folded bytes: upper case to lower case, letters and digits kept, every other ASCII byte to a space, bytes
# >= 0x80 kept (normalize.ASCII_FOLD is the same table; repeated here so that this module stands alone).
_FOLD = bytes(
    (b + 32 if 65 <= b <= 90 else b if (48 <= b <= 57 or 97 <= b <= 122 or b >= 128) else 32)
    for b in range(256)
)

Probe = tuple[int, np.ndarray, "KeyLookup"]  # (window length k, its sorted keys, their `index.KeyLookup`)


def probe_windows(
    data: bytes, text_start: np.ndarray, probes: Sequence[Probe], core: str | None = None
) -> tuple[int, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Words and index hits of a batch: `data` is its texts joined by one separator byte (each text with
    the words of `normalize.fold_bytes`), `text_start` the int64 offsets of the texts (and one past the
    end: len(data) + 1).

    Returns (number of words, first word of each text plus the word count, and per probe the first word
    and the hash of every window of k words that lies inside one text and whose hash is one of the keys),
    windows in text order.
    """
    core = core or CORE
    text_start = np.ascontiguousarray(text_start, dtype=np.int64)
    if core == "compiled":
        if _fastscan is None:
            raise RuntimeError("the compiled scan core is not built (pip install -e . builds it)")
        n, first, cands = _fastscan.scan(
            data,
            text_start,
            _FOLD,
            [(k, keys, t.bits, t.offsets, t.fingerprints, t.bloom_bits, t.bloom) for k, keys, t in probes],
        )
        first_word = np.frombuffer(first, dtype=np.int64)
        out = [(np.frombuffer(pos, dtype=np.int64), np.frombuffer(h, dtype=U64)) for pos, h in cands]
        return int(n), first_word, out
    from harness.leakage.index import lookup_windows

    buf = padded(data.translate(_FOLD))
    starts, ends = word_spans(buf)
    first_word = np.searchsorted(starts, text_start).astype(np.int64)
    codes = word_codes(buf, starts, ends)
    hashes = window_hashes(codes, [k for k, _, _ in probes])
    out = []
    for k, keys, lookup in probes:
        h = hashes[k]
        if h.size == 0:
            out.append((np.empty(0, np.int64), np.empty(0, U64)))
            continue
        cand = np.flatnonzero(lookup_windows(h, keys, lookup))
        text_of = np.searchsorted(first_word, cand, "right") - 1
        cand = cand[cand + k <= first_word[text_of + 1]]  # the window stays inside one text
        out.append((cand.astype(np.int64), h[cand]))
    return int(codes.size), first_word, out
