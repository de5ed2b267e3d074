"""Proxy tells: signs that something between us and the claimed model rewrites, relays or caches.

* Echo rewrite (pure, decisive): an endpoint that echoes our prompt (completions ``echo``) must return it
  byte for byte; a relay that filters output also filters the echo, and the diff names the words.
* Copy-list deletion (sequential): the model copies lists that mix vendor/model names with control
  words (a few-shot pattern that even tiny models follow). A name the reference copies but the endpoint
  drops, while it keeps the controls, is suspicious; each suspicious name is then confirmed on fresh
  lists, and only the confirmation is tested (Fisher's exact test, name vs controls, Holm over the
  names confirmed), so the screening cannot inflate the error rate.
* Identity answers (weak): which vendors the endpoint names when asked who it is, vs the reference's own
  answer. Models are often wrong about themselves, so this never decides a verdict.
* Cache (neutral for weights): two samples at temperature 1 of an open prompt coincide only if a cache
  (or a fixed sampling seed) answers; wall-clock latencies are kept under ``timing``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from harness.fingerprint.client import Client
from harness.fingerprint.evidence import WEAK_STRENGTH_CAP, Evidence, format_p
from harness.fingerprint.prompts import (
    CACHE_MAX_TOKENS,
    CACHE_PROMPT,
    COPY_EXAMPLE,
    COPY_LISTS,
    VENDOR_WORDS,
)
from harness.fingerprint.responses import parse_chat, parse_completion
from harness.fingerprint.statistics import fisher_exact_greater, holm

COPY_MAX_TOKENS = 24
CONFIRM_LISTS = 4
MAX_CONFIRMED_WORDS = 3
CONFIRM_FILLERS = (
    ("cloud", "river", "seven", "Berlin", "copper"),
    ("table", "garden", "three", "Friday", "violin"),
    ("pencil", "Paris", "nine", "silver", "window"),
    ("lamp", "Tuesday", "four", "honey", "ladder"),
)

_WORD = re.compile(r"\w[\w\-\.]*\w|\w", re.UNICODE)


def contains_word(text: str, word: str) -> bool:
    """Whole-word, case-sensitive match (so "Meta" is not found in "metadata")."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


# ------------------------------------------------------------------------------ echo ----


def _echoed(sent: str, returned: str) -> bool:
    """Did the server echo the prompt at all (at least half its words, in order)?"""
    a = _WORD.findall(sent)
    b = _WORD.findall(returned)[: len(a) + 8]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) >= 0.5 * len(a)


def echo_rewrites(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """For each (sent prompt, returned echo text) that differs, the words deleted and inserted."""
    out = []
    for i, (sent, returned) in enumerate(pairs):
        if returned.startswith(sent):
            continue
        if not _echoed(sent, returned):
            continue  # the server did not echo the prompt at all (echo ignored): nothing to compare
        a = _WORD.findall(sent)
        b = _WORD.findall(returned)[: len(a) + 8]
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        deleted, inserted = [], []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op in ("delete", "replace"):
                deleted += a[i1:i2]
            # words after the end of the prompt are the generated continuation, not an insertion
            if op == "replace" or (op == "insert" and i1 < len(a)):
                inserted += b[j1:j2]
        out.append({"text": i, "deleted": deleted, "inserted": inserted})
    return out


def echo_evidence(pairs: list[tuple[str, str]]) -> Evidence | None:
    if not pairs:
        return None
    rewrites = echo_rewrites(pairs)
    echoed = [(a, b) for a, b in pairs if _echoed(a, b)]
    vendor = [a for a, _ in echoed if sum(contains_word(a, w) for w in VENDOR_WORDS) >= 2]
    if not rewrites:
        return Evidence(
            name="echo_rewrite_tell",
            kind="proxy",
            measured=f"{len(echoed)} echoed prompts ({len(vendor)} naming vendors) compared with the text sent",
            statistic="all echoes are exact" if echoed else "the endpoint does not echo prompts",
            supports="neutral",
            strength=0.0,
            details={"compared": len(vendor)},
        )
    words: dict[str, int] = {}
    for r in rewrites:
        for w in r["deleted"]:
            words[w] = words.get(w, 0) + 1
    top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    named = ", ".join(f"'{w}' ({n}x)" for w, n in top[:5]) or "(whitespace/punctuation)"
    return Evidence(
        name="echo_rewrite_tell",
        kind="proxy",
        measured=f"{len(pairs)} echoed prompts compared with the text sent",
        statistic=f"{len(rewrites)} echoes differ from the prompt; removed: {named}",
        supports="mismatch",
        strength=1.0,
        p_value=0.0,
        decisive=True,
        details={"rewrites": rewrites[:8], "deleted_words": dict(top[:10]), "compared": len(vendor)},
    )


def request_echo_only(client: Client, text: str) -> tuple[str, str]:
    """(sent, returned) for an echo request without logprobs (relays often drop logprobs, not echo)."""
    data = client.post("/completions", {"prompt": text, "max_tokens": 1, "temperature": 0, "echo": True})
    return text, parse_completion(data).choices[0].text


def vendor_texts(texts: tuple[str, ...]) -> list[str]:
    """The texts among ``texts`` that name at least two vendors or models (the echo check's inputs)."""
    return [t for t in texts if sum(contains_word(t, w) for w in VENDOR_WORDS) >= 2]


# ------------------------------------------------------------------------- copy lists ----


def copy_prompt(items: tuple[str, ...]) -> str:
    ex = ", ".join(COPY_EXAMPLE)
    return f"Copy each list exactly.\nList: {ex}\nCopy: {ex}\nList: {', '.join(items)}\nCopy:"


def request_copy(client: Client, items: tuple[str, ...], chat: bool) -> str:
    if chat:
        data = client.post(
            "/chat/completions",
            {
                "messages": [{"role": "user", "content": copy_prompt(items)}],
                "max_tokens": COPY_MAX_TOKENS,
                "temperature": 0,
            },
        )
        return parse_chat(data).choices[0].text
    data = client.post(
        "/completions",
        {"prompt": copy_prompt(items), "max_tokens": COPY_MAX_TOKENS, "temperature": 0, "stop": ["\n"]},
    )
    return parse_completion(data).choices[0].text


def reference_copy(ref, items: tuple[str, ...], chat: bool) -> str | None:
    """The reference's own greedy copy (None without weights: then the list itself is the baseline)."""
    if not ref.has_weights:
        return None
    prompt = copy_prompt(items)
    ids = ref.chat_prompt_ids([{"role": "user", "content": prompt}]) if chat else ref.encode(prompt)
    out = ref.decode(ref.generate(ids, n=1, max_new_tokens=COPY_MAX_TOKENS, temperature=0, seed=0)[0])
    return out if chat else out.split("\n")[0]


@dataclass
class CopyRecord:
    items: tuple[str, ...]
    endpoint: str
    reference: str | None
    stage: str  # "screen" | "confirm"


def word_table(records: list[CopyRecord]) -> dict[str, dict[str, int]]:
    """Per listed word: how often the reference (or the list) had it and the endpoint kept/dropped it."""
    table: dict[str, dict[str, int]] = {}
    for r in records:
        baseline = r.reference if r.reference is not None else ", ".join(r.items)
        for w in r.items:
            if not contains_word(baseline, w):
                continue
            row = table.setdefault(w, {"kept": 0, "dropped": 0})
            row["kept" if contains_word(r.endpoint, w) else "dropped"] += 1
    return table


def suspicious_words(records: list[CopyRecord]) -> list[str]:
    """Vendor names dropped by the endpoint at least once and never kept (screening stage)."""
    table = word_table([r for r in records if r.stage == "screen"])
    words = [w for w in VENDOR_WORDS if w in table and table[w]["dropped"] > 0 and table[w]["kept"] == 0]
    return words[:MAX_CONFIRMED_WORDS]


def confirm_lists(word: str) -> list[tuple[str, ...]]:
    return [(f[0], f[1], word, f[2], f[3], f[4]) for f in CONFIRM_FILLERS[:CONFIRM_LISTS]]


def inserted_vendor_words(records: list[CopyRecord]) -> dict[str, int]:
    """Vendor names in the endpoint's copies that were not in the list (replacement)."""
    out: dict[str, int] = {}
    for r in records:
        for w in VENDOR_WORDS:
            if contains_word(r.endpoint, w) and w not in r.items:
                out[w] = out.get(w, 0) + 1
    return out


def deletion_evidence(records: list[CopyRecord], *, alpha: float, requests: int, tokens: int) -> Evidence:
    confirm = [r for r in records if r.stage == "confirm"]
    screen = [r for r in records if r.stage == "screen"]
    inserted = inserted_vendor_words(records)
    tested: dict[str, dict[str, Any]] = {}
    for word in dict.fromkeys(w for r in confirm for w in r.items if w in VENDOR_WORDS):
        recs = [r for r in confirm if word in r.items]
        table = word_table(recs)
        w = table.get(word, {"kept": 0, "dropped": 0})
        controls = {"kept": 0, "dropped": 0}
        for c, row in table.items():
            if c != word and c not in VENDOR_WORDS:
                controls["kept"] += row["kept"]
                controls["dropped"] += row["dropped"]
        p = fisher_exact_greater(w["dropped"], w["kept"], controls["dropped"], controls["kept"])
        tested[word] = {"word": w, "controls": controls, "p": p}
    words = list(tested)
    adjusted = holm([tested[w]["p"] for w in words])
    for w, p_adj in zip(words, adjusted, strict=True):
        tested[w]["p_holm"] = p_adj
    confirmed = [w for w in words if tested[w]["p_holm"] < alpha]
    screen_table = word_table(screen)
    baseline = "the reference's own copy" if any(r.reference is not None for r in records) else "the list"
    measured = (
        f"{len(screen)} copy lists naming {len([w for w in VENDOR_WORDS if w in screen_table])} vendors/models "
        f"(+{len(confirm)} confirmation lists), compared with {baseline}"
    )
    details: dict[str, Any] = {"screen": screen_table, "confirmation": tested, "inserted_names": inserted}
    if confirmed:
        best = min(confirmed, key=lambda w: tested[w]["p_holm"])
        p = tested[best]["p_holm"]
        stat = ", ".join(
            f"'{w}' dropped {tested[w]['word']['dropped']}/{tested[w]['word']['dropped'] + tested[w]['word']['kept']} "
            f"vs controls {tested[w]['controls']['dropped']}/{tested[w]['controls']['dropped'] + tested[w]['controls']['kept']}"
            for w in confirmed
        )
        return Evidence(
            name="deletion_probe",
            kind="proxy",
            measured=measured,
            statistic=f"systematic deletion: {stat} (Fisher, Holm-adjusted {format_p(p)})",
            supports="mismatch",
            strength=1 - p,
            requests=requests,
            tokens=tokens,
            p_value=p,
            decisive=True,
            details=details | {"deleted_words": confirmed},
        )
    p_min = min((tested[w]["p_holm"] for w in words), default=float("nan"))
    statistic = "no vendor name is dropped more often than the control words"
    if words:
        statistic = f"suspected {', '.join(repr(w) for w in words)} not confirmed ({format_p(p_min)})"
    if inserted:
        statistic += f"; names not in the lists appeared: {', '.join(sorted(inserted))}"
    return Evidence(
        name="deletion_probe",
        kind="proxy",
        measured=measured,
        statistic=statistic,
        supports="neutral",
        strength=0.0,
        requests=requests,
        tokens=tokens,
        p_value=p_min if words else None,
        details=details,
    )


def run_copies(client: Client, ref, *, chat: bool, budget_left) -> list[CopyRecord]:
    """Screen with COPY_LISTS, then confirm each suspicious name on fresh lists (as budget allows)."""
    records = []
    for items in COPY_LISTS:
        if budget_left() <= 0:
            break
        records.append(
            CopyRecord(items, request_copy(client, items, chat), reference_copy(ref, items, chat), "screen")
        )
    for word in suspicious_words(records):
        for items in confirm_lists(word):
            if budget_left() <= 0:
                break
            records.append(
                CopyRecord(
                    items, request_copy(client, items, chat), reference_copy(ref, items, chat), "confirm"
                )
            )
    return records


# ---------------------------------------------------------------------------- identity ----


def vendors_named(text: str) -> list[str]:
    return [w for w in VENDOR_WORDS if contains_word(text, w)]


def request_identity(client: Client, question: str, chat: bool) -> str:
    if chat:
        data = client.post(
            "/chat/completions",
            {"messages": [{"role": "user", "content": question}], "max_tokens": 32, "temperature": 0},
        )
        return parse_chat(data).choices[0].text
    data = client.post(
        "/completions", {"prompt": f"Q: {question}\nA:", "max_tokens": 32, "temperature": 0, "stop": ["\nQ:"]}
    )
    return parse_completion(data).choices[0].text


def reference_identity(ref, question: str, chat: bool) -> str | None:
    if not ref.has_weights:
        return None
    ids = (
        ref.chat_prompt_ids([{"role": "user", "content": question}])
        if chat and ref.has_chat_template
        else ref.encode(f"Q: {question}\nA:")
    )
    return ref.decode(ref.generate(ids, n=1, max_new_tokens=32, temperature=0, seed=0)[0])


def identity_evidence(
    answers: list[str], reference_answers: list[str | None], *, requests: int, tokens: int
) -> Evidence:
    named = sorted({w for a in answers for w in vendors_named(a)})
    ref_named = sorted({w for a in reference_answers if a for w in vendors_named(a)})
    foreign = [w for w in named if w not in ref_named]
    if foreign and ref_named:
        supports, strength = "mismatch", WEAK_STRENGTH_CAP
        stat = f"names {', '.join(foreign)}; the reference names {', '.join(ref_named)} (weak: models misreport themselves)"
    elif named and set(named) <= set(ref_named):
        supports, strength = "match", 0.5
        stat = f"names {', '.join(named)}, as the reference does (weak evidence)"
    else:
        supports, strength = "neutral", 0.0
        stat = f"names {', '.join(named) or 'no vendor'}; reference: {', '.join(ref_named) or 'no vendor'}"
    return Evidence(
        name="identity_probe",
        kind="proxy",
        measured=f"answers to {len(answers)} 'who are you' questions",
        statistic=stat,
        supports=supports,  # type: ignore[arg-type]
        strength=strength,
        requests=requests,
        tokens=tokens,
        details={
            "answers": [a[:200] for a in answers],
            "reference_answers": [(a or "")[:200] for a in reference_answers],
        },
    )


# ------------------------------------------------------------------------------- cache ----


@dataclass
class CacheRecord:
    samples: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def request_cache_sample(client: Client, chat: bool) -> str:
    if chat:
        data = client.post(
            "/chat/completions",
            {
                "messages": [{"role": "user", "content": CACHE_PROMPT}],
                "max_tokens": CACHE_MAX_TOKENS,
                "temperature": 1.0,
            },
        )
        return parse_chat(data).choices[0].text
    data = client.post(
        "/completions", {"prompt": CACHE_PROMPT, "max_tokens": CACHE_MAX_TOKENS, "temperature": 1.0}
    )
    return parse_completion(data).choices[0].text


def cache_evidence(record: CacheRecord, ref, *, requests: int, tokens: int) -> Evidence:
    a, b = ([*record.samples, "", ""])[:2]
    n_tokens = len(ref.encode_plain(a)) if a else 0
    identical = bool(a) and a == b and n_tokens >= 8
    return Evidence(
        name="cache_tell",
        kind="proxy",
        measured=f"two samples at temperature 1 of the same open prompt ({CACHE_MAX_TOKENS} tokens max)",
        statistic=(
            f"identical {n_tokens}-token samples: a response cache or a fixed sampling seed"
            if identical
            else "the samples differ, as independent samples do"
        ),
        supports="neutral",
        strength=0.0,
        requests=requests,
        tokens=tokens,
        details={"identical": identical, "sample_tokens": n_tokens},
    )
