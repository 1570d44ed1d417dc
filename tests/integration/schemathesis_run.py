"""Shared by the schemathesis tests: run `st` against a live API's OpenAPI document.

Every check but `ignored_auth` and `positive_data_acceptance`, a fixed seed, no example
database; a failure shows the tail of schemathesis' report."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue

ST = shutil.which("st")
needs_schemathesis = pytest.mark.skipif(ST is None,
                                        reason="schemathesis is not installed (test extras)")


async def run_schemathesis(document: str, base: str, auth: str, max_examples: int,
                           max_time: int, cwd: Path | None = None) -> None:
    """Fails the test unless schemathesis finds nothing wrong; its files go to `cwd`."""
    assert ST is not None
    out, err, code = await getProcessOutputAndValue(ST, [
        "run", document, "--url", base,
        "-H", f"Authorization: {auth}", "--checks", "all",
        "--exclude-checks", "ignored_auth,positive_data_acceptance",
        "--max-examples", str(max_examples), "--seed", "1", "--max-time", str(max_time),
        "--generation-database", "none", "--no-color", "--phases",
        "examples,coverage,fuzzing"], env={"PATH": str(Path(sys.executable).parent)},
        path=None if cwd is None else str(cwd), reactor=reactor)
    assert code == 0, out.decode(errors="replace")[-6000:] + err.decode(errors="replace")
