"""The vendored browser libraries are the published files, unchanged: every file under
api/pages/static/vendor/ is listed in its README with the sha256 it had in the package, and
still has it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "api" / "pages" / "static" / "vendor"
ROW = re.compile(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", re.MULTILINE)


def recorded_digests() -> dict[str, str]:
    return dict(ROW.findall((VENDOR / "README.md").read_text(encoding="utf-8")))


def test_every_vendored_file_has_the_sha256_its_readme_records() -> None:
    recorded = recorded_digests()
    assert "leaflet/leaflet.js" in recorded and "leaflet/leaflet.css" in recorded
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_no_vendored_file_goes_unrecorded() -> None:
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file() and p.name != "README.md"}
    assert on_disk == set(recorded_digests())


def test_the_recorded_leaflet_is_the_version_the_readme_names() -> None:
    head = (VENDOR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert "Leaflet 1.9.4" in head
    assert "## Leaflet 1.9.4" in (VENDOR / "README.md").read_text(encoding="utf-8")
