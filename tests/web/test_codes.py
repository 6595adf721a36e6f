import pytest

from web.codes import code_from_input
from web.words import POST_ERRORS, TAPE_FAILURE_FALLBACK, tape_failure_words


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("bop", "bop"),
        ("  bop ", "bop"),
        ("!bop", "bop"),
        ("#bop", "bop"),
        ("%23bop", "bop"),
        ("/#bop", "bop"),
        ("Bq7", "Bq7"),  # case is kept: codes are case-sensitive
        ("/t/bop", "bop"),
        ("https://tapes.example/t/b2K/", "b2K"),
        ("https://tapes.example/t/b2K?x=1", "b2K"),
        ("", None),
        ("!", None),
        ("bo p", None),
        ("!!bop", None),
        ("../etc", None),
        ("bop<script>", None),
        ("x" * 17, None),
    ],
)
def test_code_from_input(typed: str, code: str | None) -> None:
    assert code_from_input(typed) == code


def test_failure_words_cover_every_family() -> None:
    assert "longer" in tape_failure_words("validation_too_long")
    assert "damaged" in tape_failure_words("validation_corrupt")
    assert "video" in tape_failure_words("encode_h264_failed")
    assert tape_failure_words("something_new") == TAPE_FAILURE_FALLBACK
    assert tape_failure_words("") == ""


def test_post_errors_name_every_api_error_a_post_can_meet() -> None:
    # docs/api.md's table, less the codes a recorder cannot cause (reads, deletes, cursors).
    documented = {
        "invalid_input", "malformed_json", "body_too_large", "unsupported_media_type",
        "upload_too_large", "upload_not_found", "upload_missing", "upload_file_missing",
        "upload_policy_invalid", "upload_type_invalid", "upload_expired", "slug_invalid",
        "slug_taken", "forbidden", "throttled", "storage_unavailable", "quota_exceeded",
    }  # fmt: skip
    can_meet = documented - {"malformed_json", "unsupported_media_type"}
    assert can_meet <= set(POST_ERRORS)
