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


EXCLUDED = "excluded by a constraint (not a candidate)"


def _complete(trials: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candidates, excluded): the complete trials that meet every constraint, and those that broke one."""
    if not len(trials):
        return trials, trials
    done = trials[trials["state"] == "COMPLETE"]
    excluded = done["excluded_by"].fillna("").astype(bool) if "excluded_by" in done else done["trial"] < 0
    return done[~excluded], done[excluded]


def _winner_roles(winners: dict[str, int | None]) -> dict[int, list[str]]:
    """Trial -> the roles it won (a trial can win several)."""
    roles_of: dict[int, list[str]] = {}
    for role, number in winners.items():
        if number is not None:
            roles_of.setdefault(number, []).append(role)
    return roles_of


def pareto_png(trials: pd.DataFrame, front: pd.DataFrame, winners: dict[str, int | None], latency_workload: str,
               budget_ms: float | None, student_ms: float, tolerance_db: float, path: Path, title: str) -> None:
    x, y = _axes(latency_workload)
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    done, excluded = _complete(trials)
    if len(done):
        for fidelity, marker in (("screen", "x"), ("full", "o")):
            part = done[done["fidelity"] == fidelity]
            colours = part.get("quality.deltae_vs_student")
            sc = ax.scatter(part[x], part[y], c=colours, cmap="viridis", marker=marker, s=36,
                            label=f"{fidelity} fidelity trials", vmin=done["quality.deltae_vs_student"].min(),
                            vmax=done["quality.deltae_vs_student"].max())
        fig.colorbar(sc, ax=ax, label="ΔE2000 vs student")
    if len(excluded):
        ax.scatter(excluded[x], excluded[y], facecolors="none", edgecolors="grey", marker="o", s=36,
                   label=EXCLUDED)
        for _, row in excluded.iterrows():  # a PNG has no hover: the reason beside the point
            ax.annotate(f"#{row['trial']}: {row['excluded_by'].split(' by ')[0]}", (row[x], row[y]),
                        textcoords="offset points", xytext=(5, -9), fontsize=6, color="grey")
    if len(front):
        ordered = front.sort_values(x)
        ax.step(ordered[x], ordered[y].cummin(), where="post", color="crimson", lw=1.2, label="front (latency vs PSNR drop)")
    complete = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    for number, roles in _winner_roles(winners).items():
        if len(complete) and (complete["trial"] == number).any():
            row = complete[complete["trial"] == number].iloc[0]
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


def pareto_figure(trials: pd.DataFrame, front: pd.DataFrame, winners: dict[str, int | None], latency_workload: str,
                  budget_ms: float | None, student_ms: float, tolerance_db: float, title: str) -> go.Figure:
    """The interactive front: trials (hover: parameters), those excluded by a constraint (hover: why), the
    front line, the winners, the latency budget, the quality tolerance and the uncompressed student."""
    x, y = _axes(latency_workload)
    fig = go.Figure()
    done, excluded = _complete(trials)
    params = [c for c in trials.columns if c.startswith("param.")]

    def hover(frame: pd.DataFrame, label: str) -> pd.Series:
        return frame.apply(lambda r: "<br>".join([f"trial {r['trial']} ({r['fidelity']}{label(r)})"] +
                                                 [f"{c[6:]}={r[c]}" for c in params]), axis=1)

    template = "%{text}<br>latency %{x:.1f} ms<br>PSNR drop %{y:.3f} dB<extra></extra>"
    for fidelity, symbol in (("screen", "x"), ("full", "circle")):
        part = done[done["fidelity"] == fidelity] if len(done) else done
        if not len(part):
            continue
        fig.add_trace(go.Scatter(x=part[x], y=part[y], mode="markers", name=f"{fidelity} fidelity",
                                 text=hover(part, lambda r: ""), hovertemplate=template,
                                 marker={"symbol": symbol, "size": 9, "color": part["quality.deltae_vs_student"],
                                         "colorscale": "Viridis", "showscale": fidelity == "full",
                                         "colorbar": {"title": "ΔE2000"}}))
    if len(excluded):
        fig.add_trace(go.Scatter(x=excluded[x], y=excluded[y], mode="markers", name=EXCLUDED,
                                 text=hover(excluded, lambda r: f"; excluded: {r['excluded_by']}"),
                                 hovertemplate=template,
                                 marker={"symbol": "circle-open", "size": 9, "color": "grey"}))
    if len(front):
        ordered = front.sort_values(x)
        fig.add_trace(go.Scatter(x=ordered[x], y=ordered[y].cummin(), mode="lines", line_shape="hv",
                                 name="front (latency vs PSNR drop)", line={"color": "crimson", "width": 1.5},
                                 hoverinfo="skip"))
    complete = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    won = [(n, roles) for n, roles in _winner_roles(winners).items()
           if len(complete) and (complete["trial"] == n).any()]
    if won:
        rows = [complete[complete["trial"] == n].iloc[0] for n, _ in won]
        labels = [f"{' + '.join(roles)} (#{n})" for n, roles in won]
        fig.add_trace(go.Scatter(x=[r[x] for r in rows], y=[r[y] for r in rows], mode="markers+text", name="winners",
                                 text=labels, textposition="top right", hovertemplate=template,
                                 marker={"symbol": "star", "size": 14, "color": "crimson"}))
    fig.add_trace(go.Scatter(x=[student_ms], y=[0.0], mode="markers", name=f"uncompressed student {student_ms:.0f} ms",
                             hovertemplate="uncompressed student<br>latency %{x:.1f} ms<extra></extra>",
                             marker={"symbol": "diamond", "size": 11, "color": "black"}))
    values = pd.concat([done[y], excluded[y]]) if len(done) or len(excluded) else pd.Series([0.0])
    low, high = min(0.0, float(values.min())), max(tolerance_db, float(values.max()))
    if budget_ms is not None:
        fig.add_trace(go.Scatter(x=[budget_ms, budget_ms], y=[low, high], mode="lines", name=f"budget {budget_ms:g} ms",
                                 line={"color": "orange", "dash": "dash"}, hoverinfo="name"))
    xs = pd.concat([done[x], excluded[x], pd.Series([student_ms])]) if len(done) or len(excluded) \
        else pd.Series([student_ms])
    fig.add_trace(go.Scatter(x=[float(xs.min()), float(xs.max())], y=[tolerance_db, tolerance_db], mode="lines",
                             name=f"{tolerance_db:g} dB tolerance", line={"color": "teal", "dash": "dash", "width": 1},
                             hoverinfo="name"))
    fig.update_layout(title=title, xaxis_title=f"predicted {latency_workload} latency (ms)",
                      yaxis_title="PSNR drop vs student (dB)", template="plotly_white")
    return fig


def pareto_html(fig: go.Figure, path: Path) -> None:
    """Self-contained (plotly.js inlined): opens without network access."""
    write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))
