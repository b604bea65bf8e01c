"""The handheld's service worker as the server serves it: allowed to control every handheld
page, never cached by HTTP, and starting with the shell it keeps (exactly the scripts and
styles the page loads) and a version that changes whenever one of them does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from fixtures.builders import build_small_district
from parking.clock import FixedClock


def shell_of(worker: str) -> tuple[str, list[str]]:
    version = re.search(r'^const SHELL_VERSION = "([0-9a-f]{16})";$', worker, re.M)
    assets = re.search(r"^const SHELL_ASSETS = (\[.*\]);$", worker, re.M)
    assert version and assets, worker[:300]
    return version.group(1), re.findall(r'"([^"]+)"', assets.group(1))


def test_the_worker_keeps_exactly_the_scripts_and_styles_the_handheld_page_loads(
    app: Flask, db: Session, clock: FixedClock
) -> None:
    build_small_district(db, clock.now())
    client = app.test_client()

    worker = client.get("/handheld/sw.js")
    page = client.get("/handheld/testville").get_data(as_text=True)

    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/handheld/"
    assert worker.headers["Cache-Control"] == "no-cache"
    _, assets = shell_of(worker.get_data(as_text=True))
    loaded = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert sorted(assets) == sorted(loaded)


def test_changing_a_file_of_the_shell_changes_the_worker_and_so_its_cache(app: Flask, tmp_path: Path) -> None:
    static = tmp_path / "static"
    shutil.copytree(app.static_folder or "", static)
    app.static_folder = str(static)
    client = app.test_client()
    before, _ = shell_of(client.get("/handheld/sw.js").get_data(as_text=True))
    assert shell_of(client.get("/handheld/sw.js").get_data(as_text=True))[0] == before  # stable

    with (static / "handheld" / "queue.js").open("a") as script:
        script.write("\n// a new version\n")

    after, _ = shell_of(client.get("/handheld/sw.js").get_data(as_text=True))
    assert after != before
