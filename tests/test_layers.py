"""The house is walked one way: each module imports only from its own layer or the layers below it
(docs/architecture.md). A new upward import fails here, naming the file and the import."""

import ast
from pathlib import Path

import ecogen

LAYERS = [
    {"_version", "errors", "base", "registry", "catalog", "lazy", "atomic", "cachedir", "config", "device", "checkpoint",
     "progress", "images"},
    {"data", "rundir"},
    {"models"},
    {"energy"},
    {"metrics"},
    {"training"},
    {"generation", "transforms", "compose"},
    {"report", "rating"},
    {"recipes", "resolve", "planning", "session", "api", "cli", "__init__", "__main__"},
]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}
ROOT = Path(ecogen.__file__).parent


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ecogen":
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("ecogen.")}
    return found


def test_every_module_has_a_layer():
    tops = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in ROOT.rglob("*.py")}
    assert tops <= set(LEVEL), f"give these a layer: {sorted(tops - set(LEVEL))}"


def test_no_module_imports_upward():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        top = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for name in _imports(path) - {top}:
            if LEVEL[name] > LEVEL[top]:
                upward.append(f"{path.relative_to(ROOT)} imports ecogen.{name}")
    assert not upward, "\n".join(upward)


def test_importing_ecogen_changes_no_global_state():
    import subprocess
    import sys

    code = ("import torch; threads = torch.get_num_threads(); "
            "state = torch.random.get_rng_state(); import ecogen.cli, ecogen.api; "
            "assert 'matplotlib.pyplot' not in __import__('sys').modules; "
            "assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
