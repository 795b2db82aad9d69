"""A minimal Chrome DevTools Protocol client for tests: headless Chromium driven over a pipe.

Chromium started with ``--remote-debugging-pipe`` reads CDP commands from file descriptor 3 and
writes replies and events to file descriptor 4, each message a JSON object ended by a NUL byte;
so no websocket library is needed, only the standard library. Every wait is bounded, and the
browser is always closed (killed when it does not quit) when the ``with`` block ends.

    with Browser() as browser:
        page = browser.new_page(1280, 800)
        page.navigate("file:///tmp/report.html")
        title = page.evaluate("document.title")
        png = page.screenshot()
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class BrowserError(RuntimeError):
    """A CDP command failed, timed out, or the browser exited."""


def find_chromium() -> str | None:
    """The first Chromium-like executable on PATH (or in $CHROMIUM), or None."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and shutil.which(explicit):
        return shutil.which(explicit)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium process and its CDP pipe."""

    def __init__(self, executable: str | None = None, timeout: float = 30.0, window: tuple[int, int] = (1280, 800)):
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise BrowserError("no Chromium executable found on PATH")
        self.timeout = timeout
        self.window = window
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict] = []
        self._process: subprocess.Popen | None = None
        self._profile: str | None = None

    # -- process -------------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self._profile = tempfile.mkdtemp(prefix="cdp-profile-")
        # to_browser: we write, the browser reads on fd 3; from_browser: the browser writes on fd 4.
        browser_reads, self._write_fd = os.pipe()
        self._read_fd, browser_writes = os.pipe()
        width, height = self.window
        command = [
            self.executable,
            "--headless=new",
            "--remote-debugging-pipe",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--mute-audio",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
            f"--user-data-dir={self._profile}",
            "about:blank",
        ]

        def wire_fds() -> None:  # in the child: the pipe ends at the descriptors Chromium expects
            high_reads = fcntl.fcntl(browser_reads, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4 first
            high_writes = fcntl.fcntl(browser_writes, fcntl.F_DUPFD, 10)
            os.dup2(high_reads, 3)
            os.dup2(high_writes, 4)

        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(3, 4),  # kept open by subprocess after wire_fds has set them
                preexec_fn=wire_fds,
                start_new_session=True,
            )
        finally:
            os.close(browser_reads)
            os.close(browser_writes)
        self.send("Browser.getVersion")  # the first reply proves the pipe works

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                try:
                    self._send_nowait("Browser.close")
                except OSError:
                    pass
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:  # its own process group: Chromium and its helpers
                    try:
                        os.killpg(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    process.wait(timeout=5)
        for fd in ("_write_fd", "_read_fd"):
            if getattr(self, fd, None) is not None:
                try:
                    os.close(getattr(self, fd))
                except OSError:
                    pass
                setattr(self, fd, None)
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    # -- protocol ------------------------------------------------------------------------------
    def _send_nowait(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self._write_fd, data)
            data = data[written:]
        return self._next_id

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if self._process is None or self._process.poll() is not None:
                raise BrowserError("Chromium exited")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("timed out waiting for Chromium")
            ready, _, _ = select.select([self._read_fd], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(self._read_fd, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float | None = None) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        message_id = self._send_nowait(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read_message(deadline)
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def wait_event(self, method: str, session: str | None = None, timeout: float | None = None) -> dict:
        """The first (kept or new) event ``method`` of ``session``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for index, event in enumerate(self._events):
                if event["method"] == method and (session is None or event.get("sessionId") == session):
                    return self._events.pop(index)
            message = self._read_message(deadline)
            if "method" in message:
                self._events.append(message)

    def errors(self) -> list[str]:
        """JavaScript exceptions, console.error calls and browser log errors among the events kept
        so far (Runtime and Log are enabled on every page of ``new_page``)."""
        found = []
        for event in self._events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])))
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def new_page(self, width: int | None = None, height: int | None = None) -> Page:
        width, height = width or self.window[0], height or self.window[1]
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.send("Log.enable")
        page.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        return self.browser.send(method, params, self.session, timeout)

    def navigate(self, url: str, timeout: float = 30.0) -> None:
        """Open ``url`` and wait for its load event."""
        self.browser._events = [e for e in self.browser._events if e["method"] != "Page.loadEventFired"]
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, timeout)

    def evaluate(self, expression: str, timeout: float | None = None):
        """The value of a JavaScript expression (promises awaited), returned by value."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True, "userGesture": True},
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0, interval: float = 0.1):
        """Poll a JavaScript expression until it is truthy; return its value (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout} s waiting for: {expression}")
            time.sleep(interval)

    def click(self, x: float, y: float) -> None:
        """A real mouse click (press and release) at viewport coordinates."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: str | Path | None = None) -> bytes:
        """A PNG of the viewport; written to ``path`` when given."""
        data = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data
