"""The layout keeps its promises: layering, no import cycles, one reader of the environment.

Every import in the application (module level, inside functions and under TYPE_CHECKING alike)
is read from the source with ``ast``, so a lazy import cannot slip past the rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = [*sorted((ROOT / "shared").rglob("*.py")), ROOT / "function_app.py"]
#: Third-party packages of the edges; the core imports none of them.
EDGE_PACKAGES = (
    "azure",
    "kubernetes",
    "aiohttp",
    "yarl",
    "httptools",
    "uvloop",
    "rich",
    "urllib3",
    "requests",
)
#: The one place the application imports the simulator: the CLI's `demo` command, which starts
#: the simulated estate (development code, left out of the deployed package by .funcignore).
SIMULATOR_IMPORTS = {("shared.entrypoints.cli", "sim.demo")}
#: Modules that may read the process environment.
ENVIRONMENT_READERS = {"shared.settings", "shared.bootstrap"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Absolute names of every module ``path`` imports, wherever the import statement is."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:  # `from shared.core import records` imports a module
                yield f"{base}.{alias.name}"


MODULES = {module_name(path): path for path in APP_FILES}


def app_imports(name: str) -> set[str]:
    """The application modules ``name`` imports (submodule names resolved to real modules)."""
    found = set()
    for imported in imports(MODULES[name]):
        if imported in MODULES and imported != name:
            found.add(imported)
    return found


ROOMS = ("core", "adapters", "entrypoints")


def room(name: str) -> str:
    """``core``, ``adapters`` or ``entrypoints`` for a module in one of them, else its name."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else name


class TestLayering:
    @pytest.mark.parametrize("name", sorted(n for n in MODULES if room(n) == "core"))
    def test_core_imports_only_core(self, name: str) -> None:
        """A core module imports no other room of the application and no edge package."""
        outside = {m for m in app_imports(name) if room(m) != "core"}
        edge = {i for i in imports(MODULES[name]) if i.split(".")[0] in EDGE_PACKAGES}
        assert (outside, edge) == (set(), set())

    @pytest.mark.parametrize("name", sorted(n for n in MODULES if room(n) == "adapters"))
    def test_adapters_never_import_entry_points_or_the_root(self, name: str) -> None:
        """An adapter imports the core, ports and other adapters, never entry points or wiring."""
        banned = {
            m
            for m in app_imports(name)
            if room(m) == "entrypoints" or m in ("shared.bootstrap", "shared.pipeline")
        }
        assert banned == set()

    @pytest.mark.parametrize("name", sorted(MODULES))
    def test_nothing_in_the_app_imports_the_simulator(self, name: str) -> None:
        """The simulated estate is development code: only the demo command reaches it."""
        reached = {i for i in imports(MODULES[name]) if i.split(".")[0] == "sim"}
        allowed = {
            i
            for i in reached
            for importer, target in SIMULATOR_IMPORTS
            if importer == name and (i == target or i.startswith(target + "."))
        }
        assert reached - allowed == set()

    def test_the_deployed_package_leaves_out_the_simulator_and_the_tests(self) -> None:
        """.funcignore keeps sim/, tests/ and bench/ out of the Function App."""
        ignored = set((ROOT / ".funcignore").read_text(encoding="utf-8").split())
        assert {"sim/", "tests/", "bench/"} <= ignored


class TestNoImportCycles:
    def test_the_application_import_graph_has_no_cycle(self) -> None:
        """No module reaches itself through the modules it imports (lazy imports included)."""
        graph = {name: app_imports(name) for name in MODULES}
        # Packages' __init__ are parents, not edges: importing shared.core.x runs shared.core.
        cycles = []
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in sorted(graph[node]):
                if state.get(nxt) == 1:
                    cycles.append([*stack[stack.index(nxt) :], nxt])
                elif nxt not in state:
                    visit(nxt)
            stack.pop()
            state[node] = 2

        for name in sorted(graph):
            if name not in state:
                visit(name)
        assert cycles == []


class TestOneReaderOfTheEnvironment:
    @pytest.mark.parametrize("name", sorted(set(MODULES) - ENVIRONMENT_READERS))
    def test_no_module_outside_settings_and_bootstrap_reads_the_environment(
        self, name: str
    ) -> None:
        """Only shared.settings and shared.bootstrap read os.environ (or getenv)."""
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        reads = [
            node.lineno
            for node in ast.walk(tree)
            if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"))
            or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and any(a.name in ("environ", "getenv", "environb") for a in node.names)
            )
        ]
        assert reads == []
