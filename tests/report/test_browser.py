"""The report in a real browser: headless Chromium loads a report of a real sandbox run.

Skipped when Debian's ``chromium`` is not installed, except in CI (``CI`` set), where
``.ci/run`` installs it and a missing browser is a failure. Checks: no console errors,
every chart and table visible, search and sort work, the table is complete without
script, nothing sticks out of the page at 1400 and 420 px (only scroll boxes may hold
wider content), run events have no scroll box of their own, and the contacts CSV made
in the page is complete and defused against spreadsheet formulas. Saves screenshots in
the test's directory; with ``REPORT_SCREENSHOT=docs/report-screenshot.png`` it also
writes the top of the report there (that is how the screenshot in docs/ is made).
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import pytest

from campaigner.report.render import write_report
from tests.report.builders import T0, Book
from tests.report.chromium import Chromium, Page, find_chromium
from tests.report.sandbox import run_sandbox

pytestmark = [
    pytest.mark.browser,
    # Locally a missing chromium skips these tests; in CI (.ci/run installs it) it fails them.
    pytest.mark.skipif(
        find_chromium() is None and not os.environ.get("CI"), reason="chromium is not installed"
    ),
]

VISIBLE = """(function (selector) {
  return Array.prototype.map.call(document.querySelectorAll(selector), function (el) {
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  });
})"""


# Elements whose right edge is past the page's width, except inside a box that scrolls
# sideways (a wide table or the section links on a phone): those are meant to be wider.
OVERFLOWING = """(function () {
  var width = document.documentElement.clientWidth, out = [];
  function scrolls(el) {
    for (var p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      var o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { return true; }
    }
    return false;
  }
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= width + 0.5 || scrolls(el)) { return; }
    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && el.className.baseVal === undefined ? '.' + el.className : '') +
      ' right=' + Math.round(r.right));
  });
  return out;
})()"""

# Boxes inside the run events that scroll vertically (a scrollbar nested in the page's).
NESTED_SCROLL = """(function () {
  var out = [];
  document.querySelectorAll('#events, #events *').forEach(function (el) {
    var o = getComputedStyle(el).overflowY;
    var scrolling = o === 'auto' || o === 'scroll';
    if (scrolling && el.scrollHeight > el.clientHeight) { out.push(el.tagName); }
  });
  return out;
})()"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("browser")
    return write_report(run_sandbox(directory), directory / "report.html")


@pytest.fixture(scope="module")
def browser() -> Chromium:  # type: ignore[misc]
    with Chromium() as chromium:
        yield chromium


def visible(page: Page, selector: str) -> list[bool]:
    return list(page.evaluate(f"{VISIBLE}({selector!r})"))


def test_loads_without_errors_and_shows_charts_and_tables(
    report: Path, browser: Chromium, tmp_path: Path
) -> None:
    page = browser.open(report.as_uri())
    assert page.console_errors() == []
    charts = visible(page, "section svg")
    assert len(charts) == 4
    assert all(charts)
    assert page.evaluate("document.querySelectorAll('.chart svg rect').length") > 20
    assert all(visible(page, "table.data"))
    assert page.evaluate("document.querySelectorAll('#ct tbody tr.on').length") == 48
    assert all(visible(page, "#ct tbody tr"))
    assert page.evaluate("document.getElementById('controls').hidden") is False
    assert page.evaluate("document.getElementById('pinfo').textContent") == "1–48 of 48"
    _save(page, tmp_path / "report.png")
    target = os.environ.get("REPORT_SCREENSHOT")
    if target:
        top = browser.open(report.as_uri(), width=1400, height=2200)
        top.screenshot(Path(target), full_page=False)


def test_search_and_sort(report: Path, browser: Chromium) -> None:
    page = browser.open(report.as_uri())
    page.evaluate(
        "(function(){var q=document.getElementById('q');q.value='inv-24007';"
        "q.dispatchEvent(new Event('input'));})()"
    )
    shown = page.evaluate(
        "new Promise(function(r){setTimeout(function(){r(Array.prototype.map.call("
        "document.querySelectorAll('#ct tbody tr.on'),function(tr){return tr.cells[6].textContent}"
        "))},400)})",
        await_promise=True,
    )
    assert shown == ["order_id: INV-24007; amount: 3153"]
    page.evaluate(
        "(function(){var q=document.getElementById('q');q.value='';"
        "q.dispatchEvent(new Event('input'));})()"
    )
    talk = page.evaluate(
        "new Promise(function(r){setTimeout(function(){"
        "var th=document.querySelectorAll('#ct th')[4];th.click();th.click();"
        "r(Array.prototype.map.call(document.querySelectorAll('#ct tbody tr.on'),"
        "function(tr){return Number(tr.cells[4].getAttribute('data-v'))}))},300)})",
        await_promise=True,
    )
    assert len(talk) == 48
    assert talk == sorted(talk, reverse=True)
    assert talk[0] > 0
    attempts = page.evaluate(
        "(function(){document.querySelectorAll('#ct th')[3].click();"
        "return Array.prototype.map.call(document.querySelectorAll('#ct tbody tr.on'),"
        "function(tr){return Number(tr.cells[3].textContent)})})()"
    )
    assert attempts == sorted(attempts)
    assert attempts[0] < attempts[-1]
    assert page.console_errors() == []


def test_the_table_is_complete_without_script(report: Path, browser: Chromium) -> None:
    page = browser.open("about:blank")
    page.call("Emulation.setScriptExecutionDisabled", {"value": True})
    page.goto(report.as_uri())
    page.call("Emulation.setScriptExecutionDisabled", {"value": False})
    rows = visible(page, "#ct tbody tr")
    assert len(rows) == 48
    assert all(rows)
    assert visible(page, "#controls") == [False]


def test_a_phone_screen_does_not_scroll_sideways(
    report: Path, browser: Chromium, tmp_path: Path
) -> None:
    page = browser.open(report.as_uri(), width=390, height=844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.console_errors() == []
    _save(page, tmp_path / "phone.png", full_page=False)


@pytest.mark.parametrize("width", [1400, 420])
def test_nothing_sticks_out_of_the_page(
    report: Path, browser: Chromium, tmp_path: Path, width: int
) -> None:
    page = browser.open(report.as_uri(), width=width, height=900)
    _save(page, tmp_path / f"report-{width}.png")
    assert page.evaluate(OVERFLOWING) == []
    # ...and the check sees a card that does stick out.
    page.evaluate(
        "(function(){var d=document.createElement('div');d.id='wide';d.style.width='3000px';"
        "d.style.height='4px';document.querySelector('#talk').appendChild(d);})()"
    )
    assert any(e.startswith("div#wide") for e in page.evaluate(OVERFLOWING))
    page.evaluate("document.getElementById('wide').remove()")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(NESTED_SCROLL) == []
    # The charts use their card's width: the last column ends near the right axis end.
    ends = page.evaluate(
        "Array.prototype.map.call(document.querySelectorAll('#timeline svg, #api svg'),"
        "function (svg) { var w = svg.viewBox.baseVal.width, m = 0;"
        "svg.querySelectorAll('rect').forEach(function (r) {"
        " m = Math.max(m, r.x.baseVal.value + r.width.baseVal.value); }); return m / w; })"
    )
    assert len(ends) == 2
    assert min(ends) > 0.9
    if width < 600:  # the section links stay on one line that slides sideways
        heights = page.evaluate(
            "(function(){var n=document.querySelector('nav.toc');"
            "return [n.getBoundingClientRect().height,"
            " n.querySelector('a').getBoundingClientRect().height];})()"
        )
        assert heights[0] < 2 * heights[1] + 16
    assert page.console_errors() == []


HOSTILE = {
    "+919812300001": {"name": '=HYPERLINK("http://evil.test","x")', "note": "@SUM(A1)"},
    "+919812300002": {"name": "+cmd|' /C calc'!A0", "note": "-2+3"},
    "+919812300003": {"name": "\tTabbed", "note": 'plain, with "quotes"'},
}


def test_contacts_csv_is_made_in_the_page_and_defused(browser: Chromium, tmp_path: Path) -> None:
    book = Book(tmp_path / "hostile.sqlite3")
    book.contacts(*HOSTILE.items())
    book.run(T0, T0 + 600)
    book.call("+919812300001", "connected", T0, talk=42)
    journal = book.close()
    for mask in (False, True):
        page = browser.open(
            write_report(journal, tmp_path / f"r{mask}.html", mask=mask).as_uri(), width=420
        )
        rows = list(csv.reader(io.StringIO(page.evaluate("window.campaignerCsv.text()"))))
        assert rows[0] == ["phone", "name", "outcome", "reason", "attempts", "talk_seconds",
                           "recording", "details", "calls"]  # fmt: skip
        assert len(rows) == 4
        first, second, third = rows[1:]
        # A plain E.164 number stays a number; a masked one would read as a formula.
        assert first[0] == (
            "'+91\u2022\u2022\u2022\u2022\u2022\u20220001" if mask else "+919812300001"
        )
        assert first[1] == '\'=HYPERLINK("http://evil.test","x")'
        assert (first[2], first[4], first[5]) == ("connected", "1", "42")
        assert first[7] == "note: @SUM(A1)"  # not at the start of the cell: harmless
        assert second[1] == "'+cmd|' /C calc'!A0"
        assert third[1] == "'\tTabbed"
        assert third[7] == 'note: plain, with "quotes"'
        for value in ("=1", "+1", "-1", "@a", "\t1", "\r1"):
            assert page.evaluate(f"window.campaignerCsv.cell({value!r})").lstrip('"')[0] == "'"
        assert page.evaluate("window.campaignerCsv.cell('+919812300001')") == "+919812300001"
    # The button downloads the same text as a file (with a BOM for spreadsheets).
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.call(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    page.evaluate("document.getElementById('csv').click()")
    deadline = time.monotonic() + 20
    while not list(downloads.glob("*.csv")) and time.monotonic() < deadline:
        time.sleep(0.1)  # waiting for the browser's file, not timing anything
    files = list(downloads.glob("*.csv"))
    assert [f.name for f in files] == ["november-reminders-contacts.csv"]
    text = files[0].read_bytes().decode("utf-8-sig")
    assert text == page.evaluate("window.campaignerCsv.text()")


def _save(page: Page, path: Path, *, full_page: bool = True) -> None:
    page.screenshot(path, full_page=full_page)
    assert path.stat().st_size > 10_000
