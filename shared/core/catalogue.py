"""The control catalogue (docs/controls/): one Markdown page per control, rendered from the tables.

Pure: ``pages()`` returns file name -> text; ``make controls-docs`` writes them, and
tests/docs/test_controls_catalogue.py fails when the files differ from what the tables render,
so the pages cannot drift from the code. Each page follows the rule-catalogue shape (front
matter: id, level, section, scope, data source; then synopsis, description, recommendation,
the same recommendation in the other benchmark versions, and links).
"""

from __future__ import annotations

from shared.core.controls import Benchmark, Control, Scope
from shared.core.controls.registry import benchmark_names, get_benchmark

DEFAULT = "cis-aks-1.8"
KUBELET_CONFIG_REFERENCE = "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"
_SOURCES = {
    "managedCluster": "ARM: the managed cluster object discovery holds (Resource Graph or GET)",
    "diagnosticSettings": "ARM: GET {cluster}/providers/Microsoft.Insights/diagnosticSettings",
    "defenderPricing": "Resource Graph: securityresources, microsoft.security/pricings (Containers)",
    "registries": "Resource Graph: resources, microsoft.containerregistry/registries",
    "roleAssignments": "Resource Graph: authorizationresources, microsoft.authorization/roleassignments",
    "roleDefinitions": "ARM: GET .../providers/Microsoft.Authorization/roleDefinitions/{id}",
    "k8s:objects": "Kubernetes API: the section 4 lists (get and list, paged), once per cluster",
}


def page_name(control: Control) -> str:
    """The file of a control's page: ``5.4.4.md``."""
    return f"{control.id}.md"


def data_source(control: Control) -> list[str]:
    """Where the control's facts come from, one line each."""
    if control.scope is Scope.NODE:
        if not control.paths:
            return ["none: the kubelet command line, which no API shows"]
        return [f"configz (kubeletconfig): {', '.join(f'`{p}`' for p in control.paths)}"]
    if not control.reads:
        return ["none: a judgement only people can make"]
    return [f"{_SOURCES.get(r, r)} (`{r}`)" for r in control.reads]


def _versions(control: Control) -> list[str]:
    rows = []
    for name in benchmark_names():
        for other in get_benchmark(name).controls:
            if other.check is control.check:
                rows.append(f"| {name} | {other.id} | {other.title} | {other.level} |")
    return rows


def render(control: Control, benchmark: Benchmark) -> str:
    """One control's page."""
    text = control.description.replace("``", "`")
    synopsis, _, description = text.partition("\n\n")
    links = list(control.links)
    if control.scope is Scope.NODE:
        links.append(KUBELET_CONFIG_REFERENCE)
    sources = data_source(control)
    lines = [
        "---",
        f'id: "{control.id}"',
        f"benchmark: {benchmark.name}",
        f'title: "{control.title}"',
        f"level: {control.level}",
        f'section: "{control.section}"',
        f"scope: {control.scope.value}",
        "data source:",
        *[f'  - "{s}"' for s in sources],
        "---",
        "",
        f"# {control.id} {control.title}",
        "",
        f"{benchmark.title}, Level {control.level}. One row per "
        f"{'node' if control.scope is Scope.NODE else 'cluster'}"
        f"{'' if control.scope is Scope.NODE else ' (no node columns)'}.",
        "",
        "## Synopsis",
        "",
        " ".join(synopsis.split()),
        "",
        "## Description",
        "",
        description.strip() or " ".join(synopsis.split()),
        "",
        f"Expected: {control.expected}.",
        "",
        "Data source:",
        "",
        *[f"- {s}" for s in sources],
        "",
        "## Recommendation",
        "",
        control.remediation,
        "",
        "## In each benchmark version",
        "",
        "| Benchmark | Id | Title | Level |",
        "|---|---|---|---|",
        *_versions(control),
        "",
        "## Links",
        "",
        *([f"- <{link}>" for link in links] or ["- none"]),
        "",
    ]
    return "\n".join(lines)


def index(benchmark: Benchmark) -> str:
    """docs/controls/README.md: every control of ``benchmark``, and what each version carries."""
    lines = [
        "# Control catalogue",
        "",
        "Generated from the control tables (`shared/core/catalogue.py`; `make controls-docs`",
        "writes it, and `tests/docs/test_controls_catalogue.py` fails when it is stale). One page",
        f"per control of {benchmark.title} (`{benchmark.name}`).",
        "",
        "| Id | Title | Level | Scope | Data source |",
        "|---|---|---|---|---|",
    ]
    for control in benchmark.controls:
        source = "configz" if control.scope is Scope.NODE else ", ".join(control.reads) or "none"
        lines.append(
            f"| [{control.id}]({page_name(control)}) | {control.title} | {control.level} | "
            f"{control.scope.value} | {source} |"
        )
    lines += [
        "",
        "## Sections per benchmark version",
        "",
        "Select sections with `CIS_SECTIONS` / `--sections`; a section the selected benchmark",
        "does not have is a settings error naming the sections it has.",
        "",
        "| Benchmark | Sections | Controls |",
        "|---|---|---|",
    ]
    for name in benchmark_names():
        bench = get_benchmark(name)
        lines.append(f"| {name} | {', '.join(bench.sections)} | {len(bench.controls)} |")
    lines += [
        "",
        "Not carried: CIS AKS v1.1.0 (no public source of its tables was found); and in",
        "`cis-k8s-1.12`, the generic CIS Kubernetes Benchmark, anything but its kubelet section",
        "4.2: its control plane and etcd sections judge flags and files of components AKS runs",
        "and does not expose, and ARM's view of an AKS cluster is not what that benchmark audits.",
        "",
    ]
    return "\n".join(lines)


def pages(name: str = DEFAULT) -> dict[str, str]:
    """File name -> text of the whole catalogue of benchmark ``name``."""
    benchmark = get_benchmark(name)
    rendered = {page_name(c): render(c, benchmark) for c in benchmark.controls}
    rendered["README.md"] = index(benchmark)
    return rendered
