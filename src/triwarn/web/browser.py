"""Headless Chromium for the browser tests and benchmarks: one place for the executable and its flags.

The UI tests (tests/web), the report test (tests/exercise) and bench/bench_web.py all open pages the
same way, so a flag added for one (say, to keep chromium off the network) holds for all. It lives in
the package, not in a conftest, because bench scripts import it too and a conftest is importable only
by the tests beside it.

Playwright is a test extra (`pip install -e .[test]`), imported only when a browser is launched, so
importing this module costs nothing at run time. The executable is Debian's chromium at
/usr/bin/chromium unless TRIWARN_CHROMIUM names another.

    async with chromium() as browser:
        async with open_page(browser, url) as (page, errors):
            ...
            assert errors == []
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM_PATH = os.environ.get("TRIWARN_CHROMIUM", "/usr/bin/chromium")
# Headless, no sandbox (containers run as root), no GPU, and nothing that reaches out to the network
# on its own: the pages under test are on 127.0.0.1 or file://.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 900}


def chromium_missing() -> str | None:
    """Why no browser can be launched (a message saying what to install), or None if one can."""
    if not Path(CHROMIUM_PATH).exists():
        return f"chromium is needed at {CHROMIUM_PATH} (apt-get install -y chromium, or set TRIWARN_CHROMIUM)"
    return None


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium browser (closed on exit). RuntimeError if the executable is missing."""
    from playwright.async_api import async_playwright

    missing = chromium_missing()
    if missing:
        raise RuntimeError(missing)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM_PATH, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def open_page(browser: Browser, url: str | None = None, *,
                    viewport: dict[str, int] | None = None) -> AsyncIterator[tuple[Page, list[str]]]:
    """A fresh page (at url if given) and the list its console errors and uncaught page errors go to."""
    errors: list[str] = []
    page = await browser.new_page(viewport=viewport or VIEWPORT)
    try:
        page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        if url is not None:
            await page.goto(url)
        yield page, errors
    finally:
        await page.close()


@contextlib.asynccontextmanager
async def chromium_page(url: str | None = None, *,
                        viewport: dict[str, int] | None = None) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page in a browser of its own (both closed on exit), and its error list: for a single test."""
    async with chromium() as browser, open_page(browser, url, viewport=viewport) as opened:
        yield opened
