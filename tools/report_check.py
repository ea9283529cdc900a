"""Open the Snakemake report in headless Chromium and check what a reader sees (issue 13, item 8).

Usage (after a demo run in WORKDIR; `make report-check` runs the demo first when needed):

    python tools/report_check.py --workdir . [--screenshots results/report_check] [--readme-png docs/report_table.png]

Steps: ``snakemake --report`` builds the self-contained HTML; Chromium (Debian package
``chromium``) opens it at a 1280 px wide window; the script drives the page over the DevTools
protocol (``--remote-debugging-pipe``: JSON messages on file descriptors 3 and 4, so no
websocket library is needed) and asserts:

- the landing page shows the workflow description (and the demo warning for the demo);
- every report entry opens: each HTML table page renders its table, each figure loads;
- the results table (and every other table page) is not wider than its panel at a 1280 px window
  (no horizontal scroll);
- no JavaScript error or uncaught exception happened on the way.

Screenshots go to ``--screenshots`` (default ``results/report_check/``, ignored by git);
``--readme-png`` also writes the results-table screenshot shown in the README.
Exit status 0 when every check passes; failures are listed.
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

VIEWPORT = (1280, 900)
LANDING_TEXT = "What the workflow does"
DEMO_WARNING = "Demo run: the labels follow a rule"
SUMMARY = "results/report/summary.html"
EXPECTED_HTML = (SUMMARY, "results/report/cutoffs.html", "results/report/breakdown.html",
                 "results/report/data_summary.html")
EXPECTED_FIGURES = ("roc.svg", "pr.svg", "scatter.svg", "training_curves.svg", "score_distributions.svg",
                    "reliability.svg")
PREDICTIONS = "results/report/predictions.tsv"


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("report_check: no Chromium found; install it with `apt-get install -y chromium` (Debian).")


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 = commands, 4 = replies)."""

    def __init__(self, chromium: str, profile_dir: str):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # copies above fd 4, so that dup2 onto 3 and 4 below always makes a new, inheritable descriptor
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_r, from_browser_w)]

        def child_fds():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        args = [chromium, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                f"--user-data-dir={profile_dir}", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for fd in (to_browser_r, from_browser_w, *high):
            os.close(fd)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self.events: "queue.Queue[dict]" = queue.Queue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self.events.put(message)

    def send(self, method: str, params: dict | None = None, timeout: float = 60, session: bool = True) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        with self._cond:
            while self._next_id not in self._replies:
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError(f"DevTools: no reply to {method} within {timeout} s")
                self._cond.wait(left)
            reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise RuntimeError(f"DevTools {method}: {reply['error']}")
        return reply.get("result", {})

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": VIEWPORT[0], "height": VIEWPORT[1],
                                                         "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression: str, context: int | None = None):
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context is not None:
            params["contextId"] = context
        result = self.send("Runtime.evaluate", params)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating {expression[:80]!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, context: int | None = None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression, context)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"page never satisfied {expression!r} within {timeout} s")

    def frame_context(self, timeout: float = 20) -> int:
        """An execution context inside the page's (only) iframe, which holds a result page."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            children = self.send("Page.getFrameTree")["frameTree"].get("childFrames") or []
            if children:
                frame = children[0]["frame"]["id"]
                return self.send("Page.createIsolatedWorld", {"frameId": frame,
                                                              "worldName": "report_check"})["executionContextId"]
            time.sleep(0.2)
        raise TimeoutError("the result page's iframe never appeared")

    def screenshot(self, path: Path, clip: dict | None = None) -> None:
        params = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def errors(self) -> list[str]:
        """JavaScript errors seen so far: uncaught exceptions, console.error, error log entries."""
        found = []
        while not self.events.empty():
            event = self.events.get()
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                          for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} ({params['entry'].get('url', '')})")
        return found

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, timeout=10)
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def build_report(workdir: Path, report: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--report", str(report)], cwd=workdir,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not report.exists():
        raise SystemExit(f"report_check: snakemake --report failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def show_result(browser: Browser, path: str) -> None:
    """Open a report entry as a reader does: its category in the menu, then the entry."""
    browser.evaluate(f"""(() => {{
        const path = {json.dumps(path)};
        const category = Object.keys(categories).find(c =>
            Object.values(categories[c]).some(paths => paths.includes(path)));
        const subcategory = Object.keys(categories[category]).find(s => categories[category][s].includes(path));
        const kind = results[path].mime_type === "image/svg+xml" ? "img" : "html";
        // one setView: the menu as after clicking the category (a quarter of the window), the entry beside it
        app.setView({{navbarMode: "subcategory", category: category, subcategory: subcategory, content: kind,
                      contentPath: results[path].data_uri, resultPath: path}});
        return true;
    }})()""")


def check_report(report: Path, screenshots: Path, readme_png: Path | None, demo: bool) -> list[str]:
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="report_check_") as profile:
        browser = Browser(find_chromium(), profile)
        try:
            browser.open_page()
            browser.send("Page.navigate", {"url": report.resolve().as_uri()})
            browser.wait_for("typeof app !== 'undefined' && document.querySelector('#app').innerText.length > 0",
                             timeout=60)
            landing = browser.evaluate("document.body.innerText")
            browser.screenshot(screenshots / "landing.png")
            if LANDING_TEXT not in landing:
                failures.append(f"landing page: {LANDING_TEXT!r} not shown")
            if demo and DEMO_WARNING not in landing:
                failures.append(f"landing page: demo warning {DEMO_WARNING!r} not shown")
            paths = browser.evaluate("Object.keys(results)")
            figures = [p for p in paths if p.endswith(".svg")]
            for expected in (*EXPECTED_HTML, PREDICTIONS):
                if expected not in paths:
                    failures.append(f"report entry missing: {expected}")
            for name in EXPECTED_FIGURES:
                if not any(p.endswith(name) for p in figures):
                    failures.append(f"figure missing from the report: {name}")
            for path in [p for p in paths if p.endswith(".html")]:
                failures += check_html_entry(browser, path, screenshots, readme_png if path == SUMMARY else None)
            for path in figures:
                failures += check_figure(browser, path, screenshots)
            failures += [f"JavaScript: {e}" for e in browser.errors()]
        finally:
            browser.close()
    return failures


def check_html_entry(browser: Browser, path: str, screenshots: Path, readme_png: Path | None) -> list[str]:
    show_result(browser, path)
    time.sleep(0.5)
    context = browser.frame_context()
    info = browser.wait_for("""(() => {
        const t = document.querySelector('table');
        if (!t || document.readyState !== 'complete') return null;
        const r = t.getBoundingClientRect();
        const notes = document.querySelector('ol.notes');  // the table's footnotes belong in its picture
        const bottom = notes ? notes.getBoundingClientRect().bottom : r.bottom;
        return {rows: t.rows.length, tableRight: r.right, tableTop: r.top, tableBottom: bottom,
                scrollWidth: document.documentElement.scrollWidth, viewWidth: window.innerWidth};
    })()""", context=context)
    frame = browser.evaluate("""(() => { const r = document.querySelector('iframe').getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height}; })()""")
    name = Path(path).stem
    browser.screenshot(screenshots / f"{name}.png")
    failures = []
    if info["rows"] < 2:
        failures.append(f"{path}: the table has no data rows")
    if info["scrollWidth"] > info["viewWidth"] or info["tableRight"] > info["viewWidth"]:
        failures.append(f"{path}: the table is {info['tableRight']:.0f} px wide in a {info['viewWidth']} px panel "
                        f"at a {VIEWPORT[0]} px window (horizontal scroll)")
    if path == SUMMARY:
        if frame["x"] + frame["width"] > VIEWPORT[0] + 1:
            failures.append(f"{path}: the result panel extends past the {VIEWPORT[0]} px window")
        if readme_png is not None:
            height = min(frame["height"], info["tableBottom"] + 4)
            browser.screenshot(readme_png, {"x": frame["x"], "y": frame["y"], "width": min(frame["width"],
                               info["tableRight"] + 12), "height": height})
            shrink_png(readme_png)
    return failures


def shrink_png(path: Path, colors: int = 64) -> None:
    """A committed screenshot should be small: a 64-colour palette PNG (Pillow comes with matplotlib)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colors)
    small.save(path, optimize=True)


def check_figure(browser: Browser, path: str, screenshots: Path) -> list[str]:
    show_result(browser, path)
    try:
        size = browser.wait_for("""(() => { const i = document.querySelector('#app img[src^="data:image/svg"]');
            return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()""")
    except TimeoutError:
        return [f"{path}: the figure did not render"]
    browser.screenshot(screenshots / f"{Path(path).stem}.png")
    return [] if size[0] > 50 and size[1] > 50 else [f"{path}: the figure rendered at {size} px"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("."), help="a workflow folder after a finished run")
    parser.add_argument("--screenshots", type=Path, default=None, help="default: WORKDIR/results/report_check")
    parser.add_argument("--readme-png", type=Path, default=None, help="also write the README's table screenshot")
    parser.add_argument("--no-demo-warning", action="store_true", help="do not require the demo warning")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    screenshots = (args.screenshots or workdir / "results" / "report_check").resolve()
    report = screenshots / "report.html"
    screenshots.mkdir(parents=True, exist_ok=True)
    build_report(workdir, report)
    failures = check_report(report, screenshots, args.readme_png, demo=not args.no_demo_warning)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"report_check: {'OK' if not failures else f'{len(failures)} failure(s)'}; screenshots in {screenshots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
