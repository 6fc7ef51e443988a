"""The figures of a run report, as PNG bytes: loss curves, quality against Wh, energy by phase, and FID
against Wh for several runs. matplotlib's object API only (no pyplot state)."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

from ecogen.report.plots import LOSS_KEYS, quality_figure


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def loss_curves(log: list[dict]) -> bytes | None:
    keys = [k for k in LOSS_KEYS if any(k in line for line in log)]
    if not keys:
        return None
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.subplots()
    for key in keys:
        points = [(line["step"], line[key]) for line in log if key in line]
        ax.plot([p[0] for p in points], [p[1] for p in points], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean over the log interval)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return png(fig)


def quality_against_wh(evals: list[dict]) -> bytes | None:
    fig = quality_figure(evals)
    return png(fig) if fig is not None else None


def energy_by_phase(phases: dict[str, tuple[float, float]]) -> bytes | None:
    """``phases``: name -> (Wh, gCO2)."""
    if not phases:
        return None
    names = list(phases)
    fig = Figure(figsize=(6.4, 0.45 * len(names) + 1.2))
    ax = fig.subplots()
    ax.barh(names, [phases[n][0] for n in names], color="tab:green")
    ax.set_xlabel("Wh")
    ax.invert_yaxis()
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return png(fig)


def fid_against_wh(curves: dict[str, list[tuple[float, float]]]) -> bytes | None:
    """One line per run: (Wh, FID) points."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for name, points in curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=name)
    ax.set_xlabel("energy so far (Wh)")
    ax.set_ylabel("FID")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return png(fig)
