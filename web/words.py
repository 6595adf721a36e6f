"""What the pages say when something went wrong: the API's stable codes in plain words.

One table for the server-rendered pages and the scripts (handed to them as JSON), so a code is
explained the same way everywhere. Unknown codes fall back to the API's own message.
"""

from __future__ import annotations

# Errors of the posting flow (docs/api.md), as the recorder shows them under "POST FAILED".
POST_ERRORS: dict[str, str] = {
    "network": "The server could not be reached. Check your connection, then retry.",
    "server_error": "The server had a problem. Your take is safe here; retry in a moment.",
    "upload_too_large": "This take is too big to post. Record a shorter one.",
    "upload_missing": "The upload did not arrive. Retry to send it again.",
    "upload_file_missing": "The upload was empty. Retry to send it again.",
    "upload_policy_invalid": "The upload permission was not accepted. Retry to get a new one.",
    "upload_type_invalid": "The upload was refused as the wrong kind of file. Retry.",
    "upload_expired": "The upload took too long and its permission ran out. Retry.",
    "upload_not_found": "The site lost track of this upload. Retry to send it again.",
    "code_space_exhausted": "The site ran out of short codes for a moment. Retry soon.",
    "upload_refused": "Storage refused the upload. Retry; if it keeps failing, try later.",
    "storage_unavailable": "Storage is out of reach right now. Nothing was lost; retry soon.",
    "slug_invalid": "The take's name was not accepted. Retry.",
    "slug_taken": "Another post took this take's name. Retry to post under a new one.",
    "throttled": "Too many posts in a short time. Wait a little, then retry.",
    "quota_exceeded": "You have posted as much as a day allows. Your take is safe here.",
    "forbidden": "The site refused the post (your session may have expired). Reload, then retry.",
    "not_authenticated": "You need to sign in again. Reload, then retry.",
    "invalid_input": "The site did not accept the post. Retry.",
    "body_too_large": "The take's description was too long for the site.",
}

# Why "Open a tape…" refuses a ZIP: every validation_* code of the tape format
# (docs/tape-format.md), as the recorder says it before the checker's own detail.
OPEN_REFUSALS: dict[str, str] = {
    "validation_not_zip": "It is not a ZIP file.",
    "validation_archive_too_large": "The file is bigger than a tape may be.",
    "validation_encrypted": "Part of it is password-protected, so it cannot be read.",
    "validation_corrupt": "The file is damaged: part of it cannot be read.",
    "validation_unsafe_path": "It holds a file whose name points outside the archive.",
    "validation_link": "It holds a link to another file, which tapes may not contain.",
    "validation_duplicate_entry": "It holds two files with the same name.",
    "validation_too_many_entries": "It holds more files than a tape may.",
    "validation_uncompressed_too_large": "Unpacked, it would be far bigger than a tape may be.",
    "validation_compression_ratio": "Part of it unpacks to a suspicious size (a zip bomb).",
    "validation_no_frames": "It has no frames (frame000000.png, frame000001.png, …).",
    "validation_too_many_frames": "It has more frames than a tape may have.",
    "validation_too_long": "It is longer than a tape may be.",
    "validation_dimensions": "Its picture is bigger than a tape's may be.",
    "validation_timing_missing": "It has no timing.json, so how long each frame shows is unknown.",
    "validation_timing_malformed": "Its timing.json cannot be read.",
    "validation_metadata_missing": "It has no metadata.json.",
    "validation_metadata_malformed": "Its metadata.json cannot be read.",
    "validation_timing_mismatch": "Its timing.json does not list the frames the file holds.",
    "validation_duration_invalid": "A frame in its timing.json has an impossible duration.",
    "validation_frame_not_png": "A frame is not a PNG picture.",
    "validation_frame_size_mismatch": "Its frames are not all the same size.",
    "validation_frame_names": "Its frames are misnamed or not numbered from frame000000.png on.",
}

# A tape's own failure.code (docs/api.md, docs/tape-format.md), as the tape page shows it.
TAPE_FAILURES: dict[str, str] = {
    "zip_missing": "The tape's recording has not reached storage yet.",
    "storage_unavailable": "Storage could not be reached while making the video.",
    "encode_crashed": "The video maker crashed on this tape.",
    "encode_gave_up": "The video maker tried several times and gave up.",
    "validation_too_long": "The recording is longer than tapes may be.",
    "validation_too_many_frames": "The recording has more frames than tapes may have.",
    "validation_dimensions": "The recording's picture is bigger than tapes may be.",
    "validation_archive_too_large": "The recording's file is too big.",
}
TAPE_FAILURE_PREFIXES: dict[str, str] = {
    "validation_": "The recording's file could not be read: it is damaged or not a tape.",
    "encode_": "The recording could not be turned into a video.",
}
TAPE_FAILURE_FALLBACK = "Something went wrong while making the video."

STATUS_WORDS: dict[str, str] = {
    "uploaded": "Waiting for its turn",
    "queued": "In line to become a video",
    "processing": "Becoming a video",
    "ready": "Ready",
    "failed": "Could not be made into a video",
}


def tape_failure_words(code: str | None) -> str:
    """The visitor's sentence for a tape's failure code."""
    if not code:
        return ""
    if code in TAPE_FAILURES:
        return TAPE_FAILURES[code]
    for prefix, words in TAPE_FAILURE_PREFIXES.items():
        if code.startswith(prefix):
            return words
    return TAPE_FAILURE_FALLBACK


def tape_failure_table() -> dict[str, object]:
    """The whole table, for the tape page's script (it resolves codes the same way)."""
    return {
        "codes": TAPE_FAILURES,
        "prefixes": TAPE_FAILURE_PREFIXES,
        "fallback": TAPE_FAILURE_FALLBACK,
        "status": STATUS_WORDS,
    }
