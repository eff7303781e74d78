"""The notebooks on any backbone: no code cell names one net's layers, and every notebook runs top to
bottom on the classic nets in the random-weight test mode (LECTUREKIT_TEST_BACKBONE, small images).

`make test` runs the test mode with SqueezeNet 1.1; `make test-backbones` with all three classic nets."""
import ast
import io
import json
import os
import re
import tokenize
from concurrent.futures import ThreadPoolExecutor
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


def cell_source(cell) -> str:
    """A code cell as Python (IPython's % and ! lines become `pass`)."""
    lines = "".join(cell["source"]).splitlines()
    return "\n".join(line[:len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!"))
                     else line for line in lines)


_NEW_SCOPES = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda, ast.FunctionDef,
               ast.AsyncFunctionDef, ast.ClassDef)


def _same_scope(node: ast.AST):
    """The nodes below `node` in its own scope (comprehension variables and the like left out)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, _NEW_SCOPES):
            yield from _same_scope(child)


def defined_and_loaded(source: str) -> tuple[set, set]:
    """The names a cell's top level binds, and every name it reads."""
    tree = ast.parse(source)
    bound, loaded = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        else:
            bound |= {n.id for n in _same_scope(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return bound, loaded


def figure_only_problems(cells: list[dict]) -> list[str]:
    """Why cells tagged figure-only are not (a later cell reads what they bind, they assert, or their
    output is checked): skipping them in nbval would then break or weaken the lesson's checks."""
    code = [c for c in cells if c["cell_type"] == "code"]
    parsed = [defined_and_loaded(cell_source(c)) for c in code]
    problems = []
    for i, cell in enumerate(code):
        if "figure-only" not in cell.get("metadata", {}).get("tags", []):
            continue
        text = "".join(cell["source"])
        used_later = parsed[i][0] & set().union(*(loaded for _, loaded in parsed[i + 1:]))
        if used_later:
            problems.append(f"code cell {i} binds {sorted(used_later)}, which later cells read")
        if "NBVAL_CHECK_OUTPUT" in text or any(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(cell_source(cell)))):
            problems.append(f"code cell {i} checks something")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figure_only_cells_only_draw(path):
    assert not figure_only_problems(json.loads(path.read_text(encoding="utf-8"))["cells"])


def test_the_figure_only_check_finds_a_cell_that_is_not():
    cell = lambda src, tags=(): {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)}}  # noqa: E731
    fine = [cell("a = 1"), cell("b = a + 1\nshow(b)", ["figure-only"]), cell("print(a)")]
    assert not figure_only_problems(fine)
    assert figure_only_problems([cell("b = 2", ["figure-only"]), cell("print(b)")])
    assert figure_only_problems([cell("assert 1 == 1", ["figure-only"])])
    assert not figure_only_problems([cell("show([im for im in xs])", ["figure-only"]), cell("print(im)")])
    assert figure_only_problems([cell("# NBVAL_CHECK_OUTPUT\nprint(1)", ["figure-only"])])


def test_some_slow_cells_are_figure_only():
    tagged = [p.stem for p in NOTEBOOKS for c in json.loads(p.read_text(encoding="utf-8"))["cells"]
              if "figure-only" in c.get("metadata", {}).get("tags", [])]
    assert tagged, "no cell is tagged figure-only: the conftest's skip is untested by the notebooks"


def run_in_test_mode(path: Path, workdir: Path) -> str:
    """Run one notebook top to bottom in its own kernel (the test-mode variables are in os.environ);
    returns the text its code cells showed. Raises nbclient's CellExecutionError on a failing cell."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.fixture(scope="session")
def test_mode_runs(tmp_path_factory):
    """runs(path, backbone) -> what the notebook showed, or the exception it raised. The first call for a
    backbone runs all its notebooks, two kernels at a time with one thread each: at 64 px a kernel is
    bound by Python's overhead, not by arithmetic, so two at once take about half the time of one after
    the other (measured: notebook 05 alone 56 s with one thread, 63 s with two)."""
    done: dict = {}

    def run_all(backbone: str) -> None:
        env = {"LECTUREKIT_TEST_BACKBONE": backbone, "OMP_NUM_THREADS": "1",
               "LECTUREKIT_TEST_SIZE": os.environ.get("LECTUREKIT_TEST_SIZE", "64")}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)   # the kernels inherit it when they start

        def one(path: Path):
            try:
                return run_in_test_mode(path, tmp_path_factory.mktemp(f"{path.stem}-{backbone}"))
            except Exception as err:   # kept, and raised by that notebook's own test
                return err
        try:
            workers = int(os.environ.get("LECTUREKIT_TEST_WORKERS", "2"))
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                for path, out in zip(NOTEBOOKS, pool.map(one, NOTEBOOKS)):
                    done[path, backbone] = out
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)

    def runs(path: Path, backbone: str):
        if (path, backbone) not in done:
            run_all(backbone)
        return done[path, backbone]
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_random_weight_test_mode(path, backbone, test_mode_runs):
    shown = test_mode_runs(path, backbone)
    if isinstance(shown, BaseException):
        raise shown
    assert f"backbone {backbone!r}" in shown, "the notebook does not say which backbone it runs"
