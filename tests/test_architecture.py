"""The shared pieces: one Gram term, one config, the stage loop, Result.join, fit, the net registry,
and precision chosen by measurement."""
import ast
import dataclasses
import subprocess
import sys

import pytest
import torch
from torch import nn

import lecturekit as lk
from lecturekit.fast import TransformerNet, build, fit, load_fast_style, save_fast_style, train_fast_style
from lecturekit.losses import ContentTargets, GramTargets
from lecturekit.optimize import Result, RunControls, optimize_stages
from lecturekit.style import StyleConfig


def _identity_features(x, layers):
    return {k: x * (i + 1) for i, k in enumerate(layers)}


def test_gram_term_equals_the_einsum_definition_on_a_batch():
    a, y = torch.rand(1, 3, 5, 6), torch.rand(4, 3, 5, 6)
    t = GramTargets(_identity_features, [a], ["l1", "l2"], weights={"l1": 1.0, "l2": 0.5})
    terms = t.terms(_identity_features(y, ["l1", "l2"]), weight=10.0)
    for i, (k, w) in enumerate([("l1", 1.0), ("l2", 0.5)]):
        fa, fy = a * (i + 1), y * (i + 1)
        ga = torch.einsum("nchw,ndhw->ncd", fa, fa) / 30
        gy = torch.einsum("nchw,ndhw->ncd", fy, fy) / 30
        expected = 10.0 * w * ((gy - ga) ** 2).sum() / (ga ** 2).sum() / 4  # batch mean
        assert torch.allclose(terms[f"style:{k}"], expected)


def test_content_term_is_the_mean_squared_feature_distance():
    p, x = torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 4)
    t = ContentTargets(_identity_features, p, ["c"])
    assert torch.allclose(t.terms({"c": x}, 3.0)["content:c"], 3.0 * ((x - p) ** 2).mean())


def test_style_config_is_frozen_and_validated():
    cfg = StyleConfig(style_weight=10.0, style_layers=["stem"])
    assert cfg.style_layers == ("stem",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3
    with pytest.raises(ValueError, match="steps"):
        StyleConfig(steps=0)
    with pytest.raises(TypeError):
        StyleConfig(no_such_option=1)


def test_style_result_config_is_the_asdict_of_the_config(lite0, tubingen, starry):
    r = lk.style_transfer(tubingen, starry, backbone=lite0, size=48, steps=2, progress=False)
    for field in dataclasses.fields(StyleConfig):
        assert field.name in r.config
    assert r.config["style_layers"] == list(lite0.defaults.style_layers)


def test_stages_join_histories_snapshots_and_callbacks():
    seen = []
    controls = RunControls(progress=False, callback=lambda step, img, terms: seen.append(step), snapshots=(0, 3, 5))

    def make_stage(size, previous):
        x0 = torch.zeros(1, 3, size, size) if previous is None else lk.resize(previous, (size, size))
        return (lambda x: {"l2": (x - 0.5).pow(2).mean()}), x0
    r = optimize_stages(make_stage, [8, 16], [3, 2], controls, optimizer="adam", lr=0.1)
    assert r.steps == 5 and len(r.history["total"]) == 5 and seen == [1, 2, 3, 4, 5]
    assert sorted(r.snapshots) == [0, 3, 5] and r.snapshots[5].shape[-1] == 16
    assert r.times == sorted(r.times)


def test_result_join():
    a = Result(image=torch.zeros(1, 3, 2, 2), history={"total": [3.0, 2.0]}, times=[0.1, 0.2], steps=2)
    b = Result(image=torch.ones(1, 3, 4, 4), history={"total": [1.0]}, times=[0.1], steps=1, stopped="stop")
    j = a.join(b)
    assert j.history["total"] == [3.0, 2.0, 1.0] and j.steps == 3 and j.stopped == "stop"
    assert j.times == pytest.approx([0.1, 0.2, 0.3]) and torch.equal(j.image, b.image)


def test_deepdream_returns_a_result_with_the_octaves_joined(lite0, small_image):
    r = lk.deepdream(small_image, lite0, steps=2, octaves=3, seed=0, progress=False)
    assert isinstance(r, Result) and r.steps == 6 and len(r.history["dream"]) == 6
    assert r.image.shape == small_image.shape


def test_fit_is_a_plain_loop_with_hooks():
    net = nn.Linear(2, 1)
    batches = iter([torch.ones(4, 2)] * 10)
    calls = []
    hist = fit(net, lambda n, x: {"mse": n(x).pow(2).mean()}, batches, torch.optim.SGD(net.parameters(), 0.1), 5,
               hooks=[lambda step, n, h: calls.append(step)])
    assert calls == [1, 2, 3, 4, 5] and hist["total"][-1] < hist["total"][0]


def test_registry_builds_nets_from_their_config():
    net = TransformerNet(norm="conditional", n_styles=2, width=8, styles=["wave", "scream"])
    assert net.config["arch"] == "transformer_net"
    again = build(net.config)
    assert isinstance(again, TransformerNet) and again.styles == ["wave", "scream"]
    with pytest.raises(ValueError, match="Unknown fast-style architecture"):
        build({"arch": "adain"})


def test_a_trained_conditional_net_shows_its_own_style_names(lite0_random, tmp_path):
    from lecturekit.widgets import blend_explorer
    styles = [torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)]
    net, _ = train_fast_style(styles, [torch.rand(1, 3, 40, 40)], backbone=lite0_random, steps=2, batch_size=1,
                              size=32, width=8, style_names=["wave", "scream"], progress=False)
    assert net.styles == ["wave", "scream"] and net.config["styles"] == ["wave", "scream"]
    explorer = blend_explorer(net, torch.rand(1, 3, 32, 32))
    labels = [label for label, _ in explorer.controls["a"].options]
    assert labels[:2] == ["wave", "scream"]
    loaded = load_fast_style(str(save_fast_style(net, tmp_path / "two.pt", net.styles)))
    assert loaded.styles == ["wave", "scream"]


def test_precision_auto_measures_once_and_caches(monkeypatch, lite0_random):
    from lecturekit import precision
    calls = []
    monkeypatch.setattr(precision, "time_setting",
                        lambda bb, layers, size, p, c, repeats=2: calls.append((p, c)) or (0.5 if (p, c) == ("bfloat16", True) else 1.0))
    monkeypatch.setattr(precision, "_CHOICES", {})
    first = precision.choose(lite0_random, ["stem"], 32, "auto", "auto", verbose=False)
    assert first == ("bfloat16", True) and len(calls) == 4
    assert precision.choose(lite0_random, ["stem"], 32, "auto", "auto", verbose=False) == first
    assert len(calls) == 4  # cached
    assert precision.choose(lite0_random, ["stem"], 32, "float32", False) == ("float32", False)


def test_precision_auto_on_a_real_tiny_net(lite0_random):
    from lecturekit import precision
    choice = precision.choose(lite0_random, ["stem"], 32, "auto", "auto", verbose=False)
    assert choice[0] in ("float32", "bfloat16") and isinstance(choice[1], bool)


def test_images_module_imports_nothing_from_data():
    code = "import sys, lecturekit.images; assert 'lecturekit.data' not in sys.modules, sorted(sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


# --------------------------------------------------------------------------- one of each, found by shape
def _names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _transposed(node) -> bool:
    text = ast.unparse(node)
    return any(t in text for t in (".transpose(", ".t()", ".mT", ".T", ".permute("))


def gram_shaped(node) -> bool:
    """A product of a tensor with its own transpose (F Fᵀ, by @, mm, bmm or matmul) or an einsum of a
    tensor with itself: a Gram matrix, whatever it is called."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        a, b = node.left, node.right
    elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if fn == "einsum" and len(node.args) == 3:
            return ast.unparse(node.args[1]) == ast.unparse(node.args[2])
        if fn not in ("bmm", "matmul", "mm"):
            return False
        a, b = node.args if len(node.args) == 2 else (getattr(node.func, "value", None), node.args[0] if node.args else None)
        if a is None or b is None:
            return False
    else:
        return False
    return _transposed(a) != _transposed(b) and bool(_names(a)) and _names(a) == _names(b)


def optimization_loop_shaped(node) -> bool:
    """A module that back-propagates and, in a loop, calls an optimizer's .step(), directly or through a
    function of the same module: an optimization loop, however it is split into helpers."""
    if not isinstance(node, ast.Module):
        return False

    def calls(n) -> list[str]:
        return [ast.unparse(c.func) for c in ast.walk(n) if isinstance(c, ast.Call)]
    local = {f.name: f for f in ast.walk(node) if isinstance(f, ast.FunctionDef)}

    def steps(n, seen: frozenset) -> bool:
        for call in calls(n):
            name = call.split(".")[-1]
            if call.endswith(".step") or (name in local and name not in seen and steps(local[name], seen | {name})):
                return True
        return False
    backprop = any(c.endswith(".backward") or c.endswith("autograd.grad") for c in calls(node))
    return backprop and any(steps(n, frozenset()) for n in ast.walk(node) if isinstance(n, (ast.For, ast.While)))


def _slice_parts(node) -> list:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _is_const(node, value) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_const(node.operand, -value)
    return isinstance(node, ast.Constant) and node.value == value


def _shifted_by_one(a, b) -> bool:
    """Slices `1:` and `:-1` (either order): a tensor against itself moved by one position."""
    def kind(s):
        if not isinstance(s, ast.Slice) or s.step is not None:
            return None
        if _is_const(s.lower, 1) and s.upper is None:
            return "next"
        if s.lower is None and _is_const(s.upper, -1):
            return "previous"
        return None
    return {kind(a), kind(b)} == {"next", "previous"}


def neighbour_difference_shaped(node) -> bool:
    """x[..., 1:] − x[..., :-1] along any axis (other axes sliced alike or not): differences of neighbouring
    pixels, the heart of a total variation, whatever it is called."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub)):
        return False
    a, b = node.left, node.right
    if not (isinstance(a, ast.Subscript) and isinstance(b, ast.Subscript)):
        return False
    if ast.unparse(a.value) != ast.unparse(b.value):
        return False
    pa, pb = _slice_parts(a.slice), _slice_parts(b.slice)
    return len(pa) == len(pb) and any(_shifted_by_one(x, y) for x, y in zip(pa, pb))


def _found(rule, source: str) -> list[int]:
    return [getattr(n, "lineno", 1) for n in ast.walk(ast.parse(source)) if rule(n)]


def _package_files():
    from pathlib import Path
    root = Path(lk.__file__).parent
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.py")}


def test_one_gram_matrix_found_by_its_shape():
    found = {name: _found(gram_shaped, src) for name, src in _package_files().items()}
    assert {name for name, lines in found.items() if lines} == {"losses.py"}, found


def test_one_pixel_loop_and_one_training_loop_found_by_their_shape():
    found = {name for name, src in _package_files().items() if _found(optimization_loop_shaped, src)}
    assert found == {"optimize.py", "fast/fit.py"}, found


def test_one_total_variation_found_by_its_shape():
    found = {name: _found(neighbour_difference_shaped, src) for name, src in _package_files().items()}
    assert {name for name, lines in found.items() if lines} == {"losses.py"}, found


@pytest.mark.parametrize("second, rule", [
    ("g = torch.einsum('nchw,ndhw->ncd', f, f)", gram_shaped),
    ("g = f.flatten(2) @ f.flatten(2).transpose(1, 2)", gram_shaped),
    ("g = torch.bmm(x, x.mT) / n", gram_shaped),
    ("def go(x, opt):\n    for _ in range(9):\n        opt.zero_grad()\n        loss(x).backward()\n        opt.step()",
     optimization_loop_shaped),
    ("def once(x, o):\n    x.grad = torch.autograd.grad(f(x), x)[0]\n    o.step()\n\n"
     "def train(x, o):\n    while True:\n        once(x, o)", optimization_loop_shaped),
    ("dx = img[..., :, 1:] - img[..., :, :-1]", neighbour_difference_shaped),
    ("smooth = (y[:, :, :-1, :] - y[:, :, 1:, :]).abs().mean()", neighbour_difference_shaped),
    ("d = x[..., :-1, 1:] - x[..., :-1, :-1]", neighbour_difference_shaped),
])
def test_the_shape_rules_catch_a_second_copy(second, rule):
    """Each rule fails when broken: a second Gram, loop or TV, however it is named, is found."""
    assert _found(rule, second)
    assert not _found(rule, "y = a @ b.transpose(1, 2)\nz = torch.einsum('ij,jk->ik', a, b)\n"
                            "w = x[..., 1:] - y[..., :-1]\nv = x[..., 2:] - x[..., :-2]\nu = x[1:] - x[1:]")
