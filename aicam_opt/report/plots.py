"""Pareto plots: a static PNG (matplotlib) and an interactive, self-contained HTML (plotly)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI machines
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from ..atomic import atomic_path, write_text  # noqa: E402


def _axes(space_latency: str) -> tuple[str, str]:
    return f"latency_ms.{space_latency}", "quality.psnr_drop_vs_student"


def pareto_png(trials: pd.DataFrame, front: pd.DataFrame, winners: dict[str, int | None], latency_workload: str,
               budget_ms: float | None, student_ms: float, tolerance_db: float, path: Path, title: str) -> None:
    x, y = _axes(latency_workload)
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    done = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    if len(done):
        for fidelity, marker in (("screen", "x"), ("full", "o")):
            part = done[done["fidelity"] == fidelity]
            colours = part.get("quality.deltae_vs_student")
            sc = ax.scatter(part[x], part[y], c=colours, cmap="viridis", marker=marker, s=36,
                            label=f"{fidelity} fidelity trials", vmin=done["quality.deltae_vs_student"].min(),
                            vmax=done["quality.deltae_vs_student"].max())
        fig.colorbar(sc, ax=ax, label="ΔE2000 vs student")
    if len(front):
        ordered = front.sort_values(x)
        ax.step(ordered[x], ordered[y].cummin(), where="post", color="crimson", lw=1.2, label="front (latency vs PSNR drop)")
    roles_of: dict[int, list[str]] = {}
    for role, number in winners.items():
        if number is not None:
            roles_of.setdefault(number, []).append(role)
    for number, roles in roles_of.items():  # one label per trial: a trial can win several roles
        if len(done) and (done["trial"] == number).any():
            row = done[done["trial"] == number].iloc[0]
            ax.annotate(f"{' + '.join(roles)} (#{number})", (row[x], row[y]), textcoords="offset points",
                        xytext=(6, 6), fontsize=8)
    ax.axvline(student_ms, color="grey", ls=":", label=f"uncompressed student {student_ms:.0f} ms")
    if budget_ms is not None:
        ax.axvline(budget_ms, color="orange", ls="--", label=f"budget {budget_ms:g} ms")
    ax.axhline(tolerance_db, color="teal", ls="--", lw=0.8, label=f"{tolerance_db:g} dB tolerance")
    ax.set_xlabel(f"predicted {latency_workload} latency (ms)")
    ax.set_ylabel("PSNR drop vs uncompressed student (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def pareto_figure(trials: pd.DataFrame, latency_workload: str, title: str) -> go.Figure:
    x, y = _axes(latency_workload)
    fig = go.Figure()
    done = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    params = [c for c in trials.columns if c.startswith("param.")]
    for fidelity, symbol in (("screen", "x"), ("full", "circle")):
        part = done[done["fidelity"] == fidelity] if len(done) else done
        if not len(part):
            continue
        hover = part.apply(lambda r: "<br>".join([f"trial {r['trial']} ({fidelity}, feasible={r['feasible']})"] +
                                                 [f"{c[6:]}={r[c]}" for c in params]), axis=1)
        fig.add_trace(go.Scatter(x=part[x], y=part[y], mode="markers", name=f"{fidelity} fidelity", text=hover,
                                 hovertemplate="%{text}<br>latency %{x:.1f} ms<br>PSNR drop %{y:.3f} dB<extra></extra>",
                                 marker={"symbol": symbol, "size": 9, "color": part["quality.deltae_vs_student"],
                                         "colorscale": "Viridis", "showscale": fidelity == "full",
                                         "colorbar": {"title": "ΔE2000"}}))
    fig.update_layout(title=title, xaxis_title=f"predicted {latency_workload} latency (ms)",
                      yaxis_title="PSNR drop vs student (dB)", template="plotly_white")
    return fig


def pareto_html(fig: go.Figure, path: Path) -> None:
    """Self-contained (plotly.js inlined): opens without network access."""
    write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))
