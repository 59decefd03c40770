"""The package's structure, read from its source with ``ast`` (nothing is imported):

- no import cycle among the package's modules, counting imports inside functions too;
- the shared reporting machinery (``assessment.reporting``) never imports a document
  (``assessment.documents``);
- no document imports another document.

An import inside a function still makes the importing module depend on the imported one, so a
lazy import that closes a circle fails here as a top-level one would.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assessment import paths

PACKAGE = "assessment"
ROOT = paths.PROJECT_ROOT / PACKAGE
DOCUMENTS = f"{PACKAGE}.documents"
MACHINERY = f"{PACKAGE}.reporting"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (anywhere in its source).

    ``from .x import name`` counts as importing ``x.name`` when that is a module, else ``x``;
    ``from . import name`` of a name that is no module counts as importing the package itself.
    """
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    targets.add(sub if sub in modules else target)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        found = set()
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside c
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def machinery_on_documents(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((m, t) for m, ts in graph.items() if m == MACHINERY or m.startswith(MACHINERY + ".")
                  for t in ts if t == DOCUMENTS or t.startswith(DOCUMENTS + "."))


def documents_on_documents(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    docs = {m for m in graph if m.startswith(DOCUMENTS + ".")}
    return sorted((m, t) for m in docs for t in graph[m] if t in docs)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_import_cycle(graph):
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_machinery_never_imports_a_document(graph):
    assert machinery_on_documents(graph) == []


def test_no_document_imports_another(graph):
    assert documents_on_documents(graph) == []


def test_each_document_is_a_module_of_the_documents_package(graph):
    from assessment.reporting.kinds import DOCUMENT_MODULES

    assert set(DOCUMENT_MODULES.values()) <= set(graph)
    assert all(m.startswith(DOCUMENTS + ".") for m in DOCUMENT_MODULES.values())


# -- the checks themselves, on small made-up packages -------------------------------------------

def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / PACKAGE
    for rel, text in files.items():
        f = pkg / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return pkg


def test_a_lazy_import_closing_a_circle_is_a_cycle(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "", "reporting/__init__.py": "",
        "reporting/document.py": "def f():\n    from .workbench import g\n",
        "reporting/workbench.py": "def g():\n    from .execute import h\n",
        "reporting/execute.py": "from .document import f\nimport assessment.reporting.toc\n",
        "reporting/toc.py": "",
    })
    g = import_graph(pkg)
    assert g["assessment.reporting.execute"] == {"assessment.reporting.document", "assessment.reporting.toc"}
    cycle = find_cycle(g)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == 4


def test_machinery_importing_a_document_and_documents_importing_each_other_are_found(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "", "reporting/__init__.py": "", "documents/__init__.py": "",
        "reporting/keyfindings.py": "def k():\n    from ..documents import audit as au\n",
        "documents/audit.py": "from ..reporting.keyfindings import k\n",
        "documents/strategic_assessment.py": "from .audit import x\nfrom ..reporting import keyfindings\n",
    })
    g = import_graph(pkg)
    assert machinery_on_documents(g) == [("assessment.reporting.keyfindings", "assessment.documents.audit")]
    assert documents_on_documents(g) == [("assessment.documents.strategic_assessment", "assessment.documents.audit")]
    assert find_cycle(g) is not None


def test_a_clean_package_passes(tmp_path):
    pkg = _write(tmp_path, {
        "__init__.py": "", "reporting/__init__.py": "", "documents/__init__.py": "",
        "reporting/document.py": "", "reporting/hashing.py": "",
        "reporting/workbench.py": "from .hashing import h\n",
        "reporting/execute.py": "from .hashing import h\ndef run():\n    from .document import d\n",
        "documents/audit.py": "from ..reporting.document import d\n",
    })
    g = import_graph(pkg)
    assert find_cycle(g) is None and not machinery_on_documents(g) and not documents_on_documents(g)
