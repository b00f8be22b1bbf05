"""Escaping, safe file names and output paths of the published site (publicservices.site.safety)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError
from publicservices.site.markup import chart, front_matter, table
from publicservices.site.safety import check_slugs, html_text, inside, js_json, md_text, slug, yaml_str
from publicservices.site.writer import DocsWriter

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "*bold* _it_ `code` [link](javascript:alert(1)) ![img](x.png)",
    "# heading | pipe | {: .attr } {#id}",
    "a & b \"quoted\" 'single' </p><p>",
    "1. not a list\n- nor this\n\n    nor code",
    "\\*escaped\\* <!-- comment --> ]]> <![CDATA[x]]>",
    "St. Helens-on-Sea (East) 100% $x$ ~~strike~~ ^sup^ ==mark==",
]


def render(text: str) -> str:
    # The extensions the published site uses for prose.
    return markdown.markdown(text, extensions=["attr_list", "md_in_html", "toc", "tables", "admonition"])


class _TextOnly(__import__("html.parser").parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> _TextOnly:
    p = _TextOnly()
    p.feed(fragment)
    p.close()
    return p


@pytest.mark.parametrize("value", HOSTILE)
def test_md_text_renders_as_the_same_text_and_no_markup(value):
    out = parse(render(f"Area: {md_text(value)}."))
    assert out.tags == ["p"]
    assert "".join(out.text) == f"Area: {' '.join(value.split())}."


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_md_text_is_literal_for_any_text(value):
    out = parse(render(f"x {md_text(value)} y"))
    assert set(out.tags) <= {"p"}
    assert " ".join("".join(out.text).split()) == " ".join(f"x {' '.join(value.split())} y".split())


@pytest.mark.parametrize("value", HOSTILE)
def test_html_text_in_a_table_cell(value):
    out = parse(table(["Area"], [[value]]))
    assert out.tags == ["table", "thead", "tr", "th", "tbody", "tr", "td"]
    assert value in "".join(out.text)


def test_figure_caption_and_attributes_are_escaped():
    fig = chart(
        page="areas/a.md",
        key='k"><script>',
        load=["charts/x.js"],
        label="<b>label</b>",
        summary="<script>alert(1)</script>",
        links={"<i>csv</i>": "data/a.csv"},
        inline={"d": [{"name": "</script><script>"}]},
    )
    # the only script is the figure's JSON data block, whose text never contains '<' (so never '</script>')
    block = re.fullmatch(r'(.*)<script type="application/json" class="ps-chart__data">([^<]*)</script>(.*)', fig, re.S)
    assert block is not None
    assert json.loads(block.group(2)) == {"d": [{"name": "</script><script>"}]}
    out = parse(block.group(1) + block.group(3))
    assert "script" not in out.tags and "b" not in out.tags and "i" not in out.tags
    assert "<script>alert(1)</script>" in "".join(out.text)


def test_front_matter_title_is_yaml_and_html_safe():
    import yaml

    text = front_matter('A: "quoted" <script>x</script> # not a comment')
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["title"] == "A: &quot;quoted&quot; &lt;script&gt;x&lt;/script&gt; # not a comment"
    assert yaml_str("line\nbreak") == '"line break"'


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(10**6), 10**6)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=20,
    )
)
def test_js_json_is_valid_json_without_angle_brackets(obj):
    text = js_json(obj)
    assert not re.search(r"[<>&\u2028\u2029]", text)

    def clean(o):
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(v) for v in o]
        return o

    assert json.loads(text) == clean(obj)
    if isinstance(obj, dict):
        assert list(json.loads(text)) == sorted(json.loads(text))


def test_js_json_cannot_close_a_script_block():
    assert "</script" not in js_json({"a": "</script><script>alert(1)</script>"})


@pytest.mark.parametrize("good", ["E06000001", "x06000001", "health.ae_4hr", "gp-A81001", "a_b.c-d", "9"])
def test_slug_accepts_safe_ids(good):
    assert slug(good, kind="id") == good.lower()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../x",
        "a/b",
        "a\\b",
        ".hidden",
        "-x",
        "a b",
        "é",
        "a..b",
        "a.",
        "con",
        "NUL",
        "lpt1.txt",
        "x" * 101,
        "a\x00b",
        "<script>",
        None,
    ],
)
def test_slug_rejects_unsafe_ids(bad):
    with pytest.raises(DataError, match="cannot be used as a file name"):
        slug(bad, kind="area_code")


def test_check_slugs_names_every_kind_of_problem():
    with pytest.raises(DataError) as err:
        check_slugs(["E06000001", "../../etc", "a b"], kind="area_code")
    text = str(err.value)
    assert "'../../etc'" in text and "'a b'" in text and "2 rows" in text and "Fix:" in text
    with pytest.raises(DataError, match="differ only in letter case"):
        check_slugs(["Ab1", "aB1"], kind="area_code")
    assert check_slugs(["E1", "E2"], kind="area_code") == {"E1": "e1", "E2": "e2"}


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="abcXYZ019._-/\\ :~", max_size=30))
def test_any_accepted_slug_stays_inside_the_root(value):
    root = Path("/tmp/ps-safety-root")
    try:
        name = slug(value, kind="id")
    except DataError:
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name)
    target = inside(root, f"areas/{name}.md")
    assert root.resolve() in target.parents


@pytest.mark.parametrize("rel_path", ["../x.md", "a/../../x.md", "/etc/passwd", "a/../../../b"])
def test_inside_refuses_paths_outside_the_root(tmp_path, rel_path):
    with pytest.raises(DataError, match="outside the output folder"):
        inside(tmp_path, rel_path)


def test_inside_refuses_a_symlink_out_of_the_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(DataError, match="outside the output folder"):
        inside(root, "link/file.md")


def test_writer_never_writes_twice_or_outside(tmp_path):
    w = DocsWriter(tmp_path / "docs")
    w.text("a.md", "x")
    with pytest.raises(DataError, match="twice"):
        w.text("a.md", "y")
    with pytest.raises(DataError, match="outside"):
        w.text("../escape.md", "y")
    assert not (tmp_path / "escape.md").exists()
    assert (tmp_path / "docs" / "a.md").read_text() == "x"


def test_html_text_handles_none_and_numbers():
    assert html_text(None) == ""
    assert html_text(3.5) == "3.5"
    assert html_text("<&>\"'") == "&lt;&amp;&gt;&quot;&#x27;"


# --- Safe to publish: what publish replaces and keeps, --base-url, CSV formulas, disk errors -------------------------

import csv  # noqa: E402
import errno  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import polars as pl  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from publicservices.errors import PublicServicesError  # noqa: E402
from publicservices.site import build, publish  # noqa: E402
from publicservices.site.build import MANIFEST, PublishError  # noqa: E402
from publicservices.site.sample import sample_dataset  # noqa: E402
from publicservices.site.writer import csv_safe  # noqa: E402

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def small(n_areas: int = 4):
    return sample_dataset(n_areas=n_areas, n_periods=2)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_folders(parent: Path, name: str = "site") -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}.staging-"))


def add_user_files(out: Path) -> dict[str, bytes]:
    """What a GitHub Pages user adds to the site folder after the first publish."""
    added = {
        "CNAME": b"compare.example.org\n",
        ".nojekyll": b"",
        ".git/HEAD": b"ref: refs/heads/gh-pages\n",
        ".git/objects/ab/cdef": b"\x00blob",
        "docs/notes/mine.md": b"my notes",
        "extra.txt": b"keep me",
    }
    for rel, data in added.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return added


def during_the_build(monkeypatch, action) -> None:
    """Run ``action`` while publish is building in its staging folder (versions() is called there)."""
    real = build.versions

    def versions(*args, **kwargs):
        action()
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "versions", versions)


def test_republishing_keeps_cname_git_and_user_files_and_removes_only_stale_files_publish_wrote(tmp_path):
    out = tmp_path / "site"
    publish(small(4), out, generate_only=True)
    added = add_user_files(out)
    publish(small(3), out, generate_only=True)
    now = files_of(out)
    assert {rel: now.get(rel) for rel in added} == added  # CNAME, .git, user files: all kept, untouched
    assert "docs/areas/e06000003.md" in now and "docs/areas/e06000004.md" not in now  # the dropped area's page went
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["generator"] == "publicservices publish" and "swapping" not in manifest
    listed = manifest["files"]
    assert set(listed) == set(now) - set(added) - {MANIFEST}  # exactly what publish wrote, nothing of the user's
    import hashlib

    for rel, info in listed.items():
        assert info == {"bytes": len(now[rel]), "sha256": hashlib.sha256(now[rel]).hexdigest()}
    assert staging_folders(tmp_path) == []


def test_a_first_publish_into_a_github_pages_folder_keeps_its_files(tmp_path):
    out = tmp_path / "site"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref")
    (out / "CNAME").write_text("compare.example.org")
    (out / "README.md").write_text("# my site")
    publish(small(), out, generate_only=True)
    assert (out / "CNAME").read_text() == "compare.example.org" and (out / ".git" / "HEAD").read_text() == "ref"
    assert (out / "README.md").read_text() == "# my site" and (out / "mkdocs.yml").is_file()
    assert "CNAME" not in json.loads((out / MANIFEST).read_text())["files"]


@pytest.mark.parametrize(
    "manifest",
    [
        "{}",
        "not json",
        '{"generator": "publicservices publish"}',  # no list of files: written by hand (or by an old version)
        '{"generator": "something else", "files": {"thesis.tex": {}}}',
        '{"generator": "publicservices publish", "files": {"gone.html": {}}}',  # lists a file that is not there
        '{"generator": "publicservices publish", "files": {"../outside.txt": {}}}',
        '{"generator": "publicservices publish", "files": {"/etc/passwd": {}}}',
    ],
)
def test_a_manifest_alone_does_not_make_a_folder_a_site(tmp_path, manifest):
    out = tmp_path / "precious"
    out.mkdir()
    (out / MANIFEST).write_text(manifest)
    (out / "thesis.tex").write_text("years of work")
    (tmp_path / "outside.txt").write_text("also mine")
    before = files_of(tmp_path)
    with pytest.raises(DataError, match="not a site built by publicservices") as err:
        publish(small(), out, generate_only=True)
    assert "Fix:" in str(err.value)
    assert files_of(tmp_path) == before


def test_files_added_to_out_during_the_build_are_kept(tmp_path, monkeypatch):
    out = tmp_path / "site"
    publish(small(), out, generate_only=True)
    during_the_build(monkeypatch, lambda: (out / "late.txt").write_text("added while building"))
    publish(small(), out, generate_only=True)
    assert (out / "late.txt").read_text() == "added while building"
    assert "late.txt" not in json.loads((out / MANIFEST).read_text())["files"]


def test_out_is_checked_again_before_the_swap(tmp_path, monkeypatch):
    out = tmp_path / "site"
    publish(small(3), out, generate_only=True)
    # During the build the user puts a file of their own where the new site writes one (a fourth area's page) ...
    mine = out / "docs" / "areas" / "e06000004.md"
    before = None

    def snapshot_then_add():
        nonlocal before
        mine.write_text("my page")
        before = files_of(out)

    during_the_build(monkeypatch, snapshot_then_add)
    with pytest.raises(PublishError, match="was not written by publish") as err:
        publish(small(4), out, generate_only=True)
    assert "e06000004.md" in str(err.value) and "Nothing was changed" in str(err.value)
    assert files_of(out) == before and mine.read_text() == "my page"
    # ... or turns the folder into something that is no longer this site.
    during_the_build(monkeypatch, lambda: (out / MANIFEST).write_text("{}"))
    with pytest.raises(DataError, match="not a site built by publicservices"):
        publish(small(4), out, generate_only=True)
    assert mine.read_text() == "my page" and (out / MANIFEST).read_text() == "{}"
    assert staging_folders(tmp_path) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_staging_folders_from_killed_builds_are_removed_at_the_start(tmp_path):
    import socket

    here = socket.gethostname()
    old = time.time() - 3 * 24 * 3600

    def folder(name: str, lock: dict | None = None, mtime: float | None = None) -> Path:
        path = tmp_path / name
        (path / "project").mkdir(parents=True)
        if lock is not None:
            (path / build.LOCK).write_text(json.dumps(lock))
        if mtime:
            os.utime(path, (mtime, mtime))
        return path

    folder(".site.staging-dead0001", {"pid": _dead_pid(), "host": here})  # its process is gone: removed
    folder(".site.staging-live0001", {"pid": os.getppid(), "host": here})  # still building: kept
    folder(".site.staging-old00001", None, old)  # no pid file and days old: removed
    folder(".site.staging-new00001")  # no pid file yet, just made: kept
    folder(".site.staging-away0001", {"pid": 1, "host": "another-machine"}, old)  # another machine's, days old: removed
    folder(".site.staging-away0002", {"pid": 1, "host": "another-machine"})  # another machine's, recent: kept
    folder(".other.staging-dead0001", {"pid": _dead_pid(), "host": here})  # another site's: not ours to judge
    (tmp_path / "notes.staging-dead0001").mkdir()
    publish(small(), tmp_path / "site", generate_only=True)
    assert staging_folders(tmp_path) == [".site.staging-away0002", ".site.staging-live0001", ".site.staging-new00001"]
    assert (tmp_path / ".other.staging-dead0001").is_dir() and (tmp_path / "notes.staging-dead0001").is_dir()


KILLER = """
import os, signal, sys
from pathlib import Path
from publicservices.site import build, publish
from publicservices.site.sample import sample_dataset

out, real, moves = Path(sys.argv[1]), os.replace, [0]

def replace(src, dst, *args, **kwargs):  # kill -9 in the middle of moving the new files in
    if str(dst).startswith(str(out) + os.sep) and not str(dst).endswith(build.MANIFEST):
        moves[0] += 1
        if moves[0] > 12:  # past the static assets (the same in both builds), into the files that differ
            os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)

os.replace = replace
publish(sample_dataset(n_areas=4, n_periods=2), out, generate_only=True, title="New")
"""


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_a_build_killed_during_the_swap_leaves_a_usable_site_and_the_next_run_finishes_it(tmp_path):
    out = tmp_path / "site"
    publish(small(3), out, generate_only=True, title="Old")
    old_files = files_of(out)
    added = add_user_files(out)

    killed = subprocess.run([sys.executable, "-c", KILLER, str(out)], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    # Killed half-way: every file of the old site is still there, each one whole (the old or the new version) ...
    now = files_of(out)
    interim = json.loads((out / MANIFEST).read_text())
    assert interim["swapping"] is True and set(interim["files"]) >= set(old_files) - {MANIFEST}
    new_in_place = 0
    for rel, data in old_files.items():
        if rel != MANIFEST:
            assert now[rel] == data or _sha(now[rel]) == interim["files"][rel]["sha256"], rel
            new_in_place += now[rel] != data
    assert new_in_place > 0 or any(rel not in old_files for rel in now if rel not in added)  # it really was half-way
    assert {rel: now[rel] for rel in added} == added
    assert len(staging_folders(tmp_path)) == 1  # the killed build's

    # ... and the next publish cleans up after it and finishes the job.
    publish(small(4), out, generate_only=True, title="New")
    assert staging_folders(tmp_path) == []
    now = files_of(out)
    assert {rel: now[rel] for rel in added} == added
    final = json.loads((out / MANIFEST).read_text())
    assert "swapping" not in final and final["title"] == "New"
    assert set(final["files"]) == set(now) - set(added) - {MANIFEST}
    assert all(_sha(now[rel]) == info["sha256"] for rel, info in final["files"].items())
    assert "docs/areas/e06000004.md" in final["files"]


@pytest.mark.parametrize(
    "bad",
    [
        'https://example.org/"><script>alert(1)</script>',
        "https://example.org/<script>alert(1)</script>/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "https://example.org/ onmouseover=alert(1)",
        "https://example.org/'onload='alert(1)",
        "https://user:secret@example.org/",
        "https://example.org/?q=1",
        "compare/",
        "ftp://example.org/",
    ],
)
def test_base_url_must_be_a_plain_http_address_or_path(tmp_path, bad):
    with pytest.raises(DataError) as err:
        publish(small(), tmp_path / "site", base_url=bad, generate_only=True)
    text = str(err.value)
    assert text.startswith("--base-url:") and "Fix:" in text and "https://example.org/compare/" in text
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="--base-url"):  # also for any other caller of the config writer
        build.mkdocs_config(title="t", nav=[], base_url=bad, copyright="", assets={})


@pytest.mark.parametrize(
    ("good", "site_url"),
    [
        ("https://example.org/compare/", "https://example.org/compare/"),
        ("http://localhost:8000/", "http://localhost:8000/"),
        ("/compare/", None),  # a bare path is for the downloads page; MkDocs' site_url needs a whole address
    ],
)
def test_a_plain_base_url_is_accepted(tmp_path, good, site_url):
    out = tmp_path / "site"
    publish(small(), out, base_url=good, generate_only=True)
    config = json.loads((out / "mkdocs.yml").read_text().partition("\n")[2])
    assert config.get("site_url") == site_url
    assert json.loads((out / MANIFEST).read_text())["options"]["base_url"] == good


def test_cli_names_a_bad_base_url_without_a_traceback(tmp_path):
    from publicservices.cli import cli

    folder = small().to_dir(tmp_path / "data")
    result = CliRunner().invoke(
        cli,
        [
            "publish",
            str(folder),
            "--out",
            str(tmp_path / "site"),
            "-q",
            "--generate-only",
            "--base-url",
            "https://x.org/<script>alert(1)</script>",
        ],
    )
    assert result.exit_code == 1 and "--base-url" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "site").exists()


def test_csv_cells_that_would_run_as_formulas_are_neutralised():
    frame = pl.DataFrame(
        {
            "name": [
                '=HYPERLINK("http://evil.example")',
                "+cmd|' /C calc'!A0",
                "-2+3",
                "@SUM(A1)",
                "\tx",
                "\rx",
                "Hull",
                "-1.5",
                None,
            ],
            "kind": pl.Series(["=a", "b", "c", "d", "e", "f", "g", "h", "i"], dtype=pl.Categorical),
            "count": [-1, 0, 1, 2, 3, 4, 5, 6, 7],
            "value": [-1.5, None, 2.0, -0.25, 1e-9, -3e12, 0.0, 1.0, 2.0],
        }
    )
    safe = csv_safe(frame)
    assert safe.get_column("name").to_list() == [
        '\'=HYPERLINK("http://evil.example")',
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Hull",
        "-1.5",
        None,
    ]
    assert safe.get_column("kind").to_list()[:2] == ["'=a", "b"]
    assert safe.select("count", "value").equals(frame.select("count", "value"))  # numbers, negative ones too, untouched
    assert csv_safe(pl.DataFrame({"=x": [1]})).columns == ["'=x"]


def test_every_csv_download_is_free_of_spreadsheet_formulas_and_keeps_its_numbers(tmp_path):
    from publicservices.dataset import Dataset

    hostile = {
        "E06000001": '=HYPERLINK("http://evil.example","Click")',
        "E06000002": "+cmd|' /C calc'!A0",
        "E06000003": "-2+3",
        "E06000004": "@SUM(1+1)",
    }
    ds = sample_dataset(n_areas=4, n_periods=2, names=hostile)
    notes = ["\t=1+1", "\r=1", "=note", "-note", "ok", "@x", "+y", "-1.5", "z"]
    areas = ds.areas.with_columns(pl.Series("note", notes[: ds.areas.height]))  # an extra column, carried to areas.csv
    out = tmp_path / "site"
    publish(Dataset(ds.values, areas, ds.spend, ds.indicators, metadata=ds.metadata), out, generate_only=True)
    csvs = sorted(out.rglob("*.csv"))
    assert len(csvs) > 5
    seen_names, numbers = set(), 0
    for path in csvs:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), (path.name, cell)
        header = rows[0]
        if "area_name" in header:
            seen_names |= {r[header.index("area_name")] for r in rows[1:]}
        for col in ("numerator", "denominator", "value"):
            if col in header:
                cells = [r[header.index(col)] for r in rows[1:] if r[header.index(col)]]
                numbers += len([float(c) for c in cells])  # numeric columns still read as numbers
    assert {"'" + name for name in hostile.values()} <= seen_names
    assert numbers > 0
    # The Parquet files keep the exact text (data tools run no formulas).
    assert set(pl.read_parquet(out / "docs/data/all/areas.parquet").get_column("area_name")) >= set(hostile.values())


def test_out_below_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PublishError, match="is a file, not a folder") as err:
        publish(small(), tmp_path / "file" / "sub" / "site", generate_only=True)
    assert isinstance(err.value, PublicServicesError) and "Fix:" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(not Path("/proc/sys").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("where", ["/proc/sys/publicservices-test-site", "/proc/publicservices-test/site"])
def test_out_in_a_place_nobody_can_write_is_a_clear_error(where):
    # /proc/sys is a read-only mount and /proc takes no new folders, even for root (chmod does not stop root).
    with pytest.raises(PublishError) as err:
        publish(small(), Path(where), generate_only=True)
    assert str(err.value).startswith("--out:") and "Fix:" in str(err.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes through chmod; the /proc test covers root")
def test_an_unwritable_out_folder_is_a_clear_error(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(PublishError, match="not writable"):
            publish(small(), parent / "site", generate_only=True)
    finally:
        parent.chmod(0o700)


def test_a_full_disk_while_writing_leaves_the_previous_site_and_no_staging_folder(tmp_path, monkeypatch):
    out = tmp_path / "site"
    publish(small(), out, generate_only=True)
    before = files_of(out)
    real, calls = DocsWriter.text, [0]

    def text(self, rel_path, content):
        calls[0] += 1
        if calls[0] > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, rel_path, content)

    monkeypatch.setattr(DocsWriter, "text", text)
    with pytest.raises(PublishError) as err:
        publish(small(5), out, generate_only=True)
    assert "No space left on device" in str(err.value) and "free some space" in str(err.value)
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_full_disk_during_the_swap_puts_the_previous_site_back(tmp_path, monkeypatch):
    out = tmp_path / "site"
    publish(small(3), out, generate_only=True)
    add_user_files(out)
    before = files_of(out)
    real, calls = build._place, [0]

    def place(src, dst):
        calls[0] += 1
        if calls[0] > 12:  # the interim manifest and eleven files are in: then the disk fills up
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst)

    monkeypatch.setattr(build, "_place", place)
    with pytest.raises(PublishError, match="No space left on device"):
        publish(small(4), out, generate_only=True)
    assert files_of(out) == before
    assert not (out / "docs/areas/e06000004.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_cli_reports_an_out_below_a_file_without_a_traceback(tmp_path):
    from publicservices.cli import cli

    (tmp_path / "file").write_text("x")
    folder = small().to_dir(tmp_path / "data")
    result = CliRunner().invoke(cli, ["publish", str(folder), "--out", str(tmp_path / "file" / "site"), "-q"])
    assert result.exit_code == 1
    assert "PublishError" in result.output and "is a file" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_writer_reports_a_full_disk_from_polars_as_an_oserror_naming_the_file():
    from publicservices.site.writer import _naming

    frame = pl.DataFrame({"x": list(range(100_000))})
    for write in (frame.write_csv, frame.write_parquet):
        with pytest.raises(OSError) as err, _naming(Path("/dev/full")):
            write("/dev/full")
        assert err.value.errno == errno.ENOSPC and err.value.filename == "/dev/full"


PATH_PART = st.sampled_from(["a", "b", "areas", "data", ".", "..", "x.md", "y.html"])


@given(
    page=st.lists(PATH_PART, min_size=1, max_size=4).map("/".join),
    target=st.lists(PATH_PART, min_size=1, max_size=4).map("/".join),
)
@settings(max_examples=500, deadline=None)
def test_a_link_between_pages_is_the_relative_path_posixpath_gives(page, target):
    import posixpath

    from publicservices.site.markup import rel

    assert rel(page, target) == posixpath.relpath(target, posixpath.dirname(page) or ".")


def test_a_table_without_rows_has_no_blank_line_to_end_its_html_block():
    empty = table(["Area", "Value"], [])
    assert "\n\n" not in empty and empty.endswith("<tbody>\n</tbody></table>")
    assert table(["Area"], [["A"], ["B"]]).endswith("<tbody>\n<tr><td>A</td></tr>\n<tr><td>B</td></tr>\n</tbody></table>")
