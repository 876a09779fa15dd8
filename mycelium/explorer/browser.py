"""Headless Chromium for the explorer: render a page's DOM after its JS ran, or screenshot it.

Used by the browser tests and by ``python -m mycelium.explorer --screenshot``. Needs a
``chromium`` binary (Debian: ``apt-get install -y chromium``); nothing here touches the network.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

# Flags that keep a headless run offline, quiet and independent of any user profile.
FLAGS = [
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    """Path of a chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def _run(url: str, extra: list[str], timeout: float) -> subprocess.CompletedProcess:
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium on PATH; on Debian: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="mycelium-chromium-") as profile:
        argv = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)


def page_url(page: str | Path, query: str = "") -> str:
    """``file://`` URL of a local page, with an optional ``?query``."""
    return Path(page).resolve().as_uri() + (f"?{query}" if query else "")


def dump_dom(page: str | Path, query: str = "", timeout: float = 60) -> str:
    """The page's DOM serialised after load (inline scripts have run)."""
    return _run(page_url(page, query), ["--dump-dom"], timeout).stdout


def screenshot(
    page: str | Path, png: str | Path, *, width: int = 1200, height: int = 1600, timeout: float = 60
) -> Path:
    """Write a PNG of the top ``width`` x ``height`` pixels of the rendered page."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(page_url(page), [f"--screenshot={png}", f"--window-size={width},{height}"], timeout)
    return png
