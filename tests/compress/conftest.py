import pytest
import torch

from aicam_opt.models.student import StudentConfig, StudentNet


def perturbed_student(cfg: StudentConfig | None = None, seed: int = 0, scale: float = 0.05) -> StudentNet:
    """A StudentNet whose weights are moved off their (identity-like) initialisation, so that
    branches, heads and channels differ as in a trained student."""
    torch.manual_seed(seed)
    net = StudentNet(cfg or StudentConfig())
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn_like(p))
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture
def student() -> StudentNet:
    return perturbed_student()


@pytest.fixture
def small_student() -> StudentNet:
    """A cheap student (64 px low-res input, 8x8 grid) for the NNCF/ONNX tests."""
    return perturbed_student(StudentConfig(lowres_size=64, grid_size=8, width=8, grid_depth=4))
