"""Vectorised hashing: folded byte buffers -> word codes -> n-gram hashes, with no per-word Python.

A word's code is a polynomial hash of its bytes, sum(b_j * Q^j) mod 2^64, read off a prefix sum of
the whole buffer: (S[end] - S[start]) * Q^-start, then passed through a 64-bit finaliser (murmur3's
fmix64) for well-mixed top bits. An n-gram's hash is sum(code_i * P^(k-1-i)) mod 2^64 over its words.
numpy's uint64 arithmetic wraps, which is the modulus. All hashes are the same in every process
(no per-process seeds), so shards computed anywhere agree.
"""

from __future__ import annotations

import numpy as np

Q = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible mod 2^64
Q_INV = np.uint64(pow(int(Q), -1, 1 << 64))
P = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_powers: dict[str, np.ndarray] = {}


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Q^j and Q^-j for j < n, cached and grown geometrically (8 bytes each per buffer byte)."""
    have = _powers.get("q")
    if have is None or have.size < n:
        size = max(n, 2 * (have.size if have is not None else 0), 1 << 16)
        with np.errstate(over="ignore"):
            q = np.full(size, Q, dtype=np.uint64)
            q[0] = 1
            np.cumprod(q, out=q)
            inv = np.full(size, Q_INV, dtype=np.uint64)
            inv[0] = 1
            np.cumprod(inv, out=inv)
        _powers["q"], _powers["inv"] = q, inv
    return _powers["q"], _powers["inv"]


def word_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end byte offsets of the words in a folded buffer (word bytes are > 0x20)."""
    w = buf > 32
    starts = np.flatnonzero(w[1:] & ~w[:-1]) + 1
    ends = np.flatnonzero(w[:-1] & ~w[1:]) + 1
    if w.size and w[0]:
        starts = np.concatenate(([0], starts))
    if w.size and w[-1]:
        ends = np.concatenate((ends, [w.size]))
    return starts, ends


def word_codes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """uint64 code of every word span of `buf`."""
    n = buf.size
    q, inv = _power_tables(n + 1)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.multiply(buf.astype(np.uint64), q[:n], out=prefix[1:])
        np.cumsum(prefix, out=prefix)
        h = prefix[ends] - prefix[starts]
        h *= inv[starts]
        h ^= h >> _S33
        h *= _M1
        h ^= h >> _S33
        h *= _M2
        h ^= h >> _S33
    return h


def ngram_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """Hashes of every k-word window of `codes`: len(codes) - k + 1 values."""
    m = codes.size - k + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    acc = codes[:m].copy()
    with np.errstate(over="ignore"):
        for j in range(1, k):
            acc *= P
            acc += codes[j : j + m]
    return acc
