"""The reference lexicon validator (node/lexicon-validate.mjs, npm @atproto/lexicon), to check
records against the lexicon our own validator reads."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.support.pds import ROOT, node_binary

LEXICON_PATH = ROOT / "lexicons/computer/aesthetic/tape.json"
NSID = "computer.aesthetic.tape"


def reference(records: list[Any]) -> list[dict[str, Any]]:
    """Run records through node/lexicon-validate.mjs (npm @atproto/lexicon)."""
    lines = "".join(json.dumps({"nsid": NSID, "record": r}) + "\n" for r in records)
    done = subprocess.run(
        [node_binary(), str(ROOT / "node/lexicon-validate.mjs"), str(LEXICON_PATH)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def reference_bsky(nsid: str, records: list[Any]) -> list[dict[str, Any]]:
    """Run records of a published lexicon (``app.bsky.feed.post``, ``app.bsky.feed.generator``,
    ...) through the same reference validator, with the lexicons npm @atproto/api carries."""
    lines = "".join(json.dumps({"nsid": nsid, "record": r}) + "\n" for r in records)
    done = subprocess.run(
        [node_binary(), str(ROOT / "node/lexicon-validate.mjs"), "--atproto-api"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def reference_bsky_outputs(answers: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Run ``(nsid, output)`` pairs, what a service answered to the query or procedure ``nsid``
    (``app.bsky.video.getJobStatus``, ...), through the reference validator's output check,
    with the lexicons npm @atproto/api carries."""
    lines = "".join(json.dumps({"nsid": nsid, "output": out}) + "\n" for nsid, out in answers)
    done = subprocess.run(
        [node_binary(), str(ROOT / "node/lexicon-validate.mjs"), "--atproto-api"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]
