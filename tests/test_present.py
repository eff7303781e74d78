"""Presenting offline: the Voilà presenter notebook, the HTML slide decks and the projector-size figures."""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from lecturekit import present

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "01_deepdream.ipynb"


def test_presenter_notebook_replays_all_but_setup_and_explorers():
    nb = present.presenter_notebook(LESSON)
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    live = [src for src in code if "lecturekit.present.replay" not in src]
    assert any("lk.load_backbone()" in s for s in live) and any("lk.widgets.dream_explorer" in s for s in live)
    assert len(live) <= 4 < len(code)
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_replay_shows_the_stored_outputs():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    InteractiveShell.instance()  # the display machinery a notebook kernel has
    cells = json.loads(LESSON.read_text())["cells"]
    index = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
                 and any("image/png" in o.get("data", {}) for o in c.get("outputs", [])))
    with capture_output() as shown:
        present.replay(LESSON, index)
    assert any("image/png" in o.data for o in shown.outputs)


def test_slide_deck_is_self_contained():
    page = present.slides_html(ROOT / "notebooks" / "05_neural_style_transfer.ipynb")
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page), "the deck loads something from the web"
    assert page.count("<section>") > 5 and "data:image/png;base64," in page
    assert page.count("<svg") > 10                                # the formulas, drawn offline
    assert not re.search(r"<code>[^<]*\\(frac|sum|mathcal)", page)  # none left as raw TeX


def test_figures_are_exported_at_projector_size(tmp_path):
    files = present.export_figures(LESSON, tmp_path, min_width=1600)
    assert len(files) >= 5
    assert all(Image.open(f).width >= 1600 for f in files)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_voila_presents_offline(tmp_path):
    """`make present`: Voilà serves the presenter notebook from this machine, the explorer live."""
    presenter = tmp_path / LESSON.name
    presenter.write_text(json.dumps(present.presenter_notebook(LESSON)))
    port = _free_port()
    env = {**os.environ, "LECTUREKIT_TEST_BACKBONE": "squeezenet1_1", "LECTUREKIT_OFFLINE": "1",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}  # any web request fails
    voila = Path(sys.executable).parent / "voila"
    proc = subprocess.Popen([str(voila), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                             "--strip_sources=True", str(presenter)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = None
        deadline = time.monotonic() + 240
        while page is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=200) as r:
                    page = r.read().decode("utf-8", "replace")
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("voila exited before serving the page")
                time.sleep(1)
        assert page is not None, "voila did not answer"
        assert "application/vnd.jupyter.widget-view+json" in page   # the live explorer
        assert page.count("image/png") >= 5                         # the stored figures
        assert "Traceback" not in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
