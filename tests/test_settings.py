from pathlib import Path

import pytest

from matome import settings
from matome.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_docs_list_every_setting():
    assert DOCS.read_text(encoding="utf-8") == settings.settings_markdown(), (
        "docs/settings.md is stale: run `python -m matome.settings > docs/settings.md`")


def test_load_toml(tmp_path):
    p = tmp_path / "matome.toml"
    p.write_text('[site]\ntitle = "テスト"\n[cluster]\nthreshold = 1\n'
                 '[[sources]]\nname = "a"\npath = "x"\n[aliases]\n"G7" = ["先進国首脳"]\n',
                 encoding="utf-8")
    s = settings.load(p)
    assert s.site.title == "テスト"
    assert s.cluster.threshold == 1.0
    assert s.sources[0].path == "x"
    assert s.aliases == {"G7": ["先進国首脳"]}


@pytest.mark.parametrize(("body", "needle"), [
    ("[site]\nnope = 1\n", "unknown setting 'nope'"),
    ("[cluster]\nthreshold = 'high'\n", "expected float"),
    ("[site\n", "not valid TOML"),
])
def test_bad_config_says_where(tmp_path, body, needle):
    p = tmp_path / "matome.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle):
        settings.load(p)
