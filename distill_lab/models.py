"""The small networks of the evaluation protocol: softmax regression, an MLP and a 2-conv ConvNet.

Every model takes flat inputs (B, C*H*W), returns logits (B, n_classes), exposes `embed(x)` (the
penultimate features, 128-dimensional except for logreg) and its last layer as `classifier`.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["MODELS", "make_model", "LogReg", "MLP", "ConvNet", "EMBED_DIM"]

EMBED_DIM = 128


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


MODELS = ("logreg", "mlp", "convnet")


def make_model(name: str, n_features: int, n_classes: int, image_shape=None,
               random_state=None) -> nn.Module:
    """Build a freshly initialized model; `random_state` (int) fixes the initialization without
    touching torch's global random state."""
    if name not in MODELS:
        raise ValueError(f"model={name!r} is not a known model; choose one of {list(MODELS)}")
    if name == "convnet":
        if image_shape is None:
            raise ValueError("model='convnet' needs image_shape=(C, H, W); got None")
        if int(torch.tensor(image_shape).prod()) != n_features:
            raise ValueError(f"image_shape={tuple(image_shape)} does not match "
                             f"n_features={n_features}")
    seed = _seed_from(random_state)
    # fork_rng isolates the init: the global generator is restored afterwards.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "logreg":
            return LogReg(n_features, n_classes)
        if name == "mlp":
            return MLP(n_features, n_classes)
        return ConvNet(image_shape, n_classes)


def _seed_from(random_state) -> int:
    from distill_lab._validation import check_random_state

    return int(check_random_state(random_state).randint(2**31 - 1))
