"""Fast feed-forward style transfer (Johnson 2016), instance norm (Ulyanov 2016) and conditional
instance norm for many styles in one network (Dumoulin 2017)."""
from .stylize import (CheckpointError, export_onnx, list_styles, load_fast_style, save_fast_style,
                      stylize)
from .fit import fit
from .registry import ARCHITECTURES, build, register
from .train import CropDataset, TrainConfig, default_training_images, perceptual_loss, train_fast_style
from .transformer_net import ConditionalInstanceNorm2d, TransformerNet
from .magenta_net import MagentaNet

__all__ = ["TransformerNet", "ConditionalInstanceNorm2d", "train_fast_style", "stylize", "list_styles",
           "load_fast_style", "save_fast_style", "export_onnx", "CheckpointError", "CropDataset",
           "default_training_images", "perceptual_loss", "fit", "TrainConfig", "ARCHITECTURES", "build",
           "register", "MagentaNet"]
