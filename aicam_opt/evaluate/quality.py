"""Image quality metrics, all from scikit-image (images float HxWx3 in [0, 1])."""
from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ..errors import AicamError


def _check(output: np.ndarray, reference: np.ndarray) -> None:
    if output.shape != reference.shape:
        raise AicamError(f"cannot compare images of shapes {output.shape} and {reference.shape}")
    if not np.all(np.isfinite(output)):
        raise AicamError("the model produced NaN/inf pixels; the checkpoint or the compressed candidate is broken")


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    _check(output, reference)
    return float(peak_signal_noise_ratio(reference, np.clip(output, 0, 1), data_range=1.0))


def ssim(output: np.ndarray, reference: np.ndarray) -> float:
    _check(output, reference)
    return float(structural_similarity(reference, np.clip(output, 0, 1), channel_axis=2, data_range=1.0))


def delta_e(output: np.ndarray, reference: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference (1 is about the just-noticeable difference)."""
    _check(output, reference)
    return float(deltaE_ciede2000(rgb2lab(reference), rgb2lab(np.clip(output, 0, 1))).mean())


def all_metrics(output: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {"psnr": psnr(output, reference), "ssim": ssim(output, reference), "deltae": delta_e(output, reference)}


def require_images(count: int, what: str) -> None:
    if count == 0:
        raise AicamError(f"{what} over zero images: the evaluation set is empty; give a data folder with FiveK pairs "
                         "(fivek/input + fivek/expert_c) or photos (photos/<folder>/)")


def mean_difference(outputs: dict[str, np.ndarray], references: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean PSNR / ΔE2000 of each output against the reference of the same name, and how many images."""
    require_images(len(references), "mean PSNR / ΔE2000")
    return {"psnr": float(np.mean([psnr(outputs[n], references[n]) for n in references])),
            "deltae": float(np.mean([delta_e(outputs[n], references[n]) for n in references])),
            "images": len(references)}


def mean_psnr(outputs: dict[str, np.ndarray], references: dict[str, np.ndarray]) -> float:
    """Mean PSNR of each output against the reference of the same name."""
    require_images(len(references), "mean PSNR")
    return float(np.mean([psnr(outputs[n], references[n]) for n in references]))


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the rows (one per image)."""
    require_images(len(rows), "mean PSNR / SSIM / ΔE2000")
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
