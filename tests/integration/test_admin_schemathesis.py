"""schemathesis runs /admin/v1/openapi.json against the live admin API (real service and
store): no 500s, every answer matches the document (status, content type, body schema),
for valid and invalid input, with a read-write token."""
from __future__ import annotations

from pathlib import Path

import pytest_twisted

from admin_api_side import AdminSide
from schemathesis_run import needs_schemathesis, run_schemathesis


@needs_schemathesis
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
        await run_schemathesis(f"{side.base}/admin/v1/openapi.json", side.base, side.write,
                               max_examples=8, max_time=35)
    finally:
        await side.close()
