"""Release-format conversions: properties that must hold for any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.data.formats import split_hellaswag_ctx

words = st.text(alphabet="abcdefghij XYZ.!?", min_size=0, max_size=60)


@given(words)
def test_hellaswag_split_rejoins_to_the_original_context(ctx):
    ctx_a, ctx_b = split_hellaswag_ctx(ctx)
    rejoined = ctx_a if not ctx_b else f"{ctx_a} {ctx_b}"
    assert rejoined.split() == ctx.split()
    assert not ctx_b or ctx_b[0].islower()


def test_hellaswag_split_on_real_shapes():
    assert split_hellaswag_ctx("A man is sitting on a roof. he") == ("A man is sitting on a roof.", "he")
    assert split_hellaswag_ctx("[header] How to x [title] Do y. [step] Try it.") == (
        "[header] How to x [title] Do y. [step] Try it.",
        "",
    )
