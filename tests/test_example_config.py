from pathlib import Path

from matome import settings

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_loads():
    s = settings.load(ROOT / "matome.example.toml")
    assert s.site.title == "北海ニュースまとめ"
    assert s.themes[0].keywords == ["半導体", "ファウンドリー"]
    assert [x.name for x in s.sources] == ["hokkai-rss", "wire"]
