"""The networks of the evaluation protocol: softmax regression, an MLP, a 2-conv ConvNet, and
ConvNet-3, the evaluation network of the dataset-condensation literature (DC, DSA, DM; Zhao et al.
2021-2023): three blocks of conv 3x3 -> instance norm -> ReLU -> average-pool 2, then linear.

Every model takes flat inputs (B, C*H*W) in the library's [0, 1] pixel scale, returns logits
(B, n_classes), exposes `embed(x)` (the penultimate features: 128-dimensional for the MLP and the
2-conv ConvNet, width * (H/8) * (W/8) for ConvNet-3, the input for logreg) and its last layer as
`classifier`. ConvNet-3 standardizes its input itself with the training set's per-channel mean and
std, stored as buffers, so every caller keeps passing [0, 1] pixels.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from distill_lab._validation import check_random_state

__all__ = ["MODELS", "make_model", "LogReg", "MLP", "ConvNet", "ConvNet3", "Standardize",
           "EMBED_DIM", "CONVNET_MIN_SIDE", "torch_generator", "init_parameters_"]

EMBED_DIM = 128
# Images at least this many pixels wide are a ConvNet's (ConvNet-3 in the protocols, the small
# ConvNet as 06's learner): MNIST's 28x28 and quick mode's 16x16 (`data.QUICK_MAX_SIDE`). Smaller
# ones, the 8x8 digits, are logistic regression's, as in the design's baselines.
CONVNET_MIN_SIDE = 16


class LogReg(nn.Module):
    """Multinomial logistic regression; its "embedding" is the input itself."""

    def __init__(self, n_features: int, n_classes: int):
        super().__init__()
        self.classifier = nn.Linear(n_features, n_classes)

    def embed(self, x):
        return x

    def forward(self, x):
        return self.classifier(x)


class MLP(nn.Module):
    """Two hidden layers (256, 128) with ReLU."""

    def __init__(self, n_features: int, n_classes: int, hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(),
                                  nn.Linear(hidden, EMBED_DIM), nn.ReLU())
        self.classifier = nn.Linear(EMBED_DIM, n_classes)

    def embed(self, x):
        return self.body(x)            # (B, 128)

    def forward(self, x):
        return self.classifier(self.embed(x))


class ConvNet(nn.Module):
    """conv3x3(16) - pool - conv3x3(32) - pool - fc(128) - fc(C); sized for 8x8 and 28x28 inputs."""

    def __init__(self, image_shape, n_classes: int, width: int = 16):
        super().__init__()
        c, h, w = image_shape
        if h % 4 or w % 4 or h < 8 or w < 8:
            raise ValueError(f"image_shape={tuple(image_shape)} is not supported by ConvNet: "
                             "height and width must be multiples of 4 and at least 8")
        self.image_shape = tuple(image_shape)
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),          # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, H/4, W/4)
            nn.Flatten())                                                          # (B, 2w*H*W/16)
        self.fc = nn.Sequential(nn.Linear(2 * width * (h // 4) * (w // 4), EMBED_DIM), nn.ReLU())
        self.classifier = nn.Linear(EMBED_DIM, n_classes)

    def embed(self, x):
        x = x.reshape(-1, *self.image_shape)   # (B, C*H*W) -> (B, C, H, W)
        return self.fc(self.features(x))       # (B, 128)

    def forward(self, x):
        return self.classifier(self.embed(x))


class Standardize(nn.Module):
    """(x - mean) / std per channel, with mean and std fixed buffers (from the training set)."""

    def __init__(self, mean, std):
        super().__init__()
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)   # (1, C, 1, 1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
        if not torch.all(std > 0):
            raise ValueError(f"std={std.flatten().tolist()} must be > 0 for every channel")
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return (x - self.mean) / self.std


class ConvNet3(nn.Module):
    """[conv3x3(w) - instance norm - ReLU - avgpool2] x depth, flatten, linear (the papers' ConvNet).

    depth None means 3 (the papers' ConvNet-3) for images of 16x16 and larger, 2 below: on an 8x8
    digit a third block would normalize 2x2 maps, whose pooled output barely depends on the input.
    28x28 inputs are padded to 32x32 by the first convolution (padding 3), as the reference does,
    so the last map is 4x4. Instance norm is GroupNorm with one group per channel and an affine.
    """

    def __init__(self, image_shape, n_classes: int, width: int = 32, mean=0.0, std=1.0,
                 depth: int | None = None):
        super().__init__()
        c, h, w = image_shape
        depth = depth if depth is not None else (3 if min(h, w) >= CONVNET_MIN_SIDE else 2)
        pad = 3 if (h, w) == (28, 28) and depth == 3 else 1
        side = (h + 2 * pad - 2) >> depth, (w + 2 * pad - 2) >> depth
        if min(side) < 1 or (pad == 1 and (h % 2 ** depth or w % 2 ** depth)):
            raise ValueError(f"image_shape={tuple(image_shape)} is not supported by ConvNet3 "
                             f"with depth={depth}: height and width must be 28 or multiples of "
                             f"{2 ** depth}")
        self.image_shape = tuple(image_shape)
        self.standardize = Standardize(torch.as_tensor(mean).expand(c),
                                       torch.as_tensor(std).expand(c))
        layers, channels = [], c
        for block in range(depth):
            layers += [nn.Conv2d(channels, width, 3, padding=pad if block == 0 else 1),
                       nn.GroupNorm(width, width, affine=True), nn.ReLU(inplace=True),
                       nn.AvgPool2d(2)]
            channels = width
        self.features = nn.Sequential(*layers, nn.Flatten())     # (B, w * side_h * side_w)
        self.classifier = nn.Linear(width * side[0] * side[1], n_classes)

    def embed(self, x):
        x = x.reshape(-1, *self.image_shape)                     # (B, C*H*W) -> (B, C, H, W)
        return self.features(self.standardize(x))                # (B, w * side_h * side_w)

    def forward(self, x):
        return self.classifier(self.embed(x))


MODELS = ("logreg", "mlp", "convnet", "convnet3")


def make_model(name: str, n_features: int, n_classes: int, image_shape=None,
               random_state=None, *, width: int = 32, mean=0.0, std=1.0,
               depth: int | None = None) -> nn.Module:
    """Build a freshly initialized model; `random_state` (int, numpy RNG or torch.Generator) fixes
    the initialization (`init_parameters_`) without touching torch's global random state.
    `width`, `depth`, `mean` and `std` (per channel, or one number) apply to ConvNet-3 only."""
    if name not in MODELS:
        raise ValueError(f"model={name!r} is not a known model; choose one of {list(MODELS)}")
    if name in ("convnet", "convnet3"):
        if image_shape is None:
            raise ValueError(f"model={name!r} needs image_shape=(C, H, W); got None")
        if int(torch.tensor(image_shape).prod()) != n_features:
            raise ValueError(f"image_shape={tuple(image_shape)} does not match "
                             f"n_features={n_features}")
    generator = torch_generator(random_state)
    # Construction runs each layer's own default init on the global generator; fork_rng restores
    # that generator afterwards, and init_parameters_ then re-draws every weight from `generator`.
    with torch.random.fork_rng(devices=[]):
        if name == "logreg":
            model = LogReg(n_features, n_classes)
        elif name == "mlp":
            model = MLP(n_features, n_classes)
        elif name == "convnet":
            model = ConvNet(image_shape, n_classes)
        else:
            model = ConvNet3(image_shape, n_classes, width=width, mean=mean, std=std, depth=depth)
    return init_parameters_(model, generator)


# ---------------------------------------------------------------------- seeded initialization
def torch_generator(random_state, device="cpu") -> torch.Generator:
    """A torch.Generator on `device` seeded from an int / None / numpy RNG (sklearn convention);
    a torch.Generator is returned as it is. The one way the package turns `random_state` into
    torch randomness (model weights, generative networks, their minibatches and noise)."""
    if isinstance(random_state, torch.Generator):
        return random_state
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return torch.Generator(device=device).manual_seed(seed)


def init_parameters_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-draw every Linear / Conv / Embedding weight from `generator` (PyTorch's default laws),
    in the order the layers were registered, never from the global RNG.

    Linear and convolution layers get kaiming-uniform(a=sqrt(5)) weights and
    uniform(+-1/sqrt(fan_in)) biases, as `reset_parameters` would; embeddings get N(0, 1).
    Norm layers keep their deterministic ones / zeros. For a CPU generator seeded with s this gives
    exactly the weights that `torch.manual_seed(s)` followed by construction would.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            weight = _raw_weight(layer)
            with torch.no_grad():
                nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    fan_in = weight.shape[1] * weight[0, 0].numel()
                    bound = 1.0 / math.sqrt(fan_in)
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        elif isinstance(layer, nn.Embedding):
            with torch.no_grad():
                nn.init.normal_(layer.weight, generator=generator)
    return module


def _raw_weight(layer: nn.Module) -> torch.Tensor:
    # A spectral-normalized layer keeps its trainable weight in parametrizations.weight.original.
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight
