"""Plots people would rather look at than read.

Figures are made with matplotlib's object API (``Figure`` drawn by the Agg canvas), not pyplot: no
backend is switched and no global figure state is touched, so importing ecogen changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ecogen.base import jsonl
from ecogen.rundir import RunDir
from ecogen.training.hooks import Hooks, LoopState, RunContext

QUALITY_KEYS = ("fid", "kid", "precision", "recall", "is")
LOSS_KEYS = ("loss_d", "loss_g", "loss", "recon", "kl")


def read_evals(run: RunDir) -> jsonl.Lines:
    """eval.jsonl's usable checks: a step, the Wh so far, and numbers where metrics stand."""
    return jsonl.read(run.evals, required=("step", "wh"), numbers=QUALITY_KEYS)


def read_log(run: RunDir) -> jsonl.Lines:
    return jsonl.read(run.log, required=("step",), numbers=LOSS_KEYS)


def quality_figure(evals: list[dict], title: str = "") -> Figure | None:
    """One panel per metric: value against Wh spent so far (log scale where values span decades)."""
    metrics = [k for k in QUALITY_KEYS if any(k in e for e in evals)]
    if not evals or not metrics:
        return None
    fig = Figure(figsize=(4 * len(metrics), 3.2))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    for ax, name in zip(axes[0], metrics):
        points = [(e["wh"], e[name]) for e in evals if name in e]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_xlabel("energy so far (Wh)")
        ax.set_ylabel(name)
        values = [p[1] for p in points]
        if name in ("fid",) and min(values) > 0 and max(values) / min(values) > 20:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle(title or "quality vs energy")
    fig.tight_layout()
    return fig


def quality_vs_energy(evals: list[dict], out: Path, title: str = "") -> Path | None:
    fig = quality_figure(evals, title)
    if fig is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)  # a bare Figure renders with Agg; nothing to close
    return out


class QualityPlot(Hooks):
    """At the end of training: the run's quality-vs-energy plot from its eval.jsonl."""

    writes = True

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        folder = run.run_dir
        quality_vs_energy(read_evals(folder).records, folder.quality_plot, str(folder.root))
