"""schemathesis runs /v1/openapi.json against the live server: no 500s, every answer
matches the document (status, content type, body schema), for valid and invalid input."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue

from rest_api_side import RestSide

ST = shutil.which("st")


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (test extras)")
@pytest_twisted.ensureDeferred
async def test_schemathesis_finds_no_failure(tmp_path: Path) -> None:
    """Breaks on any 500, or any answer the OpenAPI document does not allow."""
    side = RestSide(tmp_path)
    try:
        await side.start()
        auth = await side.user("alice")
        assert ST is not None
        out, err, code = await getProcessOutputAndValue(ST, [
            "run", f"{side.base}/v1/openapi.json", "--url", side.base,
            "-H", f"Authorization: {auth}", "--checks", "all",
            "--exclude-checks", "ignored_auth,positive_data_acceptance",
            "--max-examples", "20", "--seed", "1", "--max-time", "40",
            "--generation-database", "none", "--no-color", "--phases",
            "examples,coverage,fuzzing"], env={"PATH": str(Path(sys.executable).parent)},
            path=str(tmp_path), reactor=reactor)       # its working files go there
        assert code == 0, out.decode(errors="replace")[-6000:] + err.decode(errors="replace")
    finally:
        await side.close()
