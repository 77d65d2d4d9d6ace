"""Fixtures for review tests: a headless browser (skips when Chromium is absent, fails in CI)."""

from __future__ import annotations

import os

import pytest

from tests.eval.review.helpers import browser_missing, start_chrome


@pytest.fixture()
def chrome(tmp_path):
    """A factory of headless Chromium drivers, each with its own profile; all quit after the test."""
    why = browser_missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    drivers = []

    def make():
        driver = start_chrome(tmp_path / f"profile-{len(drivers)}")
        drivers.append(driver)
        return driver

    yield make
    for d in drivers:
        d.quit()
