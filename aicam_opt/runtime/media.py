"""What an `enhance` input is (a photo, or a video: frame folder, mp4, YUV) and which outputs may go with it.

Light on purpose (no torch, no TVM): the CLI checks the output, and starts decoding a photo, before
the model loads.
"""
from __future__ import annotations

import os
from pathlib import Path

from .. import atomic
from ..errors import AicamError
from ..images import PHOTO_SUFFIXES, VIDEO_SUFFIXES
from ..yuv import YUV_SUFFIXES


def is_video_source(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES + YUV_SUFFIXES


def check_output(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Refuse, before any work, an output of the wrong type for `src` or one the output policy forbids."""
    src, dst = Path(src), Path(dst)
    if is_video_source(src):
        if dst.suffix != "" and dst.suffix.lower() not in VIDEO_SUFFIXES + YUV_SUFFIXES:
            raise AicamError(f"{dst}: unsupported output type '{dst.suffix}' for a video; give a new folder "
                             f"(no suffix) or one of {', '.join(VIDEO_SUFFIXES + YUV_SUFFIXES)}")
        atomic.check_output(dst, folder=dst.suffix == "", source=src)
    else:
        if dst.suffix.lower() not in PHOTO_SUFFIXES:
            raise AicamError(f"{dst}: unsupported output type '{dst.suffix or '(none)'}' for a photo; "
                             f"use one of {', '.join(PHOTO_SUFFIXES)}")
        atomic.check_output(dst, source=src)
