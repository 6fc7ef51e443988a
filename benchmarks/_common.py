"""Helpers shared by the benchmark scripts: a results folder, a JSON writer, and pieces kept across starts."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path


from ecogen.base import atomic
from ecogen.energy.machine import describe_machine

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, payload: dict, machine: dict | None = None) -> Path:
    """The result as JSON, stamped with the machine that measured it: this one unless told (a table
    rebuilt from restored pieces keeps the machine they ran on)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "machine": machine or describe_machine(), **payload}
    atomic.write_json(path, payload)  # a table the docs quote is never left half-written
    return path


def piece(path: Path, label: str, make: Callable[[], dict], line: Callable[[dict], str]) -> dict:
    """One finished piece of a long benchmark (a run, a seed): read back when an earlier start wrote it,
    else made, written atomically and summed up in one printed line; so a benchmark can run in pieces."""
    if path.exists():
        print(f"{label}: done before ({path.name}), kept", flush=True)
        return json.loads(path.read_text())
    result = make()
    atomic.write_json(path, result)
    print(f"{label}: {line(result)}", flush=True)
    return result


def pieces(folder: Path) -> list[dict]:
    """Every finished piece in ``folder`` (NAME_seedK.json), in name order."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*_seed*.json"))]


def restore_pieces(folder: Path, result: Path, name_of: Callable[[dict], str]) -> int:
    """Write each run of a committed result back as a piece where none is kept (piece folders are not
    committed), so a fresh clone can rebuild that table or add a seed to it without rerunning the rest."""
    if not result.exists():
        raise SystemExit(f"error: --restore needs {result}, which does not exist")
    restored, committed = 0, json.loads(result.read_text())
    for run in committed["runs"]:
        try:
            path = folder / f"{name_of(run)}.json"
        except KeyError as missing:
            raise SystemExit(f"error: {result.name} predates --restore (its runs lack {missing})") from None
        if not path.exists():  # each piece keeps the machine it ran on, as the result recorded it
            atomic.write_json(path, {"machine": committed["machine"], **run})
            restored += 1
    return restored


def pieces_machine(runs: list[dict]) -> dict:
    """The one machine every piece ran on (a piece that names none ran here); several get a warning,
    since timings and energy from different machines do not compare."""
    here = describe_machine()
    machines = {json.dumps(r.get("machine", here), sort_keys=True) for r in runs} or {json.dumps(here)}
    if len(machines) > 1:
        print(f"warning: the pieces ran on {len(machines)} machines; their timings do not compare", file=sys.stderr)
        return {"several": [json.loads(m) for m in sorted(machines)]}
    return json.loads(machines.pop())


def machine_load() -> dict:
    """The 1-minute load average at the start, with a warning when the machine is busy: competing
    processes make torch's threads oversubscribe, and timings and CPU-time energy then mislead."""
    from ecogen.energy.machine import contention  # the one busy-machine rule, as run.json records it

    state = contention()
    load, cores, busy = state["load_1min"], state["usable_cores"], bool(state["busy"])
    if busy:
        print(f"warning: the machine is busy (load {load:.2f} on {cores} cores): timings and energy "
              f"estimates measured now are unreliable", file=sys.stderr)
    return {"load_1min": load, "cores": cores, "busy": busy}


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A Rich table: the first column left-aligned, the numbers right-aligned."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


__all__ = ["RESULTS", "machine_load", "print_table", "write_result"]
