"""``ecogen energy``, ``receipt`` and ``calibrate``: the bills, and the peak they are measured against."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ecogen.cli.consoles import notice, out as console
from ecogen.base.lazy import LazyModule
from ecogen.report.tables import bill_table, compare_table, ranks_table, receipt_table, run_summary

api = LazyModule("ecogen.api")


def register(app: typer.Typer) -> None:
    app.command()(energy)
    app.command()(receipt)
    app.command()(calibrate)


def energy(
    runs: list[Path] = typer.Argument(..., help="Run folder(s); several are shown side by side."),
    as_json: bool = typer.Option(False, "--json", help="Print run.json's content (a list for several runs)."),
) -> None:
    """The run's energy bill, by phase; or several runs' bills side by side."""
    records = {str(run): api.bill(run) for run in runs}
    if as_json:
        dumped = [r.model_dump(mode="json") for r in records.values()]
        print(json.dumps(dumped[0] if len(dumped) == 1 else dumped, indent=2))
        return
    if len(records) > 1:
        console.print(compare_table(records))
        return
    (name, record), = records.items()
    console.print(bill_table(record, f"energy bill of {name}"))
    if record.ranks:
        console.print(ranks_table(record))
    for line in run_summary(record):
        console.print(line)


def receipt(
    image: Path = typer.Argument(..., help="A PNG (or JPEG) written by ecogen."),
    as_json: bool = typer.Option(False, "--json", help="Print the receipt as JSON."),
) -> None:
    """Read back the receipt stored in a generated image."""
    data = api.read_receipt(image)
    if as_json:
        print(json.dumps(data))
        return
    console.print(receipt_table(data, f"receipt of {image}"))



def calibrate(
    device: str = typer.Option("auto"),
    seconds: float = typer.Option(1.5, help="Measuring time per precision."),
    force: bool = typer.Option(False, help="Measure again even when a measurement is cached."),
) -> None:
    """This machine's peak FLOP/s (the best of matrix products and convolutions), measured once; runs then
    report utilisation against the peak of their own precision."""
    from ecogen.energy.calibrate import cache_file

    entry = api.calibrate(device, seconds, force)
    by_workload = entry.get("by_workload", {})
    for dtype, peak in entry["peak_flops"].items():
        parts = ", ".join(f"{name} {rate / 1e9:,.1f}" for name, rate in by_workload.get(dtype, {}).items())
        line = f"{entry['device']} {dtype}: {peak / 1e9:,.1f} GFLOP/s"
        console.print(f"{line} (best of {parts})" if parts else line)
    if entry["cached"]:
        console.print(f"cached in {cache_file()} (measure again with --force)")
    elif entry["busy"]:
        notice(f"warning: the machine was busy (load {entry['load']}): this measurement is too low and was not "
               f"cached; run again when the machine is quiet")
    else:
        console.print(f"cached in {cache_file()}")
