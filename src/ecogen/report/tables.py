"""Rich tables for results and bills (the CLI prints them; --json prints the same data)."""

from __future__ import annotations

from typing import Any

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # types only: the CLI imports these tables before it needs torch
    from ecogen.energy.record import RunRecord
    from ecogen.metrics.evaluate import EvalResult


_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def si(value: float | None, unit: str = "") -> str:
    """3 significant digits with an SI prefix: si(0.00078, "Wh") == "780µWh"."""
    if value is None:
        return "-"
    if value == 0:
        return f"0{unit}"
    for factor, prefix in _PREFIXES:
        if abs(value) >= factor:
            return f"{value / factor:.3g}{prefix}{unit}"
    return f"{value:.3g}{unit}"


def bill_table(record: RunRecord, title: str) -> Table:
    """Per-phase Wh, gCO2, seconds, FLOPs and utilisation, with the total as the last row."""
    kind = "estimated" if record.estimated else "measured"
    table = Table(title=f"{title}  ({kind}: {', '.join(s['name'] for s in record.sensors) or 'no sensor'})")
    for col in ("phase", "seconds", "energy", "share", "CO2eq", "FLOPs", "FLOP/s", "of peak"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    total_wh = record.total.wh or 1e-30
    rows = sorted(record.phases.items(), key=lambda kv: -kv[1].wh) + [("total", record.total)]
    for name, rec in rows:
        util = f"{rec.utilization:.1%}" if rec.utilization is not None else "-"
        table.add_row(
            Text(name, style="bold") if name == "total" else name,
            f"{rec.seconds:.2f}",
            si(rec.wh, "Wh"),
            f"{rec.wh / total_wh:.1%}",
            si(rec.gco2, "g"),
            si(rec.flops) if rec.flops else "-",
            si(rec.flops_per_s) if rec.flops_per_s else "-",
            util,
        )
    return table


def ranks_table(record: RunRecord) -> Table:
    """A run trained by several processes: each rank's own bill, then their sum (the run's total)."""
    table = Table(title=f"{record.world_size} processes, each metering its own (share of its) devices")
    for col in ("rank", "host", "device", "seconds", "energy", "share", "CO2eq", "FLOPs"):
        table.add_column(col, justify="left" if col in ("host", "device") else "right")
    total_wh = record.total.wh or 1e-30
    for r in record.ranks or []:
        table.add_row(str(r.rank), r.host, r.device, f"{r.seconds:.2f}", si(r.wh, "Wh"), f"{r.wh / total_wh:.1%}",
                      si(r.gco2, "g"), si(r.flops) if r.flops else "-")
    table.add_row(Text("sum", style="bold"), "", "", f"{record.total.seconds:.2f} (wall)", si(record.total.wh, "Wh"), "100.0%",
                  si(record.total.gco2, "g"), si(record.total.flops) if record.total.flops else "-")
    return table


def _grid_source(carbon: Any) -> str:
    if carbon.source.startswith("user"):
        return "user-given"
    return f"{carbon.country}; {carbon.source}" if carbon.country else carbon.source


def compare_table(records: dict[str, RunRecord]) -> Table:
    """Several runs' bills side by side: one column per run."""
    table = Table(title="energy bills side by side")
    table.add_column("", justify="left")
    for name in records:
        table.add_column(name, justify="right")
    rows = {
        "stop": lambda r: f"{r.stop_reason} @ {r.step}",
        "energy": lambda r: si(r.total.wh, "Wh") + (" (est.)" if r.estimated else ""),
        "CO2eq": lambda r: si(r.total.gco2, "g"),
        "seconds": lambda r: f"{r.total.seconds:.1f}",
        "FLOPs": lambda r: si(r.total.flops) if r.total.flops else "-",
        "per training image": lambda r: si(r.wh_per_train_image, "Wh") if r.wh_per_train_image else "-",
        "best check": lambda r: _best(r),
    }
    for label, cell in rows.items():
        table.add_row(label, *[cell(r) for r in records.values()])
    return table


def _best(record: RunRecord) -> str:
    best = (record.quality or {}).get("best") or {}
    metric = (record.quality or {}).get("metric")
    if not best or not metric or metric not in best:
        return "-"
    return f"{metric} {best[metric]:.3g} at {si(best.get('wh', 0.0), 'Wh')}"


def receipt_table(data: dict[str, Any], title: str) -> Table:
    """A receipt as key / value rows, numbers rounded, nothing cut."""
    table = Table(title=title, show_header=False)
    table.add_column("field", justify="left")
    table.add_column("value", justify="left", overflow="fold")
    for key, value in data.items():
        if isinstance(value, float):
            text = f"{value:.6g}"
        elif isinstance(value, list):
            text = ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in value)
        else:
            text = "-" if value is None else str(value)
        table.add_row(key, text)
    return table


def run_summary(record: RunRecord) -> list[str]:
    carbon = record.carbon
    lines = [
        f"stopped: {record.stop_reason} at step {record.step} after {record.sessions} session(s)",
        f"grid: {carbon.g_per_kwh:.1f} gCO2eq/kWh x PUE {carbon.pue:g} ({_grid_source(carbon)})",
    ]
    if record.wh_per_train_image is not None:
        lines.append(f"per training image: {si(record.wh_per_train_image, 'Wh')}")
    if record.peak_flops is None:
        lines.append("utilisation: run 'ecogen calibrate' once to measure this machine's peak FLOP/s")
    quality = record.quality or {}
    if quality.get("metric") and quality.get("best"):
        best, metric = quality["best"], quality["metric"]
        target = quality.get("target")
        reached = ("target reached" if quality.get("reached") else
                   "no target set" if target is None else f"target {target:g} not reached")
        lines.append(f"best check: {metric} {best[metric]:.4g} at step {best.get('step')} after "
                     f"{si(best.get('wh', 0.0), 'Wh')} ({reached}); sample it with --checkpoint best")
    lines += plan_against_actual(record)
    busy = record.machine.get("contention") or {}
    if busy.get("busy"):
        lines.append(f"warning: the machine was busy (load {busy['load_1min']} on {busy['usable_cores']} cores, "
                     f"steal {busy['steal_share']}): CPU-time energy estimates count time lost to other "
                     f"processes; the FLOPs ({si(record.total.flops)}FLOPs) do not depend on load")
    lines += [f"note: {n}" for n in record.notices]
    return lines


def plan_against_actual(record: RunRecord) -> list[str]:
    """The prediction made before the run, against what the run used (and its schedule, if any)."""
    plan = record.plan
    if not plan:
        return []
    p = plan["prediction"]
    lines = []
    for label, key, actual, fmt in (("time", "seconds", record.total.seconds, lambda v: f"{v:.1f} s"),
                                    ("energy", "wh", record.total.wh, lambda v: si(v, "Wh")),
                                    ("CO2eq", "gco2", record.total.gco2, lambda v: si(v, "g"))):
        off = f"{actual / p[key] - 1:+.0%}" if p[key] else "-"
        inside = p[f"{key}_low"] <= actual <= p[f"{key}_high"]
        lines.append(f"predicted {label}: {fmt(p[key])} ({fmt(p[key + '_low'])} to {fmt(p[key + '_high'])}); actual "
                     f"{fmt(actual)} ({off}, {'inside' if inside else 'outside'} the range)")
    if record.step < p["steps"]:
        lines.append(f"note: the run stopped at step {record.step} of the {p['steps']} the prediction is for")
    if plan.get("start"):
        lines.append(f"schedule: started in the window from {plan['start']} at {plan['window_g_per_kwh']:.0f} "
                     f"g/kWh (forecast {plan['forecast']}); predicted saving against starting at once: "
                     f"{si(plan['saving_g'], 'g')} ({plan['saving_share']:.0%})")
    return lines


def eval_table(result: EvalResult, title: str) -> Table:
    """Each metric for the generated set, next to the real-vs-real floor and a noise generator."""
    against = ", all images: the small-set protocol" if result.protocol == "all" else ""
    table = Table(title=f"quality of {title} ({result.n_fake} generated vs {result.n_real} real{against}, "
                        f"{result.extractor} features)")
    for col in ("metric", "generated", "real vs real (floor)", "noise (bad)"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, value in result.metrics.items():
        floor, noise = result.real_vs_real.get(name), result.noise.get(name)
        table.add_row(name, f"{value:.4g}", "-" if floor is None else f"{floor:.4g}",
                      "-" if noise is None else f"{noise:.4g}")
    for name, value in result.extra.items():
        table.add_row(name, f"{value:.4g}", "-", "-")
    if result.copies is not None:
        c = result.copies
        held = c["heldout_share"]
        table.add_row("near-copies", f"{c['share']:.2%}", "-" if held is None else f"{held:.2%} (held-out)", "-")
        table.add_row("", Text(f"nearest training image closer than {c['ratio']:.2f} x the second-nearest, "
                               f"{c['n_train']} training images", style="dim"), "", "")
    for name, reason in result.unavailable.items():
        table.add_row(name, "unavailable", "-", "-")
        table.add_row("", Text(reason, style="dim"), "", "")
    energy = result.energy
    if energy:
        kind = "estimated" if energy["estimated"] else "measured"
        table.caption = (f"evaluation: {si(energy['wh'], 'Wh')}, {si(energy['gco2'], 'g')}CO2eq in {energy['seconds']:.1f} s"
                         f" ({kind}); real features {'from cache' if result.real_cached else 'extracted'}; "
                         f"preprocessing: {result.fit_method}")
    return table
