"""Shared pieces of the exercise tests: the packaged scenarios and a headless Chromium opener."""

from __future__ import annotations

import contextlib
import importlib.resources
from pathlib import Path

import pytest

from triwarn.web.browser import chromium_missing
from triwarn.web.browser import chromium_page as browser_page

SCENARIOS = sorted(Path(str(importlib.resources.files("triwarn") / "scenarios")).glob("*.yaml"))


@contextlib.asynccontextmanager
async def chromium_page():
    """A headless Chromium page (triwarn.web.browser) and the list its console and page errors go to."""
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
    async with browser_page(viewport={"width": 1200, "height": 900}) as opened:
        yield opened
