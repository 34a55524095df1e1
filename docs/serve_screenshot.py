"""Take the README's picture of the page of ``python -m fashion_lit serve``.

Starts the server on a free port of 127.0.0.1 (or uses a running one, ``--url``), opens
its page in Debian's Chromium driven by Playwright, gives it ``docs/ankle-boot.png``
through the file input, and saves the page once it shows the top 3. Run it from the
repository root, after a ``fit`` (``make serve-screenshot`` does it)::

    python docs/serve_screenshot.py --ckpt_path best --output docs/serve-page.png
"""

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

PHOTO = Path(__file__).resolve().parent / "ankle-boot.png"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright's own download is not needed
#: Debian's Chromium, quiet: no sandbox (it may run as root), no GPU, nothing fetched.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def started_server(ckpt_path: str, data_dir: str) -> Iterator[str]:
    """``python -m fashion_lit serve`` on a free port; its URL once ``/health`` answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "fashion_lit", "serve", f"--ckpt_path={ckpt_path}",
               f"--port={port}", f"--data_dir={data_dir}", "--processes=1"]  # fmt: skip
    server = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                raise SystemExit(f"The server exited with status {server.returncode}.")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("The server was not ready in 180 s.") from None
                time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        server.wait(60)


def screenshot(url: str, output: Path) -> None:
    """Save the page at ``url`` as it shows the prediction of the README's photo."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        page.goto(url)
        page.set_input_files("#file", PHOTO)
        page.wait_for_selector(".top3 li")
        page.screenshot(path=str(output), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt_path", default="best", help="what the server serves")
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--url", help="a running server's address, instead of starting one")
    parser.add_argument("--output", type=Path, default=Path("docs/serve-page.png"))
    args = parser.parse_args()
    if args.url:
        screenshot(args.url, args.output)
    else:
        with started_server(args.ckpt_path, args.data_dir) as url:
            screenshot(url, args.output)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
