"""The offline Vega bundle is made once per vl-convert version and then read from the cache."""

from __future__ import annotations

import pytest

from publicservices import vega

pytest.importorskip("vl_convert", reason="the [site] extra (vl-convert-python) is not installed")


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("PUBLICSERVICES_CACHE_DIR", str(tmp_path / "cache"))
    vega.vega_bundle.cache_clear()
    yield tmp_path / "cache"
    vega.vega_bundle.cache_clear()


def test_the_bundle_is_cached_under_the_vl_convert_version(fresh):
    bundle = vega.vega_bundle()
    assert "vegaEmbed" in bundle
    (cached,) = fresh.iterdir()
    assert vega._vl_convert_version() in cached.name and cached.read_text(encoding="utf-8") == bundle
    # a second process (here: a cleared memo) reads the file instead of bundling again
    cached.write_text("/* cached */", encoding="utf-8")
    vega.vega_bundle.cache_clear()
    assert vega.vega_bundle() == "/* cached */"


def test_a_cache_that_cannot_be_written_is_skipped(fresh, monkeypatch):
    fresh.parent.mkdir(exist_ok=True)
    fresh.write_text("a file where the folder should be", encoding="utf-8")
    assert "vegaEmbed" in vega.vega_bundle()
