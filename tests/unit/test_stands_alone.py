"""The repository stands alone: nothing in it reads the `shared` folder beside it, and the
test harness's audit hook (tests/conftest.py) would catch it if something did."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import REPO


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in `shared` folder that the hook watches for this test only."""
    shared = tmp_path / "shared"
    (shared / "cds").mkdir(parents=True)
    (shared / "cds" / "example_events.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(conftest, "FORBIDDEN", [*conftest.FORBIDDEN, shared])
    return shared


def test_the_hook_catches_an_open_under_the_shared_folder(watched: Path) -> None:
    before = len(conftest.shared_opens)

    (watched / "cds" / "example_events.json").read_text(encoding="utf-8")

    caught = conftest.shared_opens[before:]
    del conftest.shared_opens[before:]  # caught on purpose: this test must not fail the run
    assert caught == [str(watched / "cds" / "example_events.json")]


def test_the_hook_catches_a_path_that_climbs_into_the_shared_folder(watched: Path) -> None:
    (watched.parent / "elsewhere").mkdir()
    before = len(conftest.shared_opens)

    with open(watched.parent / "elsewhere" / ".." / "shared" / "cds" / "example_events.json", "rb"):
        pass

    caught = conftest.shared_opens[before:]
    del conftest.shared_opens[before:]
    assert len(caught) == 1


def test_the_hook_lets_files_inside_the_repository_be_opened(watched: Path) -> None:
    before = len(conftest.shared_opens)

    (REPO / "fixtures" / "data" / "cds" / "example_events.json").read_text(encoding="utf-8")

    assert conftest.shared_opens[before:] == []


PATH_TO_SHARED = r"\.\./shared|parent / \"shared\""


def test_no_tracked_file_names_the_shared_folder_as_a_path() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-l", "-E", PATH_TO_SHARED, "--", "api", "bench", "fixtures", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()

    assert [name for name in tracked if name != "tests/conftest.py"] == []
