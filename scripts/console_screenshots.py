"""``python scripts/console_screenshots.py [--out DIR] [--readme]``: screenshots of every console page.

Runs ``hie demo --keep-serving`` in a fresh data directory (the demo's hub, its synthetic data and
its generated logins), signs in with each demo login through Debian's chromium driven by Playwright
(``executable_path``; nothing downloaded), and saves a PNG of the login page, of every page of the
console's menu for each login, and of the hospital dashboard's drill path (city → district →
institution). The files go to ``tests/artifacts/screenshots/`` (git-ignored) unless ``--out`` says
otherwise. ``--readme`` also writes the two pictures the README shows into ``docs/img/``
(compressed with ``pngquant`` when it is installed; each must stay under 300 KB).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "artifacts" / "screenshots"
README_PICTURES = {"demo.city-hospital.png": "console-hospital-city.png",
                   "demo.city-hospital-330102.png": "console-hospital-district.png"}
MAX_README_BYTES = 300_000
VIEWPORT = {"width": 1280, "height": 900}
README_VIEWPORT = {"width": 1280, "height": 1240}  # the six charts, nothing below them


def start_demo(data_dir: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """``hie demo --keep-serving``; its console URL and logins once it prints them."""
    demo = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "demo", "--data-dir", str(data_dir),
                             "--keep-serving"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
    url, logins = None, {}
    deadline = time.monotonic() + 300
    for line in demo.stdout:
        if time.monotonic() > deadline:
            break
        found = re.match(r"bureau console: (http://127\.0\.0\.1:\d+)/console/$", line.rstrip())
        url = found.group(1) if found else url
        login = re.match(r"  (demo\.[a-z0-9]+) +(\S+) +\w+ +(?:region|institution) \w+$", line.rstrip())
        if login:
            logins[login.group(1)] = login.group(2)
        if "keeps serving" in line:
            return demo, url, logins
    stop_demo(demo)
    raise SystemExit("the demo did not reach its console (run `hie demo` to see why)")


def stop_demo(demo: subprocess.Popen) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGINT)  # the demo stops its hub on Ctrl-C
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()


def _settled(page) -> None:
    """Wait until every chart of the page has its data (or said why not)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("!document.querySelector('[data-state=\"loading\"]')", timeout=30_000)
    page.wait_for_timeout(400)  # ECharts' entry animation


def shoot(page, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def pages_of(base: str, username: str, password: str, browser, out: Path) -> list[str]:
    """Screenshots of every menu page for one login (and the dashboard's drill path for the city)."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{base}/console/login")
    if username == "demo.city":
        shoot(page, out, "login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_load_state()
    menu = page.eval_on_selector_all("header.top nav a", "links => links.map(a => a.getAttribute('href'))")
    menu = [link for link in dict.fromkeys(menu) if "/log" not in link] or ["/console/hospital"]
    for link in menu:
        page.goto(base + link)
        _settled(page)
        shoot(page, out, f"{username}-{link.strip('/').split('/')[-1]}")
    if username == "demo.city":  # the drill path: a district, then an institution
        for suffix, query in (("330102", "?district=330102"), ("330102-HOSP01", "?institution=HOSP01")):
            page.goto(f"{base}/console/hospital{query}")
            _settled(page)
            shoot(page, out, f"{username}-hospital-{suffix}")
    context.close()
    outside = {urlsplit(url).hostname for url in requested if not url.startswith(("data:", "blob:"))} - {"127.0.0.1"}
    if outside:
        raise SystemExit(f"the console asked outside the hub: {sorted(outside)}")
    return menu


def readme_pictures(out: Path) -> None:
    """The README's two pictures: the viewport only (not the full page), compressed."""
    target = ROOT / "docs" / "img"
    target.mkdir(parents=True, exist_ok=True)
    for source, name in README_PICTURES.items():
        path = target / name
        shutil.copyfile(out / source.replace(".png", "-top.png"), path)
        if shutil.which("pngquant"):
            subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality", "60-90", "--output",
                            str(path), str(path)], check=False)
        size = path.stat().st_size
        print(f"  {path.relative_to(ROOT)} {size // 1024} KB")
        if size > MAX_README_BYTES:
            raise SystemExit(f"{path.name} is {size} bytes: over {MAX_README_BYTES} (install pngquant)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--readme", action="store_true", help="also write the README's pictures to docs/img/")
    args = parser.parse_args(argv)
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Debian's chromium is not installed (scripts/install-system-packages.sh)")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hie-screenshots-") as tmp:
        demo, base, logins = start_demo(Path(tmp) / "demo")
        try:
            print(f"demo hub at {base}; screenshots:")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                                     args=["--no-sandbox"] if os.geteuid() == 0 else [])
                for username, password in logins.items():
                    pages_of(base, username, password, browser, args.out)
                if args.readme:  # viewport-sized versions of the README's pictures
                    context = browser.new_context(locale="zh-CN", viewport=README_VIEWPORT)
                    page = context.new_page()
                    page.goto(f"{base}/console/login")
                    page.fill("#username", "demo.city")
                    page.fill("#password", logins["demo.city"])
                    page.click("#login-submit")
                    # last month: a whole month, whose monthly statistics are in (this month's come at its end)
                    as_of = (date.today().replace(day=1) - timedelta(days=1)).isoformat()
                    for source, query in (("demo.city-hospital-top.png", f"?as_of={as_of}"),
                                          ("demo.city-hospital-330102-top.png", f"?as_of={as_of}&district=330102")):
                        page.goto(f"{base}/console/hospital{query}")
                        _settled(page)
                        page.screenshot(path=str(args.out / source))
                    context.close()
                browser.close()
        finally:
            stop_demo(demo)
    if args.readme:
        readme_pictures(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
