"""The live-demo path in a real browser: JupyterLab on 127.0.0.1 with a token, driven by Playwright in
Debian's Chromium. Opens a one-cell notebook with the style-transfer explorer (the cell notebook 05 ends
with; nbval runs the whole lesson elsewhere), moves the style weight slider, presses Run and checks that
the picture changes without an error; then the same for the fast-style blend slider.
Screenshots of every state go to artifacts/browser/."""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import json
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed and could not be installed here (make test tries "
                    "`apt-get install chromium`); the browser test needs it.")
    pytest.importorskip("playwright", reason="playwright (PyPI) is not installed; `make test` installs it")
    work = tmp_path_factory.mktemp("lab")
    _one_cell_notebook(work / "style.ipynb",
                       "import lecturekit as lk\n"
                       "content = lk.data.load('tubingen', max_size=256)\n"
                       "explorer = lk.widgets.style_explorer(content, lk.data.load('starry_night', max_size=256), "
                       "steps=20, size=128)\n"
                       "explorer")
    _one_cell_notebook(work / "blend.ipynb",
                       "import lecturekit as lk\n"
                       "from lecturekit.fast import list_styles, load_fast_style\n"
                       "multi = [load_fast_style(n) for n in list_styles() if load_fast_style(n).norm_kind == "
                       "'conditional'][0]\n"
                       "blend = lk.widgets.blend_explorer(multi, lk.data.load('tubingen', max_size=256), size=256)\n"
                       "blend")
    settings = work / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell (no virtual scrolling), so the whole notebook is in the page
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(work / ".runtime")}
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={work}", "--ServerApp.open_browser=False", "--allow-root",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield base, token
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _one_cell_notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                    "--disable-background-networking", "--disable-component-update",
                                    "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


VISIBLE = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen


def _open(browser, base, token, name):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a workspace of its own, reset: otherwise JupyterLab restores the previous test's notebook in a hidden
    # tab, and "Run All" or the locators may act on that one
    workspace = Path(name).stem.replace("_", "-")
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{name}?reset&token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    deadline = time.time() + 120
    while time.time() < deadline and not _kernels(base, token):
        time.sleep(1)
    time.sleep(3)
    return page, errors


def _kernels(base, token) -> list[dict]:
    """The server's running kernels; none while it answers with an error (a kernel starting or shutting
    down can make /api/kernels answer 500 for a moment on a loaded machine: the callers poll until a deadline)."""
    try:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as r:
            return json.load(r)
    except (urllib.error.URLError, TimeoutError, ConnectionError):  # HTTPError is a URLError
        return []


def _run_all(page, base, token, timeout_s: int) -> None:
    page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=30_000)
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=30_000)
    time.sleep(3)
    deadline, idle_since = time.time() + timeout_s, None
    while time.time() < deadline:
        kernels = _kernels(base, token)  # [] also while the server answers with an error: not idle yet
        idle = bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)
        queued = page.locator(f"{VISIBLE} .jp-InputArea-prompt:has-text('[*]')").count()
        if idle and queued == 0:
            idle_since = idle_since or time.time()
            if time.time() - idle_since > 4:
                return
        else:
            idle_since = None
        time.sleep(1)
    raise AssertionError(f"cells still running after {timeout_s} s")


def _no_error_output(page) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']:has-text('Traceback')")
    assert errors.count() == 0, errors.first.inner_text()[:2000]
    assert page.locator(".jp-RenderedText:has-text('Traceback (most recent call last)')").count() == 0


def _explorer(page, title):
    box = page.locator(f"{VISIBLE} .widget-vbox", has=page.locator(f"b:text-is('{title}')")).last
    box.scroll_into_view_if_needed()
    return box


def _image_src(box) -> str:
    return box.locator("img").last.get_attribute("src") or ""


def _image_pixels(box) -> bytes:
    """A screenshot of the explorer's picture: what the person in front of the screen sees."""
    return box.locator("img").last.screenshot()


def _set_slider(box, label, value: str) -> None:
    slider = box.locator(".widget-slider", has=box.page.locator(f"label:has-text('{label}')")).first
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+A")
    readout.type(value)
    readout.press("Enter")


def test_style_explorer_slider_changes_the_picture(lab, browser):
    base, token = lab
    page, errors = _open(browser, base, token, "style.ipynb")
    _run_all(page, base, token, timeout_s=300)
    page.screenshot(path=str(ARTIFACTS / "style_after_run_all.png"), full_page=False)
    _no_error_output(page)
    box = _explorer(page, "Neural style transfer")
    assert _image_src(box).startswith(("blob:", "data:"))
    before = _image_pixels(box)
    _set_slider(box, "style weight", "10")
    box.locator("button:has-text('Run')").click()
    status = box.locator(".widget-label")
    deadline = time.time() + 300
    while time.time() < deadline and "done" not in status.last.inner_text() and "cache" not in status.last.inner_text():
        assert "error" not in status.last.inner_text(), status.last.inner_text()
        time.sleep(1)
    box.screenshot(path=str(ARTIFACTS / "style_weight_10.png"))
    assert "done" in status.last.inner_text()
    assert _image_pixels(box) != before
    assert not errors, errors


def test_fast_blend_slider_updates_live(lab, browser):
    base, token = lab
    page, errors = _open(browser, base, token, "blend.ipynb")
    _run_all(page, base, token, timeout_s=300)
    _no_error_output(page)
    box = _explorer(page, "One network, many styles")
    before = _image_pixels(box)
    box.screenshot(path=str(ARTIFACTS / "blend_before.png"))
    _set_slider(box, "A → B", "0.9")
    deadline = time.time() + 30
    while time.time() < deadline and _image_pixels(box) == before:
        time.sleep(0.5)
    box.screenshot(path=str(ARTIFACTS / "blend_after.png"))
    assert _image_pixels(box) != before
    assert "error" not in box.locator(".widget-label").last.inner_text()
    assert not errors, errors
