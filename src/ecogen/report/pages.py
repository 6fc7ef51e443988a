"""Self-contained HTML pages a person reads: one run's report, and several runs compared.

Every image is inline (a PNG data URI), so the page can be mailed or archived as one file. Jinja2 with
autoescaping renders them: every string from a run (paths, config values, rater names) is escaped.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ecogen._version import __version__
from ecogen.base.atomic import write_text
from ecogen.config import load_yaml
from ecogen.energy import record as records
from ecogen.errors import EcogenError
from ecogen.report import figures
from ecogen.report.equivalents import SOURCE, equivalents
from ecogen.report.plots import read_evals, read_log
from ecogen.report.tables import si
from ecogen.rundir import RunDir

GRIDS_SHOWN = 6  # sample grids over training, evenly spaced, plus the last one


def _environment() -> Environment:
    return Environment(loader=PackageLoader("ecogen.report", "templates"), autoescape=select_autoescape(["html"]))


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data else None


def _record(run: RunDir) -> records.RunRecord:
    run.require_run()
    if not run.record.is_file():
        raise EcogenError(f"{run.root} has no run.json yet: nothing to report")
    return records.read(run.record)


def _grids(run: RunDir) -> list[dict[str, str]]:
    steps = sorted(run.samples.glob("step_*.png"))
    if len(steps) > GRIDS_SHOWN:
        steps = [steps[round(i * (len(steps) - 1) / (GRIDS_SHOWN - 1))] for i in range(GRIDS_SHOWN)]
    chosen = [(p, f"step {int(p.stem.split('_')[1]):,}") for p in steps]
    if (run.samples / "latest.png").is_file():
        chosen.append((run.samples / "latest.png", "at the end"))
    return [{"data": base64.b64encode(p.read_bytes()).decode(), "caption": c} for p, c in chosen]


def _copies(run: RunDir) -> dict | None:
    """The last near-copy check (``ecogen eval``), with its closest pairs, for the page."""
    try:
        check = json.loads(run.copies.read_text())
        share, ratio = float(check["share"]), float(check["ratio"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    held = check.get("heldout_share")
    return {
        "text": f"{share:.2%} of {check.get('n_fake', '?')} generated images are near-copies of a training image "
                f"(nearest closer than {ratio:.2f} x the second-nearest, {check.get('extractor', '?')} features)"
                + (f"; held-out real images: {held:.2%}" if held is not None else ""),
        "pairs": base64.b64encode(run.copies_grid.read_bytes()).decode() if run.copies_grid.is_file() else None,
    }


def _best(evals: list[dict]) -> dict | None:
    with_fid = [e for e in evals if "fid" in e]
    return min(with_fid, key=lambda e: e["fid"]) if with_fid else None


def studies_of(run: Path) -> list[Path]:
    path = RunDir(run).studies
    if not path.is_file():
        return []
    try:
        return [Path(p) for p in json.loads(path.read_text())]
    except (ValueError, TypeError):
        return []


def run_ratings(run: Path) -> list[tuple[str, str, str, str, str, int, int]]:
    """This run's human error rate in every study that used it and still exists."""
    from ecogen.rating import load_study, study_results

    rows = []
    for folder in studies_of(run):
        if not (folder / "study.json").is_file():
            continue
        labels = {r.label for r in load_study(folder).runs if Path(r.path).resolve() == run.resolve()}
        for score in study_results(folder).runs:
            if score.run in labels and score.error_rate is not None:
                rows.append((str(folder), f"{score.error_rate:.1%}", f"{score.ci_low:.1%} - {score.ci_high:.1%}",
                             f"{score.false_real:.1%}", f"{score.false_fake:.1%}", score.raters, score.answers))
    return rows


def run_report(run_path: str | Path) -> str:
    run = RunDir(Path(run_path))
    record = _record(run)
    config = load_yaml(run.config) if run.config.is_file() else {}
    log_lines, eval_lines = read_log(run), read_evals(run)
    log, evals = log_lines.records, eval_lines.records
    best = _best(evals)
    model = config.get("model", {})
    summary = [
        ("recipe", config.get("recipe") or "none"),
        ("model", f"{model.get('name', '?')}, width x{model.get('width_mult', '?')}, latent {model.get('latent_dim', '?')}"
                  + (", conditional" if model.get("conditional") else "")),
        ("data", f"{config.get('data', {}).get('source', '?')} at {config.get('data', {}).get('image_size', '?')} px"),
        ("steps", f"{record.step:,} ({record.train_images:,} training images)"),
        ("stopped because", record.stop_reason),
        ("sessions", record.sessions),
        ("started / updated", f"{record.created} / {record.updated}"),
    ]
    phases = [(name, f"{p.seconds:.1f}", f"{p.wh:.4f}", f"{p.gco2:.4f}", f"{p.flops / 1e9:,.1f}")
              for name, p in record.phases.items()]
    phases.append(("total", f"{record.total.seconds:.1f}", f"{record.total.wh:.4f}", f"{record.total.gco2:.4f}",
                   f"{record.total.flops / 1e9:,.1f}"))
    carbon = record.carbon
    sensors = ", ".join(s.get("name", "?") for s in record.sensors)
    page = _environment().get_template("report.html").render(
        title=f"ecogen report: {run.root}", run=str(run.root), summary=summary,
        plots={"loss": _b64(figures.loss_curves(log)), "quality": _b64(figures.quality_against_wh(evals)),
               "energy": _b64(figures.energy_by_phase({n: (p.wh, p.gco2) for n, p in record.phases.items()}))},
        checks=len(evals),
        damaged=[n for n in (log_lines.note("log.jsonl"), eval_lines.note("eval.jsonl")) if n],
        best=f"FID {best['fid']:.2f} at step {best['step']:,} after {best['wh']:.4f} Wh" if best else None,
        estimated=record.estimated, sensors=sensors, phases=phases,
        bill=(f"{si(record.total.wh, 'Wh')} and {si(record.total.gco2, 'g')} CO2eq in {record.total.seconds:.0f} s"
              + (f", {si(record.wh_per_train_image, 'Wh')} per training image" if record.wh_per_train_image else "")
              + (" (estimated)" if record.estimated else "")),
        equivalents=[{"what": e.what, "amount": f"{e.amount:,.2f} {e.unit}", "factor": e.factor}
                     for e in equivalents(record.total.gco2)],
        equivalent_source=SOURCE,
        grid=f"{carbon.g_per_kwh:g} gCO2eq/kWh ({carbon.source}{', ' + carbon.country if carbon.country else ''}), PUE {carbon.pue:g}",
        grids=_grids(run), copies=_copies(run), ratings=run_ratings(run.root),
        machine=[(k, ", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in record.machine.items()
                 if not isinstance(v, dict)],
        version=__version__, made=time.strftime("%Y-%m-%d %H:%M"),
    )
    return page


def write_run_report(run: str | Path, out: str | Path | None = None) -> Path:
    path = Path(out) if out else RunDir(Path(run)).report
    write_text(path, run_report(run))
    return path


def compare_page(runs: list[str | Path]) -> str:
    if not runs:
        raise EcogenError("give at least one run to compare")
    rows: list[list[Any]] = []
    curves: dict[str, list[tuple[float, float]]] = {}
    estimated, damaged = False, []
    for path in runs:
        run = RunDir(Path(path))
        record = _record(run)
        config = load_yaml(run.config) if run.config.is_file() else {}
        lines = read_evals(run)
        evals = lines.records
        if lines.skipped:
            damaged.append(f"{path}: {lines.note('eval.jsonl')}")
        best = _best(evals)
        kids = [e for e in evals if "kid" in e]
        best_kid = min(kids, key=lambda e: e["kid"]) if kids else None
        ratings = run_ratings(run.root)
        estimated |= record.estimated
        rows.append([str(path), config.get("recipe") or "none", f"{record.step:,}", f"{record.total.wh:.4f}",
                     f"{record.total.gco2:.4f}", f"{best['fid']:.2f}" if best else "-",
                     f"{best_kid['kid']:.4f}" if best_kid else "-", f"{best['wh']:.4f}" if best else "-",
                     ratings[0][1] if ratings else "-"])
        curves[str(path)] = [(e["wh"], e["fid"]) for e in evals if "fid" in e]
    return _environment().get_template("compare.html").render(
        title="ecogen: runs compared", rows=rows, estimated=estimated, damaged=damaged,
        columns=["run", "recipe", "steps", "Wh", "gCO2eq", "best FID", "best KID", "Wh at best FID",
                 "human error rate"],
        plot=_b64(figures.fid_against_wh(curves)), version=__version__, made=time.strftime("%Y-%m-%d %H:%M"))


def write_compare(runs: list[str | Path], out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise EcogenError(f"--out must end in .html (got {out})")
    write_text(out, compare_page(runs))
    return out
