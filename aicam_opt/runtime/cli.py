"""`aicam-opt enhance INPUT OUTPUT [--model teacher|student|PATH]`: photos and videos, with progress."""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace
from pathlib import Path

from ..errors import AicamError
from ..kernels.spec import COMPUTE_TYPES, SLICE_FORMS
from ..yuv import RAW_LAYOUTS, YUV_STANDARDS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "enhance", help="enhance a photo (JPEG/PNG/TIFF, 8 or 16 bit) or a video (frame folder, mp4, y4m, raw .yuv)",
        description=(
            "Enhance INPUT into OUTPUT. A photo gives a photo (the output type follows OUTPUT's suffix; "
            "PNG/TIFF keep 16 bit). A video is a folder of frames, an mp4, or YUV 4:2:0 as the camera delivers "
            "it (.y4m, or raw .yuv with --size); OUTPUT is then a folder (PNG frames), an .mp4, a .y4m or a "
            ".yuv. YUV in and out stays YUV end to end (1.5 bytes a pixel). The student runs its full-res path "
            "compiled with TVM (row bands, bounded memory); the teacher runs in PyTorch. Failed runs leave no "
            "partial output."))
    p.add_argument("input", type=Path, help="photo file, frame folder or video file")
    p.add_argument("output", type=Path, help="photo file, or for a video: a new folder or an .mp4")
    p.add_argument("--model", default="student", help="teacher, student (committed checkpoints) or a .safetensors path")
    p.add_argument("--data", default=None,
                   help="data folder; a relative INPUT that does not exist here is looked up inside it")
    p.add_argument("--pytorch", action="store_true", help="run the student in PyTorch instead of the compiled path")
    p.add_argument("--no-smoothing", action="store_true", help="video: do not smooth the effect over time")
    p.add_argument("--grid-momentum", type=float, default=None,
                   help="video: share of the past in the grid's moving average, in [0, 1) (default 0.7; higher is "
                        "steadier but slower to follow the scene: see the runtime bench's video_flicker sweep)")
    p.add_argument("--grid-every", type=int, default=1, metavar="N",
                   help="video: predict the grid on a key frame every N frames and hold it in between (default 1: "
                        "every frame); a scene cut makes a key frame at once. See docs/runtime.md for flicker and "
                        "time per N")
    p.add_argument("--cut-threshold", type=float, default=None, metavar="D",
                   help="video: colour-histogram distance between a frame's thumbnail and the last key frame's above "
                        "which it is a scene cut, in (0, 1] (default 0.25; 1 never cuts)")
    p.add_argument("--max-frames", type=int, default=None, help="video: stop after this many frames")
    p.add_argument("--fps", type=float, default=None,
                   help="video: frame rate of an mp4 or y4m output (default: a y4m input's, else 30)")
    p.add_argument("--size", default=None, help="raw .yuv input: WIDTHxHEIGHT of its frames (a y4m carries its own)")
    p.add_argument("--yuv-layout", default="nv12", choices=RAW_LAYOUTS,
                   help="raw .yuv input and output: nv12 (default), nv21 or planar i420")
    p.add_argument("--yuv-standard", default=None, choices=YUV_STANDARDS,
                   help="YUV matrix and range: bt601_full (the camera's preview/still buffers; default) or "
                        "bt709_limited (video recording); a y4m declaring limited range defaults to bt709_limited")
    p.add_argument("--slice", default="tent", choices=SLICE_FORMS,
                   help="compiled kernel: tent over all depth bins (SIMD CPUs; default) or two gathered taps")
    p.add_argument("--compute", default="float32", choices=COMPUTE_TYPES,
                   help="compiled kernel arithmetic: float32 (default) or float16 (where the unit has it)")
    p.add_argument("--band-rows", type=int, default=None, help="rows per band of the full-res path (memory vs. overhead)")
    p.set_defaults(func=run)


def resolve_input(path: Path, data: str | None) -> Path:
    if path.exists() or data is None or path.is_absolute():
        return path
    from ..data import resolve

    source = resolve(data)
    if source.root is not None and (source.root / path).exists():
        return source.root / path
    return path


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ..images import ReadAhead
    from ..yuv import parse_size
    from .media import check_output, is_video_source
    from .yuv_video import YuvFormat

    console = Console(stderr=True, soft_wrap=True)  # no hard wraps: one line per message
    src = resolve_input(args.input, args.data)
    if not src.exists():
        raise AicamError(f"{src}: input not found (a photo file, a frame folder or a video file)")
    if args.max_frames is not None and args.max_frames < 1:
        raise AicamError(f"--max-frames {args.max_frames}: must be at least 1")
    if args.fps is not None and not (args.fps > 0 and math.isfinite(args.fps)):  # also nan and inf
        raise AicamError(f"--fps {args.fps:g}: the output's frame rate must be a number above 0 (e.g. 30)")
    check_output(src, args.output)  # before the model loads: a refused output costs no work
    yuv = YuvFormat(parse_size(args.size) if args.size else None, args.yuv_layout, args.yuv_standard)
    if src.suffix.lower() == ".yuv" and yuv.size is None:
        raise AicamError(f"{src}: a raw .yuv file has no header; give its size, e.g. --size 1920x1080 (and "
                         "--yuv-layout nv21|i420 if it is not NV12)")
    # A photo decodes while torch and TVM load (on a 100 MP photo each takes seconds).
    read_ahead = None if is_video_source(src) else ReadAhead(src)

    from .enhance import Enhancer, enhance_photo, enhance_video
    from .grid_reuse import GridReuseConfig
    from .scene_cut import DEFAULT_CUT_THRESHOLD
    from .smoothing import SmoothingConfig

    reuse = GridReuseConfig(args.grid_every, DEFAULT_CUT_THRESHOLD if args.cut_threshold is None else args.cut_threshold)
    smoothing = SmoothingConfig.off() if args.no_smoothing else SmoothingConfig()
    if args.grid_momentum is not None and not args.no_smoothing:
        try:
            smoothing = replace(smoothing, grid_momentum=args.grid_momentum)
        except AicamError as err:
            raise AicamError(f"--grid-momentum: {err}") from None
    enhancer = Enhancer.for_model(args.model, use_compiled=not args.pytorch, slice=args.slice, compute=args.compute)
    if args.band_rows is not None:
        if args.band_rows < 1:
            raise AicamError(f"--band-rows {args.band_rows}: must be at least 1")
        enhancer.band_rows = args.band_rows
    for note in enhancer.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"model [bold]{args.model}[/] ({type(enhancer.model).__name__}); engine: {enhancer.engine}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    start = time.perf_counter()
    with Progress(*columns, console=console, transient=False) as progress:
        if is_video_source(src):
            from .enhance import count_frames

            total = count_frames(src, yuv)
            if args.max_frames is not None and total is not None:
                total = min(total, args.max_frames)
            task = progress.add_task(f"frames of {src.name}", total=total)
            video = enhance_video(enhancer, src, args.output, smoothing=smoothing, max_frames=args.max_frames,
                                  on_frame=lambda done: progress.update(task, completed=done), fps=args.fps, yuv=yuv,
                                  reuse=reuse)
            summary = f"{video.frames} frames"
            if video.grids.frames:
                summary += (f"; {video.grids.grids_predicted} grids predicted (a key frame every {reuse.grid_every}), "
                            f"{video.grids.cuts} scene cut{'' if video.grids.cuts == 1 else 's'} detected")
        else:
            def rows_task(total_rows: int):
                task = progress.add_task(f"rows of {src.name}", total=total_rows)
                return lambda rows: progress.advance(task, rows)

            w, h = enhance_photo(enhancer, src, args.output, progress=rows_task, photo=read_ahead.photo())
            summary = f"{w}x{h} ({w * h / 1e6:.1f} MP)"
    console.print(f"wrote {args.output}: {summary} in {time.perf_counter() - start:.2f} s")
    return 0
