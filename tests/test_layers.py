"""The house is walked one way: each module imports only from its own layer or the layers below it
(docs/architecture.md). A new upward import fails here, naming the file and the import."""

import ast
from pathlib import Path

import ecogen

LAYERS = [
    {"_version", "errors", "base", "registry", "config", "checkpoint"},
    {"data", "rundir"},
    {"models"},
    {"energy"},
    {"metrics"},
    {"training"},
    {"generation", "transforms", "compose"},
    {"report", "rating"},
    {"session", "api", "cli", "__init__", "__main__"},
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


def _module_name(path: Path) -> str:
    parts = ("ecogen", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Every ecogen module and the ecogen modules it imports, anywhere in its file (type-checking and
    function-level imports too: a cycle hidden in a function is still a cycle of concepts)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                base = node.module if node.level == 0 else ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], node.module])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_there_is_no_import_cycle_anywhere():
    """Depth-first over the whole import graph, inside packages as well as between them."""
    graph, state, cycles = _graph(), {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)
