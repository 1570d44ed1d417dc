"""schemathesis runs /admin/v1/openapi.json against the live admin API (real service and
store): no 500s, every answer matches the document (status, content type, body schema),
for valid and invalid input, with a read-write token."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue

from admin_api_side import AdminSide

ST = shutil.which("st")


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (test extras)")
@pytest_twisted.ensureDeferred
async def test_schemathesis_finds_no_failure(tmp_path: Path) -> None:
    """Breaks on any 500, or any answer the OpenAPI document does not allow."""
    side = AdminSide(tmp_path)
    try:
        await side.start()
        for path, body in (("/groups", {"gid": "g1"}),
                           ("/smppccs", {"id": "vendor-a", "hosts": ["127.0.0.1:2776"],
                                         "system_id": "a", "password": "p"})):
            assert (await side.call("POST", path, body))[0] == 201
        assert ST is not None
        out, err, code = await getProcessOutputAndValue(ST, [
            "run", f"{side.base}/admin/v1/openapi.json", "--url", side.base,
            "-H", f"Authorization: {side.write}", "--checks", "all",
            "--exclude-checks", "ignored_auth,positive_data_acceptance",
            "--max-examples", "8", "--seed", "1", "--max-time", "35",
            "--generation-database", "none", "--no-color", "--phases",
            "examples,coverage,fuzzing"], env={"PATH": str(Path(sys.executable).parent)},
            reactor=reactor)
        assert code == 0, out.decode(errors="replace")[-6000:] + err.decode(errors="replace")
    finally:
        await side.close()
