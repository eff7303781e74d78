"""Which feed-forward nets exist: checkpoints name their architecture, and this registry builds it.

Adding a second kind of net (AdaIN's encoder-decoder, say) means a module with the model and one
`register("adain", AdaINNet)` line; training, saving, loading and stylizing then work unchanged. A net
class takes its config as keyword arguments and gives it back as `.config` (with "arch").
"""
from __future__ import annotations

from torch import nn

ARCHITECTURES: dict[str, type[nn.Module]] = {}
DEFAULT_ARCH = "transformer_net"  # checkpoints written before the registry name no architecture


def register(name: str, cls: type[nn.Module]) -> type[nn.Module]:
    """Make `cls` buildable from checkpoints whose config says arch=`name`."""
    ARCHITECTURES[name] = cls
    cls.arch = name
    return cls


def build(config: dict) -> nn.Module:
    """A fresh net of the architecture and config a checkpoint stored ({"arch": ..., **options})."""
    options = dict(config)
    arch = options.pop("arch", DEFAULT_ARCH)
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown fast-style architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[arch](**options)
