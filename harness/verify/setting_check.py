"""Did the run reproduce the claim's setting? Differences, assumed defaults, and truncated generations.

A shortfall measured in another setting (fewer shots, no chain of thought, a tighter generation cap)
is not evidence against the claim, so the verdict layer turns ``below claim`` into ``setting not
reproduced`` when this module finds a difference, or when generations cut at the token cap could
explain the gap. Pure functions: the run's facts come in as values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.data.registry import get_spec
from harness.verify.claims import Claim, Setting
from harness.verify.verdict import Truncation

# lm-eval's default generation cap of its model classes (HFLM, vLLM, the API models): 256 tokens.
LM_EVAL_DEFAULT_MAX_GEN_TOKS = 256

_WORDS = {
    "metric": "metric",
    "filter": "answer extraction",
    "n_shot": "shots",
    "chain_of_thought": "chain of thought",
    "chat_template": "chat template",
    "max_gen_toks": "generation cap (tokens)",
}


@dataclass(frozen=True)
class SettingComparison:
    claimed: dict[str, Any]
    run: dict[str, Any]
    differences: list[str]
    assumed: list[str]  # keys the claim does not state: the documented default was assumed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_settings(
    benchmark: str,
    claim: Claim,
    claimed_shots: int,
    run: Setting,
    run_max_gen_toks: int | None,
    generative: bool,
    forced: Sequence[str] = (),
) -> SettingComparison:
    """The claim's setting (with its effective shot count) against the run's.

    ``forced`` names reasons the run could not follow the claim (e.g. a chat-only endpoint applies its
    chat template). The generation cap is compared only where it exists (generative benchmarks): a run
    whose cap differs from the one the claim states, or that overrode the task's cap when the claim
    states none, did not reproduce the setting.
    """
    cs = claim.setting
    claimed = {
        "metric": cs.metric,
        "filter": cs.filter,
        "n_shot": claimed_shots,
        "chain_of_thought": cs.chain_of_thought,
        "chat_template": cs.chat_template,
    }
    ran = {
        "metric": run.metric,
        "filter": run.filter,
        "n_shot": run.n_shot,
        "chain_of_thought": run.chain_of_thought,
        "chat_template": run.chat_template,
    }
    if generative:
        claimed["max_gen_toks"] = cs.max_gen_toks
        ran["max_gen_toks"] = run_max_gen_toks
    differences = []
    for key, want in claimed.items():
        got = ran[key]
        if key == "max_gen_toks":
            default = LM_EVAL_DEFAULT_MAX_GEN_TOKS
            if want is None and got not in (None, default):
                differences.append(
                    f"{_WORDS[key]}: the claim states none (lm-eval's default is {default}); the run capped "
                    f"generations at {got}"
                )
            elif want is not None and got != want:
                differences.append(f"{_WORDS[key]}: claim {want}, run {got if got is not None else default}")
            continue
        if got != want:
            differences.append(f"{_WORDS[key]}: claim {_show(want)}, run {_show(got)}")
    differences += [str(f) for f in forced]
    # Only keys that could have been otherwise are reported as assumed: the answer extraction where
    # the benchmark has a choice of filters, chain of thought where it has such a task, the generation
    # cap where it generates.
    lm_eval = get_spec(benchmark).lm_eval
    meaningful = {
        "filter": lm_eval.extracts_answer,
        "chain_of_thought": lm_eval.chain_of_thought is not None,
        "max_gen_toks": generative,
    }
    assumed = [
        f"{_WORDS[k]} not stated by the claims file; the documented default ({_show(claimed[k])}) was assumed"
        for k in claimed
        if k not in claim.stated and meaningful.get(k, True)
    ]
    return SettingComparison(claimed=claimed, run=ran, differences=differences, assumed=assumed)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "unknown" if value is None else str(value)


def count_truncation(
    records: Sequence[dict[str, Any]], max_gen_toks: int | None, tokenizer_available: bool
) -> Truncation:
    """Generations that reached the cap (by token count when the tokenizer was at hand) and answers the
    strict filter could not find, with how many of each were scored wrong."""
    scored = len(records)
    wrong = [r for r in records if float(r["correct"]) < 1.0]
    if tokenizer_available and max_gen_toks is not None:
        cut = [r for r in records if r.get("gen_tokens") is not None and r["gen_tokens"] >= max_gen_toks]
        truncated: int | None = len(cut)
        truncated_wrong: int | None = sum(float(r["correct"]) < 1.0 for r in cut)
        method = f"generated tokens counted with the model's tokenizer; cut = at least {max_gen_toks} tokens"
    else:
        truncated = truncated_wrong = None
        method = "no tokenizer for the served model: generations without a final answer stand in for cut ones"
    no_answer = sum(bool(r.get("no_final_answer")) for r in records)
    no_answer_wrong = sum(bool(r.get("no_final_answer")) for r in wrong)
    return Truncation(
        max_gen_toks=max_gen_toks,
        scored=scored,
        truncated=truncated,
        truncated_wrong=truncated_wrong,
        no_final_answer=no_answer,
        no_final_answer_wrong=no_answer_wrong,
        method=method,
    )
