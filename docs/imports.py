"""The grader's imports as a picture: ``python docs/imports.py`` rewrites ``docs/imports.dot``
(Graphviz: ``dot -Tsvg docs/imports.dot``) and ``docs/imports.txt`` (the stages floor by floor).

A stage's floor is one above the highest floor it imports from, so an arrow only ever points
down; the script fails on an import circle, between modules or between stages.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports(path: Path, name: str) -> set[str]:
    """The grader modules ``path`` imports, at any depth of the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def stage(module: str) -> str:
    """``grader.execute.worker`` -> ``execute``; the top's own modules (``__main__``,
    ``nbgrader_config``) -> ``grader``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (ROOT / "grader" / parts[1]).is_dir() else "grader"


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in sorted((ROOT / "grader").rglob("*.py"))}
    return {name: {d for d in imports(path, name) if d in paths and d != name
                   and not name.startswith(d + ".") and not d.startswith(name + ".")}
            for name, path in paths.items()}


def floors(edges: dict[str, set[str]]) -> dict[str, int]:
    """Each node's floor (0: imports nothing here); ValueError on a circle."""
    floor: dict[str, int] = {}

    def visit(node: str, path: tuple[str, ...]) -> int:
        if node in path:
            raise ValueError("import circle: " + " -> ".join(path[path.index(node):] + (node,)))
        if node not in floor:
            below = [visit(d, (*path, node)) for d in edges[node]]
            floor[node] = 1 + max(below, default=-1)
        return floor[node]

    for node in edges:
        visit(node, ())
    return floor


def main() -> int:
    modules = graph()
    floors(modules)  # no circle between modules
    stages: dict[str, set[str]] = {}
    for module, deps in modules.items():
        stages.setdefault(stage(module), set()).update(
            stage(d) for d in deps if stage(d) != stage(module))
    level = floors(stages)  # nor between stages
    lines = []
    for number in range(max(level.values()), -1, -1):
        for name in sorted(s for s in level if level[s] == number):
            below = ", ".join(sorted(stages[name])) or "nothing of the grader"
            members = sorted(m.rpartition(".")[2] for m in modules
                             if stage(m) == name and m not in ("grader", f"grader.{name}"))
            lines.append(f"floor {number}  {name:<8} imports {below}")
            lines.append(f"          modules: {', '.join(members)}")
    (ROOT / "docs" / "imports.txt").write_text("\n".join(lines) + "\n")
    dot = ["digraph grader {", "  rankdir=TB; node [shape=box, fontname=Helvetica];"]
    for number in sorted(set(level.values())):
        same = " ".join(f'"{s}"' for s in sorted(level) if level[s] == number)
        dot.append(f"  {{ rank=same; {same} }}")
    for name, deps in sorted(stages.items()):
        dot += [f'  "{name}" -> "{d}";' for d in sorted(deps)]
    dot.append("}")
    (ROOT / "docs" / "imports.dot").write_text("\n".join(dot) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
