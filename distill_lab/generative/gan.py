"""Class-conditional DCGAN (Radford et al., 2016; conditioning of Mirza & Osindero, 2014) with a
spectral-normalized projection discriminator (Miyato et al., 2018; Miyato & Koyama, 2018) or the
plain DCGAN discriminator that reads the label as an extra input channel ("concat").

The generator maps noise z and a label embedding to an image through two stride-2 transposed
convolutions (H/4 -> H/2 -> H); the discriminator scores (image, label) pairs. Training is the
two-player game min_G max_D, which drives the generated distribution p_G(x | y) towards the data
distribution p(x | y): once trained, `distill(n_per_class)` draws a synthetic set from it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models import init_parameters_
from .base import BaseGenerator
from .layers import check_image_shape, spectral_norm

__all__ = ["Generator", "Discriminator", "ConcatDiscriminator", "ConditionalGAN",
           "discriminator_loss", "generator_loss"]

_LOSSES = ("hinge", "bce")


def _check_loss(loss):
    if loss not in _LOSSES:
        raise ValueError(f"loss={loss!r} is not supported; use 'hinge' or 'bce'")


def discriminator_loss(d_real, d_fake, loss="hinge"):
    """D's loss from its logits on real pairs D(x, y) (B,) and generated pairs D(G(z, y), y) (B,).

    "hinge" (SN-GAN): mean max(0, 1 - d_real) + mean max(0, 1 + d_fake).
    "bce" (GAN, DCGAN): the cross-entropy of real = 1 and fake = 0,
    mean -log sigmoid(d_real) + mean -log(1 - sigmoid(d_fake)), computed from the logits.
    """
    _check_loss(loss)
    if loss == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))


def generator_loss(d_gen, loss="hinge"):
    """G's loss from D's logits on its own samples D(G(z, y), y) (B,).

    "hinge": mean -d_gen. "bce": the non-saturating mean -log sigmoid(d_gen) (Goodfellow et al.,
    2014), whose gradient stays large while D still rejects the samples, where the minimax
    log(1 - sigmoid(d_gen)) would vanish.
    """
    _check_loss(loss)
    if loss == "hinge":
        return -d_gen.mean()
    return F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))


class Generator(nn.Module):
    """(z, y) -> image in [-1, 1]; shapes below for (1, 28, 28) and width w.

    Digits run 2 -> 4 -> 8 (the first feature map is H/4 x W/4).
    """

    def __init__(self, image_shape, n_classes, z_dim=64, width=64, generator=None):
        super().__init__()
        C, H, _ = check_image_shape(image_shape)
        self.z_dim, self.s, self.width = z_dim, H // 4, width
        self.embed = nn.Embedding(n_classes, z_dim)                       # y -> (B, z_dim)
        self.fc = nn.Linear(2 * z_dim, 2 * width * self.s ** 2)           # -> (B, 2w*7*7)
        self.bn0 = nn.BatchNorm2d(2 * width)                              # (B, 2w, 7, 7)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1)          # -> (B, w, 14, 14)
        self.bn1 = nn.BatchNorm2d(width)
        self.up2 = nn.ConvTranspose2d(width, C, 4, 2, 1)                  # -> (B, C, 28, 28)
        init_parameters_(self, generator if generator is not None else torch.Generator())

    def forward(self, z, y):
        h = self.fc(torch.cat([z, self.embed(y)], dim=1))                # (B, 2w*s*s)
        h = F.relu(self.bn0(h.view(-1, 2 * self.width, self.s, self.s)))  # (B, 2w, s, s)
        h = F.relu(self.bn1(self.up1(h)))                                 # (B, w, 2s, 2s)
        return torch.tanh(self.up2(h))                                    # (B, C, H, W)


class Discriminator(nn.Module):
    """(image, y) -> real/fake logit (B,): psi(phi(x)) + <embed(y), phi(x)> (projection D)."""

    def __init__(self, image_shape, n_classes, width=64, generator=None):
        super().__init__()
        C, _, _ = check_image_shape(image_shape)
        self.conv0 = nn.Conv2d(C, width, 3, 1, 1)               # (B, C, 28, 28) -> (B, w, 28, 28)
        self.conv1 = nn.Conv2d(width, 2 * width, 4, 2, 1)       # -> (B, 2w, 14, 14)
        self.conv2 = nn.Conv2d(2 * width, 4 * width, 4, 2, 1)   # -> (B, 4w, 7, 7)
        self.psi = nn.Linear(4 * width, 1)                      # phi (B, 4w) -> (B, 1)
        self.embed = nn.Embedding(n_classes, 4 * width)         # y -> (B, 4w)
        gen = generator if generator is not None else torch.Generator()
        init_parameters_(self, gen)
        # Spectral norm on every weight bounds D's Lipschitz constant: the stabilizer of SN-GAN.
        for layer in (self.conv0, self.conv1, self.conv2, self.psi):
            spectral_norm(layer, gen)

    def forward(self, x, y):
        h = F.leaky_relu(self.conv0(x), 0.1)
        h = F.leaky_relu(self.conv1(h), 0.1)
        h = F.leaky_relu(self.conv2(h), 0.1)                     # (B, 4w, H/4, W/4)
        phi = h.sum(dim=(2, 3))                                  # (B, 4w)
        return self.psi(phi).squeeze(1) + (self.embed(y) * phi).sum(1)  # (B,)


class ConcatDiscriminator(nn.Module):
    """(image, y) -> real/fake logit (B,) as in a conditional DCGAN: the label, embedded as an H x W
    map, is a second input channel; two stride-2 convolutions with batch norm and LeakyReLU(0.2),
    then a linear layer on every position; no spectral norm. On MNIST's 28 x 28 digits the
    projection `Discriminator` overpowered the generator, which collapsed to one image per class;
    with this one, loss="bce" and `mode_seeking` the generator draws varied digits of the right
    class (the paper table's GAN, benchmarks/results/paper_mnist.md)."""

    def __init__(self, image_shape, n_classes, width=64, generator=None):
        super().__init__()
        C, H, W = check_image_shape(image_shape)
        self.H, self.W = H, W
        self.embed = nn.Embedding(n_classes, H * W)                    # y -> (B, H*W)
        self.conv1 = nn.Conv2d(C + 1, width, 4, 2, 1)                  # -> (B, w, 14, 14)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, 2, 1)              # -> (B, 2w, 7, 7)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.fc = nn.Linear(2 * width * (H // 4) * (W // 4), 1)         # (B, 2w*7*7) -> (B, 1)
        init_parameters_(self, generator if generator is not None else torch.Generator())

    def forward(self, x, y):
        label = self.embed(y).view(-1, 1, self.H, self.W)               # (B, 1, H, W)
        h = F.leaky_relu(self.conv1(torch.cat([x, label], dim=1)), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)                  # (B, 2w, H/4, W/4)
        return self.fc(h.flatten(1)).squeeze(1)                         # (B,)


_DISCRIMINATORS = {"projection": Discriminator, "concat": ConcatDiscriminator}


class ConditionalGAN(BaseGenerator):
    """Class-conditional GAN on flat images in [0, 1]; `fit(X, y, steps)`, then `distill`.

    loss: "hinge" (SN-GAN) or "bce" (the non-saturating loss of DCGAN). discriminator:
    "projection" (`Discriminator`, spectral norm) or "concat" (`ConcatDiscriminator`, the label as
    an input channel; with loss="bce" it is the conditional DCGAN, the one that trains on MNIST's
    28 x 28 digits). mode_seeking: the weight lambda of MSGAN's mode-seeking term (Mao et al.,
    CVPR 2019), added to G's loss: lambda / (|G(z1, y) - G(z2, y)|_1 / |z1 - z2|_1), mean over
    the batch. Two codes of one label that give the same image cost G, so it cannot ignore z, the
    within-class collapse of a conditional GAN (0: off, the plain game). Adam with betas
    (0.5, 0.999) as in DCGAN. One discriminator step per generator step. The defaults are the
    GAN of notebook 07 (8 x 8 digits); on 28 x 28 images use discriminator="concat", loss="bce"
    and mode_seeking=1.0, the paper table's settings.
    """

    def __init__(self, image_shape=(1, 28, 28), n_classes=10, *, z_dim=64, width=64,
                 loss="hinge", discriminator="projection", mode_seeking=0.0, lr=2e-4,
                 batch_size=64, device="auto", random_state=None, verbose=True):
        self.image_shape = image_shape
        self.n_classes = n_classes
        self.z_dim = z_dim
        self.width = width
        self.loss = loss
        self.discriminator = discriminator
        self.mode_seeking = mode_seeking
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, generator):
        _check_loss(self.loss)
        if self.discriminator not in _DISCRIMINATORS:
            raise ValueError(f"discriminator={self.discriminator!r} is not supported; use one of "
                             f"{list(_DISCRIMINATORS)}")
        if (isinstance(self.mode_seeking, bool) or not isinstance(self.mode_seeking, (int, float))
                or not self.mode_seeking >= 0):
            raise ValueError(f"mode_seeking={self.mode_seeking!r} must be a number >= 0 (the "
                             "weight of the mode-seeking term; 0 turns it off)")
        G = Generator(self.image_shape, self.n_classes, self.z_dim, self.width, generator)
        D = _DISCRIMINATORS[self.discriminator](self.image_shape, self.n_classes, self.width,
                                                generator)
        self.modules_ = {"G": G.to(self.device_), "D": D.to(self.device_)}
        self.optimizers_ = {k: torch.optim.Adam(m.parameters(), lr=self.lr, betas=(0.5, 0.999))
                            for k, m in self.modules_.items()}

    def _d_loss(self, d_real, d_fake):
        return discriminator_loss(d_real, d_fake, self.loss)

    def _g_loss(self, d_gen):
        return generator_loss(d_gen, self.loss)

    def _train_step(self, x, y, noise_gen):
        G, D = self.modules_["G"], self.modules_["D"]
        opt_g, opt_d = self.optimizers_["G"], self.optimizers_["D"]
        z = torch.randn(len(x), self.z_dim, generator=noise_gen, device=x.device)  # (B, z_dim)
        fake = G(z, y)                                                          # (B, C, H, W)
        loss_d = self._d_loss(D(x, y), D(fake.detach(), y))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = self._g_loss(D(fake, y))
        losses = {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}
        if self.mode_seeking > 0:
            z2 = torch.randn(len(x), self.z_dim, generator=noise_gen, device=x.device)
            ratio = ((fake - G(z2, y)).abs().mean(dim=(1, 2, 3))
                     / (z - z2).abs().mean(dim=1))                              # (B,)
            loss_ms = 1.0 / (ratio.mean() + 1e-5)
            loss_g = loss_g + self.mode_seeking * loss_ms
            losses["loss_ms"] = float(loss_ms.detach())
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return losses

    def _sample(self, y, noise_gen):
        z = torch.randn(len(y), self.z_dim, generator=noise_gen, device=y.device)
        return self.modules_["G"](z, y)
