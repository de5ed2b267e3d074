from harness.fingerprint.evidence import Evidence
from harness.fingerprint.probes import token_count, truncation
from harness.fingerprint.verdict import decide


def _ev(name, kind, supports, p=None, decisive=False, strength=0.0, **details):
    return Evidence(name, kind, "m", "s", supports, strength, p_value=p, decisive=decisive, details=details)


def test_mismatch_needs_a_holm_adjusted_rejection():
    ev = [
        _ev("token_count_probe", "tokenizer", "match", strength=1.0),
        _ev(
            "logprob_probe",
            "weights",
            "mismatch",
            p=0.004,
            decisive=True,
            relation="different weights",
            drift_p=0.001,
            p_above_quantisation_band=0.5,
            drift_mean=0.01,
            drift_ratio=0.5,
            drift_null_scale=0.08,
        ),
        _ev("two_sample_test", "weights", "mismatch", p=0.006, decisive=True),
    ]
    v = decide(ev, alpha=0.01)
    assert v.verdict == "mismatch" and v.weights_relation == "different weights"
    assert v.confidence == 1 - 0.008  # Holm: 2 x 0.004
    assert "shift coherently" in v.headline
    # the same p-values among five tests no longer clear alpha after adjustment
    more = [*ev, *(_ev(f"x{i}", "proxy", "mismatch", p=0.5, decisive=False) for i in range(3))]
    assert decide(more, alpha=0.01).verdict == "inconclusive"


def test_match_comes_only_from_the_logprob_probe_and_weak_tells_are_named():
    lp = _ev(
        "logprob_probe",
        "weights",
        "match",
        decisive=True,
        strength=0.999,
        relation="identical",
        positions=2000,
        max_abs_logprob_diff=2e-5,
    )
    v = decide([lp, _ev("identity_probe", "proxy", "mismatch", strength=0.75)], alpha=0.01)
    assert v.verdict == "match" and v.weights_relation == "identical" and v.confidence == 0.999
    assert "identical" in v.headline and "Weak tells" in v.headline
    weak_only = decide([_ev("greedy_agreement", "weights", "match", strength=0.75)], alpha=0.01)
    assert weak_only.verdict == "inconclusive" and weak_only.weights_relation == "unknown"


def test_deletion_without_weight_evidence_is_a_mismatch_of_unknown_weights():
    ev = [_ev("echo_rewrite_tell", "proxy", "mismatch", p=0.0, decisive=True, deleted_words={"Anthropic": 2})]
    v = decide(ev, alpha=0.01)
    assert v.verdict == "mismatch" and v.weights_relation == "unknown" and "rewrites output" in v.headline


def test_tokenizer_mismatch_means_different_weights():
    v = decide([_ev("token_count_probe", "tokenizer", "mismatch", p=1e-9, decisive=True)], alpha=0.01)
    assert (
        v.verdict == "mismatch"
        and v.weights_relation == "different weights"
        and "tokenizer differs" in v.headline
    )


def test_token_count_analysis_differences_cancel_overhead():
    ref = [10, 15, 20, 12]
    same = token_count.TokenCountResult(
        [13, 18, 23, 15], ref, chat=True
    )  # +3 template tokens on every prompt
    ev = token_count.analyse(same, alpha=0.01, requests=4, tokens=100)
    assert ev[0].supports == "match" and ev[0].details["base_offset"] == 3
    assert ev[1].name == "hidden_prompt_tell" and not ev[1].decisive
    other = token_count.TokenCountResult([9, 14, 19, 15], ref, chat=False)
    ev2 = token_count.analyse(other, alpha=0.01, requests=4, tokens=100)
    assert ev2[0].supports == "neutral"  # 1 of 3 differs: within the quirk allowance
    many = token_count.TokenCountResult(
        [9] + [9 + 2 * i for i in range(1, 11)], [10] + [10 + 3 * i for i in range(1, 11)], chat=False
    )
    ev3 = token_count.analyse(many, alpha=0.01, requests=11, tokens=100)
    assert ev3[0].supports == "mismatch" and ev3[0].decisive and ev3[0].p_value < 1e-9
    none = token_count.TokenCountResult([None] * 4, ref, chat=False)
    assert token_count.analyse(none, alpha=0.01, requests=4, tokens=0)[0].supports == "neutral"


class _Tok:
    """Whitespace 'tokenizer' for the truncation analysis."""

    def __init__(self):
        self.tokenizer = self

    def encode_plain(self, text):
        return text.split()

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(ids)


def test_truncation_analysis_compares_cuts_with_the_long_reply():
    full = truncation.Cut(0, truncation.FULL_MAX_TOKENS, "a b c d e f g h i j", "length", 12)
    good = [truncation.Cut(0, 4, "a b c d", "length", 4), truncation.Cut(0, 7, "a b c d e f g", "length", 7)]
    ev = truncation.analyse(
        truncation.TruncationResult([full, *good]), _Tok(), alpha=0.01, requests=3, tokens=0
    )
    assert ev.supports == "match" and ev.strength == 1.0
    fulls = [
        truncation.Cut(i, truncation.FULL_MAX_TOKENS, "a b c d e f g h i j", "length", 12) for i in range(4)
    ]
    # a finer (non-canonical, or smaller-vocabulary) split ends before the boundary: not evidence
    finer = [truncation.Cut(i, k, "a b", "length", k) for i in range(4) for k in (4, 7)]
    ev2 = truncation.analyse(
        truncation.TruncationResult(fulls + finer), _Tok(), alpha=0.01, requests=12, tokens=0
    )
    assert ev2.supports == "neutral" and not ev2.decisive and ev2.details["before"] == 8
    # more text in k tokens than the reference tokenizer can fit: a different tokenizer
    coarser = [truncation.Cut(i, k, "a b c d e f g h i", "length", k) for i in range(4) for k in (4, 7)]
    ev3 = truncation.analyse(
        truncation.TruncationResult(fulls + coarser), _Tok(), alpha=0.01, requests=12, tokens=0
    )
    assert ev3.supports == "mismatch" and ev3.decisive and len(ev3.details["beyond"]) == 8
