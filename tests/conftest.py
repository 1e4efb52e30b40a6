import numpy as np
import pytest
import torch

from aicam_opt.data import resolve


@pytest.fixture(scope="session")
def data_source():
    """The real data (../shared/data) when present, else the embedded scikit-image photos."""
    return resolve()


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    np.random.seed(0)
