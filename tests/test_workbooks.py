"""Tables in spreadsheet workbooks, read as CSV files are (publicservices.workbooks)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
import pytest

import publicservices as ps
from publicservices.errors import ReaderError, SchemaError
from publicservices.workbooks import table_in

Cell = str | float | None


def write_xlsx(path: Path, sheets: dict[str, list[list[Cell]]]) -> Path:
    """A minimal .xlsx (the parts a reader needs; text as inline strings): no writer library needed."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    with zipfile.ZipFile(path, "w") as book:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        book.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        book.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        entries, links = [], []
        for i, (name, rows) in enumerate(sheets.items(), 1):
            entries.append(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>')
            links.append(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>')
            xml_rows = []
            for r, row in enumerate(rows, 1):
                cells = []
                for c, value in enumerate(row):
                    ref = f"{chr(65 + c)}{r}"
                    if isinstance(value, (int, float)):
                        cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                    elif value is not None:
                        cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
                xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
            book.writestr(
                f"xl/worksheets/sheet{i}.xml", f'<worksheet xmlns="{main}"><sheetData>{"".join(xml_rows)}</sheetData></worksheet>'
            )
        book.writestr(
            "xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>{"".join(entries)}</sheets></workbook>'
        )
        book.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{pkg}">{"".join(links)}</Relationships>')
    return path


# a release laid out as the GSS guidance on spreadsheets asks: cover, contents, notes, a table
RELEASE = {
    "Cover_sheet": [["Claimant count by local authority"], ["This workbook has one table."], ["Contact: stats@example.gov.uk"]],
    "Contents": [["Sheet", "Title"], ["Table_1", "Claimants by local authority, 2019 to 2021/22"]],
    "Notes": [["Note number", "Note text"], ["1", "2021/22 figures are provisional."]],
    "Table_1": [
        ["Table 1: Claimants by local authority"],
        ["Source: DWP"],
        [None],
        ["Area code", "Area name", 2019, 2020, "2021/22"],
        ["E06000001", "Hartlepool", 3105, 4800.5, "[c]"],
        ["E06000002", "Middlesbrough", 6120, 9020, 8100],
        [None],
        ["E06000003", "Redcar and Cleveland", 2900, 4300, 3800],
        ["Note: 2021/22 figures are provisional."],
    ],
}


def test_the_table_of_a_release_workbook_is_found_and_read(tmp_path):
    book = write_xlsx(tmp_path / "claimants.xlsx", RELEASE)
    result = ps.read(book)
    # the sheet with the table; its title lines and notes left out and said; every row kept
    assert result.report.reader == "wide-periods"
    rows = result.values.sort("area_code", "period_start").select("area_code", "period", "value").rows()
    assert rows[:3] == [("E06000001", "2019", 3105.0), ("E06000001", "2020", 4800.5), ("E06000001", "2021/22", None)]
    assert result.values.height == 9
    note = next(n for n in result.report.notes if "sheet" in n)
    assert "read the table on sheet 'Table_1' (its header is row 4" in note
    assert "2 line(s) above it left out, e.g. 'Table 1: Claimants by local authority'" in note
    assert "1 line(s) below it left out, e.g. 'Note: 2021/22 figures are provisional.'" in note
    assert "other sheets: Cover_sheet, Contents, Notes" in note
    reasons = result.values.get_column("missing_reason").drop_nulls().to_list()
    assert reasons == ["confidential (suppressed) in the source"]


def test_a_workbook_in_a_published_layout_reads_as_its_csv_does(tmp_path):
    # an ELS table saved as a workbook: the same reader, the same values
    els = Path(__file__).parent / "fixtures" / "readers" / "els.csv"
    lines = list(csv.reader(io.StringIO(els.read_text(encoding="utf-8"))))
    book = write_xlsx(tmp_path / "els.xlsx", {"Data": [[c or None for c in line] for line in lines]})
    from_csv, from_book = ps.read(els), ps.read(book)
    assert from_book.report.reader == from_csv.report.reader == "ons-els"
    key = ["indicator_id", "area_code", "period"]
    assert from_book.values.sort(key).select(*key, "value").equals(from_csv.values.sort(key).select(*key, "value"))


def test_a_workbook_with_several_tables_names_them_and_the_way_to_choose(tmp_path):
    sheets = {**RELEASE, "Table_2": [["Area code", "Area name", 2019, 2020], ["E06000001", "Hartlepool", 1, 2]]}
    book = write_xlsx(tmp_path / "two.xlsx", sheets)
    with pytest.raises(
        ReaderError, match=r"has tables on 2 sheets: 'Table_1' \(Area code, Area name, 2019, 2020 ...\); 'Table_2'"
    ):
        ps.read(book)
    with pytest.raises(SchemaError, match=r"Fix: name the sheet: publicservices.read\(path, sheet='Table_1'\)"):
        ps.read_csv(book, mapping={"Area code": "area_code"})
    # naming the sheet reads it; a name the workbook lacks, or a sheet of a CSV file, is an error
    assert ps.read(book, sheet="Table_2").values.get_column("value").to_list() == [1.0, 2.0]
    assert ps.read(book, sheet="Table_1").values.height == 9
    named = ps.read_csv(
        book,
        mapping={"Area code": "area_code", "2019": "value"},
        constants={"indicator_id": "x.y", "period": "2019"},
        sheet="Table_2",
    )
    assert named.values.get_column("value").to_list() == [1.0]
    with pytest.raises(ReaderError, match=r"has no sheet 'Table_3'; its sheets: Cover_sheet, Contents, Notes, Table_1, Table_2"):
        ps.read(book, sheet="Table_3")
    with pytest.raises(ReaderError, match="sheet 'Cover_sheet' has no table"):
        ps.read(book, sheet="Cover_sheet")
    els = Path(__file__).parent / "fixtures" / "readers" / "els.csv"
    with pytest.raises(ReaderError, match=r"sheet='Table_1' names a sheet of a workbook, but els.csv is not one"):
        ps.read(els, sheet="Table_1")


def test_a_project_file_names_the_sheet_of_each_source(tmp_path):
    from publicservices.project import ProjectError, load_project

    sheets = {**RELEASE, "Table_2": [["Area code", "Area name", 2019, 2020], ["E06000001", "Hartlepool", 1, 2]]}
    write_xlsx(tmp_path / "two.xlsx", sheets)
    project = tmp_path / "site.toml"
    project.write_text("[[sources]]\npath = 'two.xlsx'\nsheet = 'Table_1'\n", encoding="utf-8")
    assert load_project(project).dataset().values.height == 9
    (tmp_path / "claims.csv").write_text("Area code,Area name,2019,2020\nE06000001,Hartlepool,1,2\n", encoding="utf-8")
    project.write_text("[[sources]]\npath = 'claims.csv'\nsheet = 'Table_1'\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="sheet names a sheet of a workbook, but claims.csv is not one"):
        load_project(project)


def test_the_command_line_names_the_sheet_with_sheet(tmp_path):
    from click.testing import CliRunner

    from publicservices.cli import cli

    sheets = {**RELEASE, "Table_2": [["Area code", "Area name", 2019, 2020], ["E06000001", "Hartlepool", 1, 2]]}
    book = write_xlsx(tmp_path / "two.xlsx", sheets)
    run = CliRunner().invoke
    # without it, the error names the flag; with it, validate reads that sheet's table
    unnamed = run(cli, ["validate", str(book)])
    assert unnamed.exit_code == 1 and "--sheet 'Table_1' on the command line" in unnamed.output
    named = run(cli, ["validate", "--sheet", "Table_2", str(book)])
    assert named.exit_code == 0, named.output
    assert "read the table on sheet 'Table_2'" in named.output and "1 of 1 file(s) valid" in named.output
    wrong = run(cli, ["validate", "--sheet", "Table_2", "--kind", "areas", str(book)])
    assert wrong.exit_code == 2 and "--sheet reads a sheet of a values workbook" in wrong.output
    # publish writes the site of the sheet named, and refuses --sheet for a file that is not a workbook
    out = tmp_path / "site"
    built = run(cli, ["publish", str(book), "--sheet", "Table_1", "--out", str(out), "--generate-only", "--quiet"])
    assert built.exit_code == 0, built.output
    assert "Hartlepool" in (out / "docs" / "areas.md").read_text(encoding="utf-8")
    csv = tmp_path / "claims.csv"
    csv.write_text("Area code,Area name,2019,2020\nE06000001,Hartlepool,1,2\n", encoding="utf-8")
    refused = run(cli, ["publish", str(csv), "--sheet", "Table_1", "--out", str(out), "--quiet"])
    assert refused.exit_code == 1 and "claims.csv is not one" in refused.output


def test_a_workbook_without_a_table_or_with_a_broken_file_says_so(tmp_path):
    empty = write_xlsx(tmp_path / "cover.xlsx", {"Cover_sheet": RELEASE["Cover_sheet"]})
    with pytest.raises(ReaderError, match=r"has no sheet with a table .*its sheets: Cover_sheet"):
        ps.read(empty)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as book:
        book.writestr("mimetype", "application/vnd.ms-excel")
    with pytest.raises(ReaderError, match="broken.xlsx: cannot read the workbook"):
        ps.read(broken)


def test_table_in_finds_the_header_below_titles_and_stops_before_notes():
    grid = pl.DataFrame(
        {
            "a": ["Title", "Subtitle", None, "code", "A1", None, "A2", "Source: x", "Note 1"],
            "b": [None, None, None, "name", "One", None, "Two", None, None],
            "c": [None, None, None, "2023", "1", None, "", None, None],
        }
    )
    table = table_in(grid)
    assert table is not None
    assert table.header_row == 4 and table.above == ["Title", "Subtitle"] and table.below == ["Source: x", "Note 1"]
    assert table.frame.columns == ["code", "name", "2023"]
    assert table.frame.rows() == [("A1", "One", "1"), ("A2", "Two", "")]  # the blank line inside is skipped
    assert table_in(pl.DataFrame({"a": ["only", "one", "column"]})) is None
    # a column with no name and only spaces below it is no column
    spaces = table_in(pl.DataFrame({"a": ["code", "A1"], "b": [None, "  "], "c": ["2023", "1"]}))
    assert spaces is not None and spaces.frame.columns == ["code", "2023"]
    with pytest.raises(SchemaError, match=r"no name over column\(s\) B"):
        table_in(pl.DataFrame({"a": ["code", "A1"], "b": [None, "x"], "c": ["2023", "1"]}))


def write_ods(path: Path, name: str, rows: list[list[str]]) -> Path:
    """A minimal OpenDocument spreadsheet of one sheet of text cells."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    body = "".join(
        "<table:table-row>"
        + (
            "".join(f'<table:table-cell office:value-type="string"><text:p>{escape(v)}</text:p></table:table-cell>' for v in row)
            or "<table:table-cell/>"
        )
        + "</table:table-row>"
        for row in rows
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )
        book.writestr(
            "content.xml",
            f'<office:document-content {ns} office:version="1.2"><office:body><office:spreadsheet>'
            f'<table:table table:name="{escape(name)}">{body}</table:table></office:spreadsheet></office:body></office:document-content>',
        )
    return path


def test_an_opendocument_spreadsheet_is_read_as_a_workbook(tmp_path):
    rows = [["Table 1: Claimants"], [], ["Area code", "Area name", "2019", "2020"], ["E06000001", "Hartlepool", "3105", "[c]"]]
    result = ps.read(write_ods(tmp_path / "claims.ods", "Table_1", rows))
    assert result.values.sort("period").select("period", "value", "missing_reason").rows() == [
        ("2019", 3105.0, None),
        ("2020", None, "confidential (suppressed) in the source"),
    ]
    assert any("read the table on sheet 'Table_1' (its header is row 3" in n for n in result.report.notes)


def test_init_writes_a_source_per_table_sheet_and_the_project_publishes(tmp_path):
    # a release workbook of two tables: one project source each, two indicators told apart by sheet
    from publicservices.project import load_project
    from publicservices.project_starter import starter_project
    from publicservices.site import publish

    sheets = {**RELEASE, "Table_2": [["Area code", "Area name", 2019, 2020], ["E06000001", "Hartlepool", 1, 2]]}
    book = write_xlsx(tmp_path / "release.xlsx", sheets)
    text, summary = starter_project([book], tmp_path / "site.toml")
    assert 'sheet = "Table_1"' in text and 'sheet = "Table_2"' in text
    assert [line.split(":")[0] for line in summary] == ["release.xlsx (Table_1)", "release.xlsx (Table_2)"]
    (tmp_path / "site.toml").write_text(text, encoding="utf-8")
    project = load_project(tmp_path / "site.toml")
    assert sorted(project.dataset().indicators) == ["other.release_table_1", "other.release_table_2"]
    out = tmp_path / "site"
    publish(project, out, generate_only=True)
    assert (out / "docs" / "indicators" / "other.release_table_2.md").is_file()
