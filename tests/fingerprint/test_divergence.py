import numpy as np
import pytest
import torch

from harness.fingerprint.divergence import compare_rows, variant_entries


def _rows(n: int, vocab: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.log_softmax(torch.randn(n, vocab, generator=g) * 3, dim=-1)


def _report(rows: torch.Tensor, observed: list[int], k: int):
    entries, obs = variant_entries(rows, observed, k)
    return entries, obs


def test_identical_rows_give_zero_everything():
    ref = _rows(50, 200, 0)
    obs = torch.randint(0, 200, (50,), generator=torch.Generator().manual_seed(1)).tolist()
    entries, lp = _report(ref, obs, 10)
    s = compare_rows(entries, obs, lp, ref)
    assert (
        np.allclose(s.d, 0, atol=1e-6) and np.allclose(s.u, 0, atol=1e-6) and np.allclose(s.kl, 0, atol=1e-9)
    )
    assert s.top1.all()
    assert (s.ref_rank >= 0).all()


def test_noise_blind_to_the_text_gives_zero_mean_u_but_a_shift_toward_the_text_does_not():
    ref = _rows(4000, 100, 2)
    g = torch.Generator().manual_seed(3)
    # the observed tokens are drawn from the reference, as natural text roughly is
    obs = torch.multinomial(ref.exp(), 1, generator=g)[:, 0].tolist()
    noisy = torch.log_softmax(ref + 0.3 * torch.randn(ref.shape, generator=g), dim=-1)
    e, lp = _report(noisy, obs, 20)
    s = compare_rows(e, obs, lp, ref)
    se = np.nanstd(s.u) / np.sqrt(np.isfinite(s.u).sum())
    assert abs(np.nanmean(s.u)) < 4 * se  # the -Var/2 shrinkage of d cancels in u
    assert np.nanmean(s.d) < -2 * se  # ...while d itself is biased down
    boosted = ref.clone()
    boosted[torch.arange(len(obs)), torch.tensor(obs)] += 0.2
    boosted = torch.log_softmax(boosted, dim=-1)
    e2, lp2 = _report(boosted, obs, 20)
    s2 = compare_rows(e2, obs, lp2, ref)
    assert np.nanmean(s2.u) > 0.05


def test_a_constant_offset_per_row_cancels_in_u_and_kl():
    ref = _rows(30, 80, 4)
    obs = [1] * 30
    entries, lp = _report(ref, obs, 8)
    shifted = [{k: v - 0.7 for k, v in e.items()} for e in entries]
    s = compare_rows(shifted, obs, [v - 0.7 for v in lp], ref)
    assert np.allclose(s.u, 0, atol=1e-6) and np.allclose(s.kl, 0, atol=1e-9)
    assert np.allclose(s.d, -0.7, atol=1e-6)


def test_missing_entries_and_unreported_observed_token():
    ref = _rows(3, 50, 5)
    entries, lp = _report(ref, [0, 1, 2], 2)
    entries[1] = None
    # the observed token not in the top-k and its logprob not reported: no d/u, but KL still
    obs = [int(torch.argsort(ref[0])[0]), 1, 2]
    s = compare_rows(entries, obs, [None, None, lp[2]], ref)
    assert np.isnan(s.d[0]) and np.isfinite(s.kl[0]) and not s.in_topk[0]
    assert np.isnan(s.kl[1])
    assert s.d[2] == pytest.approx(0.0, abs=1e-6)
