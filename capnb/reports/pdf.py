"""A report as PDF: headless Chromium prints the exported HTML on A4 (``capnb report --pdf``).

Playwright drives the system's Chromium (``CAPNB_CHROMIUM``, else ``chromium`` or
``chromium-browser`` on ``PATH``; no browser download), which lets the page be printed only
once it is ready: offline, every plotly chart drawn, print media on, every chart redrawn at the
printed width (the page's ``window.capnbPrint.before()``, see :mod:`capnb.reports.page`), then
``page.pdf`` with backgrounds, the page's ``@page`` size and margins, and page numbers.
(``chromium --headless --print-to-pdf`` needs no Python package, but can only guess when the
charts are done, with a virtual-time budget, and prints them at the window's width.)

Playwright is the optional extra ``pdf`` (``pip install 'capnb[pdf]'``); without it, or without
Chromium, :func:`print_pdf` raises a :class:`ReportError` saying what to install.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from capnb.config import ENV_CHROMIUM, report_setting
from capnb.errors import ReportError

__all__ = ["CHROMIUM_ARGS", "find_chromium", "print_pdf"]

CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
"""No sandbox: it needs user namespaces, which containers and CI runners often lack; the page
printed is capnb's own report, offline."""

_A4_VIEWPORT = {"width": 794, "height": 1123}  # A4 at 96 CSS pixels per inch
_CHARTS_DRAWN = """() => [...document.querySelectorAll('.plotly-graph-div')]
    .every(div => div.querySelector('svg.main-svg'))"""
_FOOTER = ('<div style="font-size:7pt;color:#666;width:100%;padding:0 12mm;'
           'display:flex;justify-content:space-between;"><span class="title"></span>'
           '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span>'
           '</div>')


def find_chromium() -> str:
    """The Chromium executable: ``CAPNB_CHROMIUM`` if set, else ``chromium`` or
    ``chromium-browser`` on ``PATH``; a :class:`ReportError` saying how to get one otherwise."""
    configured = report_setting(ENV_CHROMIUM)
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ReportError(f"{ENV_CHROMIUM}={configured!r} is not an executable; point it at "
                              "a Chromium or Chrome binary, or unset it to use chromium on PATH")
        return found
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise ReportError("a PDF needs Chromium, and none was found: install it (Debian/Ubuntu: "
                          "apt-get install chromium) or set CAPNB_CHROMIUM to a Chromium or "
                          "Chrome executable")
    return found


def print_pdf(html: str | os.PathLike[str], *, timeout: float = 120) -> bytes:
    """The PDF of the HTML report at ``html``, printed by headless Chromium on A4.

    Parameters
    ----------
    html : path
        A report from :func:`capnb.reports.render.render_report` (any HTML page works; its
        plotly charts are waited for).
    timeout : float
        Seconds allowed for loading the page and drawing its charts, and again for printing.

    Raises
    ------
    ReportError
        Playwright or Chromium is missing, the page did not load, a chart did not draw in time,
        or Chromium failed.
    """
    source = Path(html).expanduser().resolve()
    if not source.is_file():
        raise ReportError(f"no HTML report at {source}")
    executable = find_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ReportError("a PDF needs the playwright Python package: pip install 'capnb[pdf]' "
                          "(it drives the installed Chromium; no 'playwright install' "
                          "needed)") from None

    def run() -> bytes:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=list(CHROMIUM_ARGS))
            try:
                context = browser.new_context(offline=True, viewport=_A4_VIEWPORT)
                page = context.new_page()
                page.set_default_timeout(timeout * 1000)
                page.goto(source.as_uri(), wait_until="load")
                page.wait_for_function(_CHARTS_DRAWN)
                page.emulate_media(media="print")
                page.evaluate("() => window.capnbPrint ? window.capnbPrint.before() : null")
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                                display_header_footer=True, header_template="<span></span>",
                                footer_template=_FOOTER,
                                margin={"top": "12mm", "bottom": "12mm", "left": "12mm",
                                        "right": "12mm"})
            finally:
                browser.close()

    try:
        return _outside_event_loop(run)
    except PlaywrightError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ReportError(f"Chromium ({executable}) could not print {source.name} to PDF: "
                          f"{reason}") from None


def _outside_event_loop(work: Callable[[], bytes]) -> bytes:
    """``work()``, in a worker thread when this one runs an asyncio loop (a Jupyter kernel):
    Playwright's sync API refuses to run inside one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()
