"""A constant-width conditional-instance-norm network: the layout of Dumoulin, Shlens & Kudlur's
26-style net as Google shipped it in the TensorFlow Android "stylize" demo.

Only the model lives here. Layout (width w, all norms conditional, input 3xHxW):
  9x9 conv (w) -> 3x3 stride-2 conv (w) -> 3x3 stride-2 conv (w) -> `n_res` residual blocks (w)
  -> nearest x2 + 3x3 conv (w/4) -> nearest x2 + 3x3 conv (w/8) -> 9x9 conv (3) + norm -> sigmoid.
Against Johnson's 32/64/128 layout (`transformer_net.py`) it keeps 32 channels where Johnson widens,
and narrows on the way up: about 140 000 parameters at w = 32, a sixth of Johnson's multiply-adds.
Every conv is followed by a conditional instance norm, the last one too, so a style is nothing but
the (γ, β) rows of all 12 + 2·n_res norms: `lk.fast.load_fast_style("magenta26")` holds the trained
weights (`tools/convert_magenta.py` made them from the Apache-2.0 release; see assets/magenta/NOTICE.md).
"""
from __future__ import annotations

import torch
from torch import nn

from .registry import register, style_weights
from .transformer_net import ConvNormAct, ResidualBlock, style_names


class MagentaNet(nn.Module):
    """(N, 3, H, W) in [0, 1] -> stylized (N, 3, H, W) in (0, 1); H and W should be multiples of 4.

    Args:
        n_styles: rows of every conditional norm (26 for Google's net).
        width: channels of the contracting half and the residual blocks (32).
        n_res: residual blocks (6).
        styles: the names of the styles it paints.
        norm: "conditional" (the default; one (γ, β) row per style), or, for one style, "instance" or
            "batch" (the batch-norm twin of notebook 07).
    Call as net(x, style) with style an index, a {index: weight} dict or an (N, n_styles) tensor of
    convex weights: the (γ, β) of a blend are the same blend of the styles' rows.
    """

    def __init__(self, n_styles: int = 26, width: int = 32, n_res: int = 6, styles=None, norm: str = "conditional"):
        super().__init__()
        if width % 8:
            raise ValueError(f"width must be a multiple of 8 (it narrows to width/8), got {width}")
        self.styles = style_names(styles, n_styles, norm)
        self.n_styles, self.width, self.n_res, self.norm_kind = n_styles, width, n_res, norm
        w, kw = width, dict(norm=norm, n_styles=n_styles)
        self.contract = nn.ModuleList([ConvNormAct(3, w, 9, **kw), ConvNormAct(w, w, 3, 2, **kw),
                                       ConvNormAct(w, w, 3, 2, **kw)])
        self.res = nn.ModuleList([ResidualBlock(w, norm, n_styles) for _ in range(n_res)])
        self.expand = nn.ModuleList([ConvNormAct(w, w // 4, 3, upsample=2, **kw),
                                     ConvNormAct(w // 4, w // 8, 3, upsample=2, **kw),
                                     ConvNormAct(w // 8, 3, 9, relu=False, **kw)])

    @property
    def config(self) -> dict:
        return dict(arch="magenta_net", n_styles=self.n_styles, width=self.width, n_res=self.n_res,
                    styles=list(self.styles), norm=self.norm_kind)

    def norms(self) -> list[nn.Module]:
        """The conditional norms in network order: each has `.gamma` and `.beta`, (n_styles, C)
        (none for the "instance" and "batch" variants)."""
        return [m for m in self.modules() if hasattr(m, "gamma") and hasattr(m, "beta")]

    def forward(self, x: torch.Tensor, style=0, logits: bool = False) -> torch.Tensor:
        """Stylized images; `style` as in `registry.style_weights`; logits=True: before the sigmoid."""
        w = style_weights(style, self.n_styles, x.shape[0], x.device)
        h = x
        for layer in [*self.contract, *self.res, *self.expand]:  # every one takes the style weights
            h = layer(h, w)
        return h if logits else torch.sigmoid(h)


register("magenta_net", MagentaNet)
