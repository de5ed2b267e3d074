import pytest

from harness.records.status import EXIT_CODES, ExitCode, combine_status, exit_code


def test_exit_code_table_is_the_documented_one():
    assert EXIT_CODES == {"clean": 0, "flagged": 1, "failed": 2, "unresolved": 3}
    assert [exit_code(s) for s in ("clean", "flagged", "failed", "unresolved")] == [0, 1, 2, 3]
    assert ExitCode.UNRESOLVED == 3


@pytest.mark.parametrize(
    ("statuses", "combined"),
    [
        (["clean", "clean"], "clean"),
        (["clean", "unresolved"], "unresolved"),
        (["unresolved", "failed", "clean"], "failed"),
        (["failed", "flagged"], "flagged"),
        (["flagged", "unresolved", "clean"], "flagged"),
        ([], "unresolved"),
    ],
)
def test_combine_status_precedence(statuses, combined):
    assert combine_status(statuses) == combined


def test_capability_words_map_to_their_class():
    assert [exit_code(s) for s in ("leak", "incomplete", "mismatch", "inconclusive", "match")] == [
        1,
        3,
        1,
        3,
        0,
    ]
    assert combine_status(["match", "incomplete"]) == "unresolved"
    assert combine_status(["error", "inconclusive"]) == "failed"


def test_unknown_status_is_an_error_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown status 'bogus'.*clean"):
        exit_code("bogus")
    with pytest.raises(ValueError):
        combine_status(["clean", "ok"])
