"""The standard networks of the sd865 published measurements, built from their papers' definitions.

torchvision is not installable here, so these follow the original definitions (random weights:
latency does not depend on them). Multiply-accumulates at 1x3x224x224, checked in the tests:
MobileNetV1 1.0 ~569 M (Howard et al. 2017), MobileNetV3-Small 1.0 ~56 M (Howard et al. 2019),
ResNet-50 v1.5 ~4.1 G (He et al. 2016, with the stride on the 3x3 conv as in v1.5).

The Qualcomm AI Hub rows (shared/calibration/sd865_aihub.yaml) name torchvision architectures; these
follow torchvision's definitions layer for layer (torchvision/models/*.py, v0.15+): SqueezeNet 1.1,
GoogLeNet without its auxiliary heads (its "5x5" branch is a 3x3, as in torchvision), Inception v3
without its auxiliary head, ResNet-101, Wide ResNet-50-2 and ResNeXt-50 32x4d (v1.5 bottlenecks),
DenseNet-121. Their MACs are checked against torchvision's published GFLOPS (which count MACs).
"""
from __future__ import annotations

import torch
from torch import nn


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class MobileNetV1(nn.Module):
    """MobileNetV1 1.0x: a 3x3 conv then 13 depthwise-separable blocks, pool, FC."""

    # (output channels, stride) of the depthwise-separable blocks (Table 1 of the paper).
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for cout, stride in self.BLOCKS:
            layers += [_conv_bn(cin, cin, 3, stride, groups=cin), _conv_bn(cin, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


def _make_divisible(v: float, divisor: int = 8) -> int:
    """Channel rounding of the MobileNetV3 reference implementation."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        squeeze = _make_divisible(channels // 4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, k: int, expanded: int, cout: int, se: bool, act: type[nn.Module], stride: int):
        super().__init__()
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(_conv_bn(cin, expanded, 1, act=act))
        layers.append(_conv_bn(expanded, expanded, k, stride, groups=expanded, act=act))
        if se:
            layers.append(SqueezeExcite(expanded))
        layers.append(_conv_bn(expanded, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV3Small(nn.Module):
    """MobileNetV3-Small 1.0x (Table 2 of Howard et al. 2019)."""

    RE, HS = nn.ReLU, nn.Hardswish
    # input, kernel, expanded, output, squeeze-excite, activation, stride
    BLOCKS = [(16, 3, 16, 16, True, RE, 2), (16, 3, 72, 24, False, RE, 2), (24, 3, 88, 24, False, RE, 1),
              (24, 5, 96, 40, True, HS, 2), (40, 5, 240, 40, True, HS, 1), (40, 5, 240, 40, True, HS, 1),
              (40, 5, 120, 48, True, HS, 1), (48, 5, 144, 48, True, HS, 1), (48, 5, 288, 96, True, HS, 2),
              (96, 5, 576, 96, True, HS, 1), (96, 5, 576, 96, True, HS, 1)]

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 16, 3, 2, act=nn.Hardswish)]
        layers += [InvertedResidual(*b) for b in self.BLOCKS]
        layers.append(_conv_bn(96, 576, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(), nn.Linear(1024, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: the stride sits on the 3x3 conv (v1 put it on the first 1x1)."""

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(_conv_bn(cin, width, 1), _conv_bn(width, width, 3, stride), _conv_bn(width, cout, 1, act=None))
        self.shortcut = _conv_bn(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class GroupedBottleneck(nn.Module):
    """torchvision's Bottleneck with `groups` and `base_width` (ResNeXt, Wide ResNet): the 3x3 conv is
    int(planes * base_width / 64) * groups wide, the output planes * 4."""

    def __init__(self, cin: int, planes: int, stride: int, groups: int, base_width: int):
        super().__init__()
        width = int(planes * base_width / 64) * groups
        cout = planes * 4
        self.body = nn.Sequential(_conv_bn(cin, width, 1), _conv_bn(width, width, 3, stride, groups=groups),
                                  _conv_bn(width, cout, 1, act=None))
        self.shortcut = _conv_bn(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    STAGES = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]  # width, blocks, stride of the first block
    GROUPS, BASE_WIDTH = 1, 64

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for width, blocks, stride in self.STAGES:
            for i in range(blocks):
                s = stride if i == 0 else 1
                layers.append(Bottleneck(cin, width, s) if (self.GROUPS, self.BASE_WIDTH) == (1, 64)
                              else GroupedBottleneck(cin, width, s, self.GROUPS, self.BASE_WIDTH))
                cin = width * 4
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class ResNet101(ResNet50):
    STAGES = [(64, 3, 1), (128, 4, 2), (256, 23, 2), (512, 3, 2)]


class WideResNet50x2(ResNet50):
    BASE_WIDTH = 128


class ResNeXt50x32x4d(ResNet50):
    GROUPS, BASE_WIDTH = 32, 4


class Fire(nn.Module):
    """SqueezeNet's fire module: a 1x1 squeeze, then 1x1 and 3x3 expands concatenated."""

    def __init__(self, cin: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, expand1x1, 1), nn.ReLU())
        self.expand3x3 = nn.Sequential(nn.Conv2d(squeeze, expand3x3, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], 1)


class SqueezeNet11(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(), Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        self.classifier = nn.Sequential(nn.Conv2d(512, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).flatten(1)


def _basic(cin: int, cout: int, k: int | tuple[int, int], stride: int = 1, padding: int | tuple[int, int] = 0) -> nn.Sequential:
    """torchvision's BasicConv2d of GoogLeNet and Inception v3: conv without bias, batch norm, ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding, bias=False), nn.BatchNorm2d(cout, eps=0.001), nn.ReLU())


class GoogLeNetInception(nn.Module):
    def __init__(self, cin: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int, pool_proj: int):
        super().__init__()
        self.branches = nn.ModuleList([
            _basic(cin, ch1x1, 1),
            nn.Sequential(_basic(cin, ch3x3red, 1), _basic(ch3x3red, ch3x3, 3, padding=1)),
            nn.Sequential(_basic(cin, ch5x5red, 1), _basic(ch5x5red, ch5x5, 3, padding=1)),
            nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), _basic(cin, pool_proj, 1))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        pool = lambda k=3: nn.MaxPool2d(k, 2, ceil_mode=True)  # noqa: E731
        i = GoogLeNetInception
        self.features = nn.Sequential(
            _basic(3, 64, 7, 2, 3), pool(), _basic(64, 64, 1), _basic(64, 192, 3, padding=1), pool(),
            i(192, 64, 96, 128, 16, 32, 32), i(256, 128, 128, 192, 32, 96, 64), pool(),
            i(480, 192, 96, 208, 16, 48, 64), i(512, 160, 112, 224, 24, 64, 64), i(512, 128, 128, 256, 24, 64, 64),
            i(512, 112, 144, 288, 32, 64, 64), i(528, 256, 160, 320, 32, 128, 128), pool(2),
            i(832, 256, 160, 320, 32, 128, 128), i(832, 384, 192, 384, 48, 128, 128))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class _Branches(nn.Module):
    """Inception v3 blocks: parallel branches concatenated on channels."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], 1)


class _Split(nn.Module):
    """Inception v3's E block tail: one input into a 1x3 and a 3x1 conv, concatenated."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.a, self.b = _basic(cin, cout, (1, 3), padding=(0, 1)), _basic(cin, cout, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], 1)


def _avg_pool_proj(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.AvgPool2d(3, 1, 1), _basic(cin, cout, 1))


def _inception_a(cin: int, pool_features: int) -> _Branches:
    return _Branches(_basic(cin, 64, 1), nn.Sequential(_basic(cin, 48, 1), _basic(48, 64, 5, padding=2)),
                     nn.Sequential(_basic(cin, 64, 1), _basic(64, 96, 3, padding=1), _basic(96, 96, 3, padding=1)),
                     _avg_pool_proj(cin, pool_features))


def _inception_b(cin: int) -> _Branches:
    return _Branches(_basic(cin, 384, 3, 2),
                     nn.Sequential(_basic(cin, 64, 1), _basic(64, 96, 3, padding=1), _basic(96, 96, 3, 2)),
                     nn.MaxPool2d(3, 2))


def _inception_c(cin: int, c7: int) -> _Branches:
    row, col = dict(k=(1, 7), padding=(0, 3)), dict(k=(7, 1), padding=(3, 0))
    return _Branches(_basic(cin, 192, 1),
                     nn.Sequential(_basic(cin, c7, 1), _basic(c7, c7, **row), _basic(c7, 192, **col)),
                     nn.Sequential(_basic(cin, c7, 1), _basic(c7, c7, **col), _basic(c7, c7, **row),
                                   _basic(c7, c7, **col), _basic(c7, 192, **row)),
                     _avg_pool_proj(cin, 192))


def _inception_d(cin: int) -> _Branches:
    return _Branches(nn.Sequential(_basic(cin, 192, 1), _basic(192, 320, 3, 2)),
                     nn.Sequential(_basic(cin, 192, 1), _basic(192, 192, (1, 7), padding=(0, 3)),
                                   _basic(192, 192, (7, 1), padding=(3, 0)), _basic(192, 192, 3, 2)),
                     nn.MaxPool2d(3, 2))


def _inception_e(cin: int) -> _Branches:
    return _Branches(_basic(cin, 320, 1), nn.Sequential(_basic(cin, 384, 1), _Split(384, 384)),
                     nn.Sequential(_basic(cin, 448, 1), _basic(448, 384, 3, padding=1), _Split(384, 384)),
                     _avg_pool_proj(cin, 192))


class InceptionV3(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            _basic(3, 32, 3, 2), _basic(32, 32, 3), _basic(32, 64, 3, padding=1), nn.MaxPool2d(3, 2),
            _basic(64, 80, 1), _basic(80, 192, 3), nn.MaxPool2d(3, 2),
            _inception_a(192, 32), _inception_a(256, 64), _inception_a(288, 64), _inception_b(288),
            _inception_c(768, 128), _inception_c(768, 160), _inception_c(768, 160), _inception_c(768, 192),
            _inception_d(768), _inception_e(1280), _inception_e(2048))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class DenseLayer(nn.Module):
    """Pre-activation bottleneck: BN, ReLU, 1x1 conv to bn_size x growth, BN, ReLU, 3x3 conv to growth;
    its output is concatenated to its input."""

    def __init__(self, cin: int, growth: int, bn_size: int):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, bn_size * growth, 1, bias=False),
                                  nn.BatchNorm2d(bn_size * growth), nn.ReLU(),
                                  nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)


class DenseNet121(nn.Module):
    GROWTH, BLOCKS, INIT, BN_SIZE = 32, (6, 12, 24, 16), 64, 4

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, self.INIT, 7, 2, 3, bias=False), nn.BatchNorm2d(self.INIT), nn.ReLU(),
                                   nn.MaxPool2d(3, 2, 1)]
        channels = self.INIT
        for i, count in enumerate(self.BLOCKS):
            for _ in range(count):
                layers.append(DenseLayer(channels, self.GROWTH, self.BN_SIZE))
                channels += self.GROWTH
            if i < len(self.BLOCKS) - 1:  # transition: halve the channels and the resolution
                layers += [nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels // 2, 1, bias=False),
                           nn.AvgPool2d(2, 2)]
                channels //= 2
        layers += [nn.BatchNorm2d(channels), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


REFERENCE_MODELS = {"mobilenet_v1": MobileNetV1, "mobilenet_v3_small": MobileNetV3Small, "resnet50": ResNet50,
                    "squeezenet1_1": SqueezeNet11, "googlenet": GoogLeNet, "inception_v3": InceptionV3,
                    "resnet101": ResNet101, "wide_resnet50_2": WideResNet50x2, "resnext50_32x4d": ResNeXt50x32x4d,
                    "densenet121": DenseNet121}
# Multiply-accumulates from the papers / model zoos (torchvision's model tables list GFLOPS that count
# MACs), for the sanity check: (MACs, input size they were counted at, relative precision of the figure).
PUBLISHED_MACS = {"mobilenet_v1": (569e6, 224, 0.02), "mobilenet_v3_small": (56e6, 224, 0.02),
                  "resnet50": (4.1e9, 224, 0.02), "squeezenet1_1": (0.35e9, 224, 0.03),
                  "googlenet": (1.5e9, 224, 0.04), "inception_v3": (5.71e9, 299, 0.02),
                  "resnet101": (7.8e9, 224, 0.02), "wide_resnet50_2": (11.4e9, 224, 0.02),
                  "resnext50_32x4d": (4.23e9, 224, 0.02), "densenet121": (2.83e9, 224, 0.02)}


def build(name: str) -> nn.Module:
    """A reference network in eval mode, weights random but fixed (seed 0)."""
    torch.manual_seed(0)
    return REFERENCE_MODELS[name]().eval()


def example_input(batch: int = 1, size: int = 224) -> torch.Tensor:
    return torch.randn(batch, 3, size, size)
