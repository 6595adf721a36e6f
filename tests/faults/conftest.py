from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.netns import (
    NS_PREFIX,
    LabNetwork,
    NetnsUnavailable,
    leftovers_remove,
    netns_check,
)


@pytest.fixture
def lab_network(run_dir: Path) -> Iterator[LabNetwork]:
    """A private network of namespaces (tests/support/netns.py), always removed afterwards with
    whatever still runs in it (before ``run_dir`` goes). Where namespaces cannot be made the test
    fails under CI=true (the two-node run is part of the test command) and is skipped, saying
    why, elsewhere."""
    problem = None
    try:
        netns_check()
    except NetnsUnavailable as exc:
        problem = f"the two-node run needs network namespaces: {exc}"
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: this run is part of the test command)", pytrace=False)
    if problem:
        pytest.skip(problem)
    leftovers_remove()
    net = LabNetwork.create()
    try:
        yield net
    finally:
        net.remove()
    left = net.leftovers()
    assert not left, f"the test network was not fully removed: {left}"


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A folder for one run's services (PostgreSQL's data, SeaweedFS, logs), outside pytest's
    folders because PostgreSQL runs as its own user and must reach it; removed afterwards, as
    are the folders of earlier runs whose process is gone."""
    for old in Path(tempfile.gettempdir()).glob(f"{NS_PREFIX}*"):
        pid = old.name.removeprefix(NS_PREFIX).split("-")[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f"{NS_PREFIX}{os.getpid()}-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
