"""The README's module map, made from the packages' and modules' docstrings.

    .venv/bin/python scripts/module_map.py          # print it
    .venv/bin/python scripts/module_map.py --write  # replace it in README.md

``tests/test_module_map.py`` fails when README.md and the docstrings drift.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "matome"
README = ROOT / "README.md"
START, END = "<!-- module map: made by scripts/module_map.py -->", "<!-- end of module map -->"
# In the order the news flows through them; the top-level modules come last.
FIELDS = ("ingest", "extract", "language", "stories", "write", "site", "store", "scale")
TOP = ("pipeline", "per_article", "tasks", "worker", "batch", "cli", "watch", "records", "errors", "settings")


def _doc(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text("utf-8"))) or ""


def _first_line(doc: str) -> str:
    return " ".join(doc.split("\n\n")[0].split())


def render() -> str:
    out = [START, ""]
    for field in FIELDS:
        folder = PACKAGE / field
        paragraphs = [" ".join(p.split()) for p in _doc(folder / "__init__.py").split("\n\n")]
        out.append(f"- **`{field}/`** — {paragraphs[0]}")
        out += [f"  {p}" for p in paragraphs[1:]]
        for module in sorted(folder.glob("*.py")):
            if module.name != "__init__.py":
                out.append(f"  - `{module.name}` — {_first_line(_doc(module))}")
        for sub in sorted(p for p in folder.iterdir() if (p / "__init__.py").exists()):
            out.append(f"  - `{sub.name}/` — {_first_line(_doc(sub / '__init__.py'))}")
    for name in TOP:
        out.append(f"- `{name}.py` — {_first_line(_doc(PACKAGE / f'{name}.py'))}")
    return "\n".join([*out, "", END])


def readme_with(text: str, section: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + section + tail


if __name__ == "__main__":
    section = render()
    if "--write" in sys.argv:
        README.write_text(readme_with(README.read_text("utf-8"), section), "utf-8")
    else:
        print(section)
