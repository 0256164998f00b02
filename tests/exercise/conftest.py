"""Shared pieces of the exercise tests: the packaged scenarios and a headless Chromium opener."""

from __future__ import annotations

import contextlib
import importlib.resources
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCENARIOS = sorted(Path(str(importlib.resources.files("triwarn") / "scenarios")).glob("*.yaml"))


@contextlib.asynccontextmanager
async def chromium_page():
    """A headless Chromium page and the list its console errors and page errors go to."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed at /usr/bin/chromium: apt-get install -y chromium")
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            yield page, errors
        finally:
            await browser.close()
