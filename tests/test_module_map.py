"""README's module map is made from the docstrings: it may not drift from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_map():  # scripts/ is not a package: load the generator from its file
    spec = importlib.util.spec_from_file_location("module_map", ROOT / "scripts" / "module_map.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_module_map_matches_the_docstrings():
    mm = _module_map()
    readme = (ROOT / "README.md").read_text("utf-8")
    assert mm.START in readme and mm.END in readme, "README.md has no module map section"
    assert mm.readme_with(readme, mm.render()) == readme, (
        "README.md's module map differs from the docstrings: run "
        "`.venv/bin/python scripts/module_map.py --write` and review the diff")


def test_every_package_and_module_says_what_it_is():
    mm = _module_map()
    for path in sorted((ROOT / "src" / "matome").rglob("*.py")):
        if "migrations" in path.parts or path.name == "__main__.py":
            continue
        assert mm._doc(path).strip(), f"{path.relative_to(ROOT)} has no docstring"
