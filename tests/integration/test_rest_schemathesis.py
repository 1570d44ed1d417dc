"""schemathesis runs /v1/openapi.json against the live server: no 500s, every answer
matches the document (status, content type, body schema), for valid and invalid input."""
from __future__ import annotations

from pathlib import Path

import pytest_twisted

from rest_api_side import RestSide
from schemathesis_run import needs_schemathesis, run_schemathesis


@needs_schemathesis
@pytest_twisted.ensureDeferred
async def test_schemathesis_finds_no_failure(tmp_path: Path) -> None:
    """Breaks on any 500, or any answer the OpenAPI document does not allow."""
    side = RestSide(tmp_path)
    try:
        await side.start()
        auth = await side.user("alice")
        await run_schemathesis(f"{side.base}/v1/openapi.json", side.base, auth,
                               max_examples=20, max_time=40, cwd=tmp_path)
    finally:
        await side.close()
