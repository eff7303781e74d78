"""The notebooks on any backbone: no code cell names one net's layers, and every notebook runs top to
bottom on the classic nets in the random-weight test mode (LECTUREKIT_TEST_BACKBONE, small images).

`make test` runs the test mode with SqueezeNet 1.1; `make test-backbones` with all three classic nets."""
import io
import json
import os
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CLASSIC = ["squeezenet1_1", "vgg19", "googlenet"]
BACKBONES = [pytest.param(name, marks=() if name == "squeezenet1_1" else pytest.mark.backbones) for name in CLASSIC]


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def string_literals(source: str) -> list[str]:
    """The string constants of a cell's code (comments and magics left out)."""
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            out.append(re.sub(r"^[rbfuRBFU]*('''|\"\"\"|'|\")|('''|\"\"\"|'|\")$", "", tok.string))
        elif tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            out.append(tok.string)
    return out


@pytest.fixture(scope="module")
def layer_names():
    import torch

    import lecturekit as lk
    torch.manual_seed(0)
    names = set()
    for name in lk.BACKBONES:
        bb = lk.models.build_backbone(name, weights=None)
        names |= set(bb.stage_names) | set(bb.aliases)
    return names


def test_layer_names_are_known(layer_names):
    assert {"stage3", "stem", "relu4_2", "inception4c", "fire7"} <= layer_names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_code_cell_names_a_backbone_layer(path, layer_names):
    found = [(i, s) for i, src in enumerate(code_cells(path)) for s in string_literals(src)
             if s.strip() in layer_names]
    assert not found, f"{path.name}: code cells name layers of one net (use backbone.defaults): {found}"


def test_the_checker_finds_a_named_layer(layer_names):
    cell = 'x = backbone.features(img, "stage3")  # "relu4_2" in a comment is fine\n'
    assert [s for s in string_literals(cell) if s in layer_names] == ["stage3"]


@pytest.mark.slow
@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_random_weight_test_mode(path, backbone, monkeypatch, tmp_path):
    import nbformat
    from nbclient import NotebookClient
    monkeypatch.setenv("LECTUREKIT_TEST_BACKBONE", backbone)
    monkeypatch.setenv("LECTUREKIT_TEST_SIZE", os.environ.get("LECTUREKIT_TEST_SIZE", "64"))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    shown = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"backbone {backbone!r}" in shown, "the notebook does not say which backbone it runs"
