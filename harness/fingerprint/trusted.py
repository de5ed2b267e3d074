"""A trusted endpoint as the reference: fresh probe draws scored by a server the user runs with the
public weights (e.g. ``vllm serve <model>`` on a rented GPU), read through prompt logprobs.

Why this exists beside the signature: a signature holds a fixed set of probe items, computed once; a
provider who has the signature could special-case exactly those texts. With a trusted endpoint every run
draws new items from the seeded pool (as a local reference does) and asks the trusted server for the
reference's token log-probabilities (``echo`` with ``logprobs``) and greedy continuations (temperature 0,
``logprobs``), with token ids as the prompt so that nothing is re-tokenised.

What honest numerics look like cannot be measured without the weights, so the **calibration** (margin
threshold, flip bound, log-probability bands), the tokenizer and the EOS ids come from a signature
directory (``harness fingerprint-signature``, computed once where the weights are). Before it is used,
the trusted endpoint must reproduce the signature's own scores within the 16bit tier (``check``): a
server with other weights, or far numerics, is refused as a reference. Its distance to the float32
reference then uses part of the slack ``RHO`` leaves for honest implementations (docs/fingerprint.md,
"A trusted endpoint as the reference").

Every position where the server's report is ambiguous (top-k entries that collapsed onto one token text,
a token text that names no single id) is made *less* informative, never more: an unknown margin is 0 (a
near-tie, excluded from the greedy test), an unknown rank is large (excluded from the shifted alignment),
and a continuation whose tokens cannot be mapped to ids is cut before them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.fingerprint.client import BudgetExhausted, Client, EndpointError
from harness.fingerprint.reference import (
    RHO,
    SIGNATURE_FILE,
    BaseReference,
    Calibration,
    FreshDraws,
    GreedyPath,
    ReferenceError,
    _digest_ids,
    _token_texts,
)
from harness.fingerprint.responses import TokenLogprobs, parse_completion

TOP_K = 5  # top logprobs asked for at each position (vLLM allows up to 20 by default)
UNKNOWN_RANK = 1_000_000
CHECK_TEXTS = 4  # signature texts re-scored by the trusted endpoint before it is used
CHECK_TIER = "16bit"
BUDGET_PER_RUN = 2_000  # requests to the trusted endpoint per fingerprint (its own budget, not the run's)


class TrustedEndpointReference(FreshDraws, BaseReference):
    """Reference results from a trusted OpenAI-compatible server; calibration from a signature."""

    kind = "endpoint"
    has_weights = False
    can_generate = True

    def __init__(
        self,
        signature: Any,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        budget: int = BUDGET_PER_RUN,
        transport: Any = None,
    ):
        if getattr(signature, "kind", "") != "signature":
            raise ReferenceError(
                f"--reference {getattr(signature, 'label', signature)}: a trusted endpoint needs a signature "
                "directory (written by `harness fingerprint-signature`) for its tokenizer and calibration"
            )
        self.signature = signature
        self.label = signature.label
        self.path: Path = signature.path
        self.tokenizer = signature.tokenizer
        self.eos_ids = signature.eos_ids
        self.client = Client(base_url, model, api_key_env=api_key_env, budget=budget, transport=transport)
        self.client.probe = "reference"
        self._memo: dict[str, Any] = {}
        self.check_result: dict[str, Any] | None = None

    # ----------------------------------------------------------------- what the runner uses ----

    def provenance(self) -> dict[str, Any]:
        return {
            "reference": self.label,
            "kind": "endpoint",
            "endpoint": self.client.base_url,
            "model": self.client.model,
            "path": str(self.path.resolve()),
            "signature_seed": self.signature.payload.get("seed"),
            "signed_reference": self.signature.payload.get("reference"),
            "requests": self.client.ledger.requests,
            "check": self.check_result,
        }

    def calibration(self) -> Calibration:
        return self.signature.calibration()

    def token_logprobs(self, ids: list[int]) -> list[float]:
        return self._scores(list(ids))["obs"]

    def token_ranks(self, ids: list[int]) -> list[int]:
        return self._scores(list(ids))["rank"]

    def greedy(self, prompt_ids: list[int], max_new: int) -> GreedyPath:
        key = "greedy-" + _digest_ids(list(prompt_ids), max_new)
        if key not in self._memo:
            self._memo[key] = self._greedy(list(prompt_ids), max_new)
        return self._memo[key]

    # -------------------------------------------------------------------------- checking ----

    def check(self) -> dict[str, Any]:
        """Re-score ``CHECK_TEXTS`` of the signature's texts; refuse a server that does not reproduce them
        within ``RHO`` times the 16bit band (other weights, or numerics far from the signed reference)."""
        payload = self.signature.payload
        keys = list(payload["index"].get("natural") or [])[:CHECK_TEXTS]
        if not keys:
            raise ReferenceError(f"--reference {self.label}: the signature holds no texts to check against")
        sq, n = 0.0, 0
        for key in keys:
            ids = self.encode(payload["texts"][key])
            want = self.signature.token_logprobs(ids)
            got = self.token_logprobs(ids)
            for a, b in zip(got, want, strict=True):
                sq += (a - b) ** 2
                n += 1
        rms = math.sqrt(sq / n) if n else math.nan
        limit = RHO * self.calibration().band(CHECK_TIER, generated=False)
        self.check_result = {
            "texts": len(keys),
            "tokens": n,
            "rms_nats": round(rms, 6),
            "limit_nats": round(limit, 6),
            "tier": CHECK_TIER,
        }
        if not rms <= limit:
            raise ReferenceError(
                f"--reference-endpoint {self.client.base_url}: it does not reproduce the signature "
                f"{self.label} (RMS log-probability difference {rms:.4g} nats over {n} tokens, more than "
                f"{limit:.4g}, {RHO:g} times the 16bit band): it serves other weights or other numerics, "
                "so it cannot be the reference"
            )
        return self.check_result

    # -------------------------------------------------------------------------- requests ----

    def _post(self, body: dict[str, Any]) -> tuple[TokenLogprobs, str | None, list[int] | None]:
        """One temperature-0 completion: its logprobs, finish reason and, when the server returns them
        (vLLM >= 0.10.2 with ``return_token_ids``), the generated token ids."""
        try:
            data = self.client.post("/completions", {**body, "temperature": 0, "return_token_ids": True})
            resp = parse_completion(data)
        except (EndpointError, BudgetExhausted) as e:
            raise ReferenceError(f"--reference-endpoint {self.client.base_url}: {e}") from e
        if not resp.choices or resp.choices[0].logprobs is None:
            raise ReferenceError(
                f"--reference-endpoint {self.client.base_url}: the response has no logprobs; a trusted "
                "endpoint must return them (e.g. vLLM's OpenAI server)"
            )
        raw = (data.get("choices") or [{}])[0].get("token_ids")
        ids = raw if isinstance(raw, list) and all(type(i) is int for i in raw) else None
        return resp.choices[0].logprobs, resp.choices[0].finish_reason, ids

    def _scores(self, ids: list[int]) -> dict[str, list]:
        key = "scores-" + _digest_ids(ids)
        if key in self._memo:
            return self._memo[key]
        lp, _, _ = self._post({"prompt": ids, "max_tokens": 1, "echo": True, "logprobs": TOP_K})
        if len(lp.logprobs) < len(ids):
            raise ReferenceError(
                f"--reference-endpoint {self.client.base_url}: echo returned {len(lp.logprobs)} prompt "
                f"tokens for {len(ids)} sent; the trusted endpoint must echo the prompt's token logprobs"
            )
        obs: list[float] = []
        rank: list[int] = []
        for j in range(1, len(ids)):
            v = lp.logprobs[j]
            if v is None:
                raise ReferenceError(
                    f"--reference-endpoint {self.client.base_url}: no logprob for prompt token {j}"
                )
            obs.append(float(v))
            rank.append(_rank(float(v), lp.top[j]))
        self._memo[key] = {"obs": obs, "rank": rank}
        return self._memo[key]

    def _greedy(self, prompt_ids: list[int], max_new: int) -> GreedyPath:
        lp, finish, given = self._post({"prompt": prompt_ids, "max_tokens": max_new, "logprobs": TOP_K})
        tokens, values, tops = list(lp.tokens), list(lp.logprobs), list(lp.top)
        if given is not None and len(given) != len(tokens):
            given = None  # ids that do not line up with the logprobs are not used
        stopped = finish == "stop"
        eos_top: dict[str, float] | None = None
        last_is_eos = bool(tokens) and (
            given[-1] in self.eos_ids if given is not None else self._is_eos(tokens[-1])
        )
        if stopped and last_is_eos:
            eos_top = tops[-1]
            tokens, values, tops = tokens[:-1], values[:-1], tops[:-1]
            given = given[:-1] if given is not None else None
        ids = given if given is not None else self._ids(tokens)
        if len(ids) < len(tokens):  # cut before a token we cannot name: the path ends there, not stopped
            tokens, values, tops, stopped = tokens[: len(ids)], values[: len(ids)], tops[: len(ids)], False
        margins: list[float] = []
        for t, (v, top) in enumerate(zip(values, tops, strict=True)):
            if v is None:
                raise ReferenceError(
                    f"--reference-endpoint {self.client.base_url}: no logprob for generated token {t}"
                )
            if top and max(top.values()) > v + 1e-4:
                raise ReferenceError(
                    f"--reference-endpoint {self.client.base_url}: generated token {t} is not its most likely "
                    "token: the trusted endpoint did not decode greedily at temperature 0"
                )
            margins.append(_margin(top))
        if stopped:
            margins.append(_margin(eos_top))
        return GreedyPath(
            tuple(prompt_ids),
            tuple(ids),
            tuple(_token_texts(self.tokenizer, ids)),
            tuple(margins),
            tuple(float(v) for v in values),
            stopped,
        )

    def _is_eos(self, token: str) -> bool:
        return token == "" or any(token == self.token_text(i) for i in self.eos_ids)

    def _ids(self, tokens: list[str]) -> list[int]:
        """Token ids for the server's token texts (a server that does not return ids): one by one through
        the unambiguous table, else the whole text's own encoding when its pieces are exactly these
        texts; else the longest prefix named."""
        s2i = self.string_to_id
        ids: list[int] = []
        for tok in tokens:
            if tok not in s2i:
                break
            ids.append(s2i[tok])
        if len(ids) == len(tokens):
            return ids
        enc = self.encode_plain("".join(tokens))
        if [self.token_text(i) for i in enc] == tokens:
            return enc
        return ids


def _margin(top: dict[str, float] | None) -> float:
    """Top-1 minus top-2 log-probability; 0 (a near-tie: never counted) when the report cannot show it."""
    if not top or len(top) < TOP_K:  # none, or entries collapsed onto one text: the runner-up may be missing
        return 0.0
    vals = sorted(top.values(), reverse=True)
    return float(vals[0] - vals[1])


def _rank(value: float, top: dict[str, float] | None) -> int:
    """The observed token's rank from the top-k values; large when the report cannot show it."""
    if not top:
        return UNKNOWN_RANK
    above = sum(1 for v in top.values() if v > value + 1e-6)
    if above == 0:
        return 0
    if len(top) < TOP_K or above >= TOP_K:  # at or below the k-th: its rank is not shown
        return UNKNOWN_RANK
    return above


def open_trusted_reference(
    signature_dir: str | Path,
    endpoint: str,
    model: str,
    *,
    api_key_env: str | None = None,
    transport: Any = None,
) -> TrustedEndpointReference:
    """Open the signature, connect to the trusted endpoint, and check it reproduces the signature."""
    from harness.fingerprint.reference import load_reference

    path = Path(signature_dir)
    if not (path / SIGNATURE_FILE).is_file():
        raise ReferenceError(
            f"--reference {signature_dir}: with --reference-endpoint, --reference must be a signature "
            "directory (written by `harness fingerprint-signature`): it gives the tokenizer and the calibration"
        )
    ref = TrustedEndpointReference(
        load_reference(path), endpoint, model, api_key_env=api_key_env, transport=transport
    )
    ref.check()
    return ref


def resolve_reference(
    reference: str | Path,
    model: str,
    *,
    endpoint: str | None = None,
    endpoint_model: str | None = None,
    api_key_env: str | None = None,
) -> str | Path | TrustedEndpointReference:
    """What ``run_fingerprint`` takes as its reference, for the CLI and the audit alike: ``reference`` as
    given, or with a trusted ``endpoint`` the signature opened against it (and checked); the trusted
    server serves ``endpoint_model``, by default the claimed ``model``."""
    if endpoint:
        return open_trusted_reference(reference, endpoint, endpoint_model or model, api_key_env=api_key_env)
    if endpoint_model or api_key_env:
        raise ValueError("--reference-model and --reference-api-key-env need --reference-endpoint")
    return reference
