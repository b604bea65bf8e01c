"""gunicorn's access log behind the proxy (deploy/gunicorn.conf.py) never holds a plate:
the path segment after /plates/ is written as `-` (docs/PRIVACY.md, security review L10)."""

from __future__ import annotations

import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gunicorn.config import Config

SETTINGS = runpy.run_path(str(Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"))
QUOTED = "%E8%B4%B5AP0001"


def test_plate_segments_are_redacted_and_other_paths_are_kept() -> None:
    redact = SETTINGS["redact_plates"]
    assert redact(f"GET /api/v1/baiyun/plates/{QUOTED}/unpaid HTTP/1.1") == (
        "GET /api/v1/baiyun/plates/-/unpaid HTTP/1.1"
    )
    assert redact("/api/v1/baiyun/plates/贵AP0001/check?x=1") == "/api/v1/baiyun/plates/-/check?x=1"
    assert redact("/api/v1/baiyun/plates/unpaid") == "/api/v1/baiyun/plates/unpaid"  # plate in the body
    assert redact("/cds/baiyun/curbs/spaces?page=2") == "/cds/baiyun/curbs/spaces?page=2"


def test_the_access_log_line_has_no_plate_in_request_path_or_referrer() -> None:
    logger: Any = SETTINGS["logger_class"](Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/baiyun/plates/{QUOTED}/unpaid",
        "PATH_INFO": "/api/v1/baiyun/plates/贵AP0001/unpaid",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"http://x/api/v1/baiyun/plates/{QUOTED}/unpaid",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request_headers = [("REFERER", environ["HTTP_REFERER"])]

    atoms = logger.atoms(response, request_headers, environ, timedelta(milliseconds=3))

    line = logger.cfg.access_log_format % atoms
    assert "AP0001" not in line and QUOTED not in line
    assert "/api/v1/baiyun/plates/-/unpaid" in atoms["r"] and atoms["U"] == "/api/v1/baiyun/plates/-/unpaid"
