"""Which feed-forward nets exist: checkpoints name their architecture, and this registry builds it.

Adding a kind of net means a module with the model and one `register("name", Net)` line; training
(`train_fast_style(..., arch="name")`), saving (`save_fast_style`), loading (`load_fast_style`) and
stylizing (`stylize`) then work unchanged. The protocol a registered class follows, and all it needs:

- **constructor**: keyword options only, e.g. `Net(n_styles=26, width=32)`; training passes the ones
  of `n_styles`, `styles`, `width` and `norm` that the constructor names (`fast.train.new_net`);
- **`.config`**: a dict of those options plus `"arch": "name"`, such that `build(net.config)` makes
  the same net (checkpoints store it);
- **`forward(x, style_weights)`**: x (N, 3, H, W) in [0, 1], style_weights an (N, n_styles) tensor of
  convex weights (one-hot for one style, a blend otherwise; `style_weights` builds it from an index,
  a name or a dict); returns the stylized (N, 3, H, W) in [0, 1]. A net that ends in a sigmoid may
  also take `logits=True` and return the values before it: training then adds the saturation penalty;
- **`.n_styles`** (default 1) and, optionally, **`.styles`**, the style names (saved beside the weights
  whether or not the constructor takes them).
"""
from __future__ import annotations

import inspect

import torch
from torch import nn

ARCHITECTURES: dict[str, type[nn.Module]] = {}
DEFAULT_ARCH = "transformer_net"  # checkpoints written before the registry name no architecture


def register(name: str, cls: type[nn.Module]) -> type[nn.Module]:
    """Make `cls` buildable from checkpoints whose config says arch=`name`."""
    ARCHITECTURES[name] = cls
    cls.arch = name
    return cls


def build(config: dict) -> nn.Module:
    """A fresh net of the architecture and config a checkpoint stored ({"arch": ..., **options}).

    A "styles" entry goes to the constructor only if it takes one (the loader sets `.styles` itself)."""
    options = dict(config)
    arch = options.pop("arch", DEFAULT_ARCH)
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown fast-style architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    cls = ARCHITECTURES[arch]
    if "styles" in options and "styles" not in inspect.signature(cls).parameters:
        options.pop("styles")
    return cls(**options)


def style_weights(style, n_styles: int, batch: int, device) -> torch.Tensor:
    """Convex weights (batch, n_styles) from a style index, a {index: weight} dict or a tensor."""
    if isinstance(style, torch.Tensor):
        w = style.float().to(device).reshape(-1, n_styles).expand(batch, -1)
    else:
        spec = {int(style): 1.0} if not isinstance(style, dict) else style
        w = torch.zeros(n_styles, device=device)
        for i, v in spec.items():
            if not 0 <= int(i) < n_styles:
                raise ValueError(f"Style {i} does not exist: this net has styles 0..{n_styles - 1}")
            w[int(i)] = float(v)
        w = w[None].expand(batch, -1)
    if (w < 0).any() or not torch.allclose(w.sum(1), torch.ones(batch, device=device), atol=1e-4):
        raise ValueError(f"Style weights must be >= 0 and sum to 1, got {w[0].tolist()}")
    return w
