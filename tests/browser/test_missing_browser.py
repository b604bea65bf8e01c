"""Without Chromium a browser test is skipped on a developer's machine but fails under CI."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_browser, under_ci


@pytest.mark.parametrize("value", ["true", "1", "yes", "True"])
def test_a_missing_browser_fails_the_test_under_ci(value: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="no Chromium"):
        no_browser("no Chromium at /nowhere", {"CI": value})


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "false"}, {"CI": "0"}])
def test_a_missing_browser_skips_the_test_elsewhere(environ: dict[str, str]) -> None:
    assert not under_ci(environ)
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        no_browser("no Chromium at /nowhere", environ)
