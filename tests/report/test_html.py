"""Tests for the HTML run report: self-contained, escaped, charts drawn to scale, empty runs rendered."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from tgportrait.report import ReportData, render_report, write_report

HOSTILE = '<script>alert(1)</script>"onload="alert(2)'
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
EXTERNAL_REFERENCE = re.compile(
    r"""(?:\b(?:src|href|xlink:href)\s*=\s*["']?\s*|url\(\s*["']?\s*|@import\s+["']?)(?:https?:)?//""",
    re.IGNORECASE,
)
LANGUAGES = {"id": 2100, "en": 1500, "ms": 600, "ru": 300, "zh": 200, "th": 90, "vi": 80, "tl": 60, "ar": 40,
             "hi": 30, "ko": 20, "ja": 10}


def label(dimension: str, leaf: str, persons: int) -> dict[str, object]:
    return {"label_id": f"{dimension}/{leaf}", "path": [dimension, "group", leaf], "persons": persons,
            "share": persons / 1000}


@pytest.fixture
def beauty_run() -> ReportData:
    """A small beauty-shop run: 2 imports, 3 label dimensions (one with 10 labels), 3 segments, 12 languages."""
    return ReportData(
        title="Glow Beauty community",
        generated_at=datetime(2025, 1, 5, 9, 30, tzinfo=UTC),
        workspace="glow-beauty",
        engine="duckdb",
        run_id="run-20250105-0930",
        imports=[
            {"source": "telegram_export", "file": "result.json", "imported": 9000, "duplicates": 80, "quarantined": 20,
             "by_type": {"message": 8500, "join": 500}},
            {"source": "crm", "file": "orders.csv", "imported": 1000, "duplicates": 20, "quarantined": 5,
             "by_type": {"order": 1000}},
        ],
        quality={
            "before": {"records": 10125, "duplication_rate": 0.1, "invalid_rate": 0.02, "invalid": 202,
                       "exact_duplicate_rows": 1012, "profile_records": 1100, "duplicates": 110},
            "after": {"records": 9000, "duplication_rate": 0.0, "invalid_rate": 0.005, "invalid": 45,
                      "persons": 1000, "duplicates": 0},
            "by_source": {
                "telegram_export": {"records_in": 9100, "duplicates": 80, "invalid": 20, "kept": 9000,
                                    "invalid_by_reason": {"missing from_id": 15, "bad date": 5}},
                "crm": {"records_in": 1025, "duplicates": 20, "invalid": 5, "kept": 1000,
                        "invalid_by_reason": {"negative amount": 5}},
            },
        },
        persons=1000,
        label_distribution=[label("Demand preferences", f"leaf {n}", 100 * (n + 1)) for n in range(10)]
        + [label("Consumption capacity", "high", 120), label("Consumption capacity", "medium", 480)]
        + [label("User attributes", "26-35", 300)],
        segments=[
            {"name": "Dormant chatters", "rule": "last_seen_days > 30", "count": 150, "share": 0.15},
            {"name": "High spenders", "rule": "avg_order_usd >= 500", "count": 50, "share": 0.05},
            {"name": "New buyers", "rule": "orders_90d >= 1", "count": 300, "share": 0.3},
        ],
        example_portraits=[
            {"person_id": f"p-{n}", "summary": f"Portrait number {n}",
             "labels": [{"id": "skin/sensitive", "path": ["Demand preferences", "Skin", "Sensitive"], "weight": 0.8,
                         "evidence": {"asked": "ok for sensitive skin?", "orders_90d": 2}}],
             "attributes": {"country": "ID"}, "facts": {"orders_90d": 2}}
            for n in range(4)
        ],
        feature_histograms={
            "spend_365d_usd": [("0", 120), ("1-50", 300), ("51-200", 240), ("201-500", 60), ("500+", 30)],
            "messages_90d": [("0", 400), ("1-5", 500), ("6+", 100)],
        },
        activity_by_hour=[hour * 10 for hour in range(24)],
        languages=LANGUAGES,
        notes=["Age band comes from the questionnaire only."],
        labelled_persons=915,
    )


@pytest.fixture
def empty_run(beauty_run: ReportData) -> ReportData:
    """A run that found nothing: no imports, persons, labels, segments, portraits, histograms or activity."""
    return replace(beauty_run, imports=[], quality={}, persons=0, label_distribution=[], segments=[],
                   example_portraits=[], feature_histograms={}, activity_by_hour=[], languages={}, notes=[],
                   labelled_persons=None)


def charts(html: str) -> dict[str, ElementTree.Element]:
    """Every inline <svg>, parsed as XML, by id."""
    parsed = [ElementTree.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)]
    return {svg.attrib["id"]: svg for svg in parsed}


def bars(svg: ElementTree.Element) -> list[ElementTree.Element]:
    return [rect for rect in svg.iter("rect") if rect.get("class") == "bar"]


class SectionReader(HTMLParser):
    """Checks that every non-void element closes in order and collects each <section>'s text by id."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.section_ids: list[str] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            return
        self.open.append(tag)
        if tag == "section":
            self.section_ids.append(dict(attrs).get("id") or dict(attrs).get("aria-label") or "")
        if tag in ("td", "th"):
            self.handle_data(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else 'nothing'}>")
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if "section" in self.open:
            section = self.section_ids[-1]
            self.text[section] = self.text.get(section, "") + data


def read_sections(html: str) -> SectionReader:
    reader = SectionReader()
    reader.feed(html)
    reader.close()
    return reader


def normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("sample", [
    '<script src="https://cdn.example.com/chart.js"></script>',
    '<link rel="stylesheet" href="http://fonts.example.com/css">',
    "<style>body { background: url( 'https://x.example/bg.png') }</style>",
    '<style>@import "//fonts.example.com/inter.css";</style>',
    '<img src=//x.example/pixel.gif>',
])
def test_external_reference_pattern_catches_remote_resources(sample: str) -> None:
    assert EXTERNAL_REFERENCE.search(sample)


def test_report_loads_nothing_from_the_network(beauty_run: ReportData) -> None:
    with_links = replace(beauty_run, notes=["Clicked https://shop.example/sale from the channel post."])
    html = render_report(with_links)
    assert EXTERNAL_REFERENCE.findall(html) == []
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "https://shop.example/sale" in html  # a URL in the data is text, not a reference


def test_stylesheet_is_inlined_from_the_package(beauty_run: ReportData) -> None:
    stylesheet = resources.files("tgportrait.report").joinpath("static/report.css").read_text(encoding="utf-8")
    html = render_report(beauty_run)
    assert f"<style>\n{stylesheet}\n</style>" in html


def test_each_chart_is_one_svg(beauty_run: ReportData) -> None:
    html = render_report(beauty_run)
    assert html.count("<svg") == 9
    assert sorted(charts(html)) == [
        "chart-activity", "chart-feature-1", "chart-feature-2", "chart-labels-1", "chart-labels-2",
        "chart-labels-3", "chart-languages", "chart-quality", "chart-segments",
    ]


@pytest.mark.parametrize(("chart_id", "expected_bars"), [
    ("chart-quality", 6),  # before and after, each clean + duplicates + invalid
    ("chart-labels-1", 8),  # 10 labels in the dimension, top 8 drawn
    ("chart-labels-2", 2),
    ("chart-labels-3", 1),
    ("chart-segments", 3),
    ("chart-feature-1", 5),
    ("chart-feature-2", 3),
    ("chart-activity", 24),
    ("chart-languages", 11),  # top 10 and "other (2 languages)"
])
def test_charts_draw_one_bar_per_value(beauty_run: ReportData, chart_id: str, expected_bars: int) -> None:
    assert len(bars(charts(render_report(beauty_run))[chart_id])) == expected_bars


def test_label_charts_say_how_many_labels_are_hidden(beauty_run: ReportData) -> None:
    text = normalised(read_sections(render_report(beauty_run)).text["labels"])
    assert "Demand preferences: 10 labels assigned, top 8 shown." in text
    assert "User attributes: 1 label assigned." in text


def test_horizontal_bar_widths_are_proportional_to_values(beauty_run: ReportData) -> None:
    segment_bars = bars(charts(render_report(beauty_run))["chart-segments"])
    widths = [float(bar.attrib["width"]) for bar in segment_bars]
    assert [bar.findtext("title") for bar in segment_bars] == [
        "New buyers: 300 · 30.0%", "Dormant chatters: 150 · 15.0%", "High spenders: 50 · 5.0%"]
    assert widths[0] / 300 == pytest.approx(widths[1] / 150, rel=1e-3) == pytest.approx(widths[2] / 50, rel=1e-3)
    assert len({float(bar.attrib["x"]) for bar in segment_bars}) == 1  # one common baseline


def test_vertical_bar_heights_are_proportional_to_values(beauty_run: ReportData) -> None:
    svg = charts(render_report(beauty_run))["chart-feature-1"]
    heights = [float(bar.attrib["height"]) for bar in bars(svg)]
    values = [120, 300, 240, 60, 30]
    assert [height / value for height, value in zip(heights, values, strict=True)] == pytest.approx(
        [heights[1] / 300] * 5, rel=1e-3)
    bottoms = {round(float(bar.attrib["y"]) + float(bar.attrib["height"]), 2) for bar in bars(svg)}
    assert len(bottoms) == 1  # every bar stands on the same axis


def test_activity_bars_follow_the_counts_and_highlight_the_peak(beauty_run: ReportData) -> None:
    html = render_report(beauty_run)
    hour_bars = bars(charts(html)["chart-activity"])
    heights = [float(bar.attrib["height"]) for bar in hour_bars]
    assert heights[0] == 0
    assert heights[1:] == pytest.approx([heights[23] * hour / 23 for hour in range(1, 24)], rel=1e-3)
    assert [bar.attrib["fill"] for bar in hour_bars].count("#E69F00") == 1
    assert hour_bars[23].attrib["fill"] == "#E69F00"
    assert "Most active 23:00–00:00 local time" in normalised(read_sections(html).text["activity"])


def test_activity_peak_at_midnight_is_drawn(beauty_run: ReportData) -> None:
    html = render_report(replace(beauty_run, activity_by_hour=[50] + [0] * 23))
    assert "Most active 00:00–01:00 local time" in normalised(read_sections(html).text["activity"])


def test_stacked_quality_bars_are_on_one_scale(beauty_run: ReportData) -> None:
    quality_bars = bars(charts(render_report(beauty_run))["chart-quality"])
    widths = {(bar.findtext("title") or "").split(":")[0]: float(bar.attrib["width"]) for bar in quality_bars}
    # before: 10,125 records = 8,910 clean + 1,012 duplicates + 202 invalid (rounded); after: 8,955 + 0 + 45
    counts = {"Before clean": 8910, "Before duplicates": 1012, "Before invalid": 202,
              "After clean": 8955, "After duplicates": 0, "After invalid": 45}
    unit = widths["Before clean"] / 8910
    assert widths == pytest.approx({name: count * unit for name, count in counts.items()}, rel=1e-3)


def test_quality_section_shows_merges_shares_and_invalid_identifiers(beauty_run: ReportData) -> None:
    quality = {**beauty_run.quality,
               "before": {**beauty_run.quality["before"], "invalid_identifiers": 7,
                          "invalid_identifiers_by_reason": {"phone: not a valid phone number": 5,
                                                            "email: not an e-mail address": 2},
                          "blocked_identifiers": 3},
               "after": {**beauty_run.quality["after"], "redundant_share": 0.125, "consent_blocked_share": 0.25},
               "identity": {"merged_deterministic": 90, "merged_fuzzy": 8, "merged_manual": 2},
               "by_source": {"crm": {**beauty_run.quality["by_source"]["crm"], "merged_deterministic": 40,
                                     "merged_fuzzy": 3, "merged_manual": 1, "redundant_share": 0.0,
                                     "consent_blocked_share": 0.5,
                                     "invalid_identifiers_by_reason": {"email: not an e-mail address": 2,
                                                                       "phone: not a valid phone number": 5},
                                     "blocked_identifiers_by_reason": {"email: blocked junk value": 3}},
                             "telegram_export": beauty_run.quality["by_source"]["telegram_export"]}}
    text = normalised(read_sections(render_report(replace(beauty_run, quality=quality))).text["quality"])
    assert "Invalid identifiers (dropped, row kept) 7 —" in text
    assert "Junk identifiers (blocked, never link) 3 —" in text
    assert "Merged profiles (deterministic / fuzzy / manual) — 90 / 8 / 2" in text
    assert "Redundant share (events) — 12.5%" in text
    assert "Consent-blocked share (events) — 25.0%" in text
    assert "crm 1,025 20 5 1,000 negative amount 5 40 / 3 / 1 0% 50.0% phone: not a valid phone number 5" in text
    # most frequent rejected reason first, then the blocked junk values
    assert "number 5email: not an e-mail address 2email: blocked junk value 3 telegram_export" in text
    assert "telegram_export 9,100 80 20 9,000 missing from_id 15bad date 5 — — — none" in text


def test_charts_are_accessible(beauty_run: ReportData) -> None:
    for chart_id, svg in charts(render_report(beauty_run)).items():
        assert svg.attrib["role"] == "img"
        assert svg.attrib["aria-labelledby"] == f"{chart_id}-title {chart_id}-desc"
        assert svg.find("title").get("id") == f"{chart_id}-title"  # type: ignore[union-attr]
        assert (svg.findtext("desc") or "").strip()


def test_key_figures_strip(beauty_run: ReportData) -> None:
    text = normalised(read_sections(render_report(beauty_run)).text["Key figures"])
    assert text == (
        "Persons 1,000 after identity resolution "
        "Events 10,000 imported from 2 files "
        "Duplication 10.0% → 0% before → after cleaning "
        "Invalid 2.0% → 0.5% before → after cleaning "
        "Labelled 91.5% 915 of 1,000 persons"
    )


def test_hostile_strings_are_escaped_everywhere(beauty_run: ReportData) -> None:
    hostile_portrait = {
        "person_id": HOSTILE, "summary": HOSTILE,
        "labels": [{"id": HOSTILE, "path": ["Demand preferences", HOSTILE, "</svg>"], "weight": 0.5,
                    "evidence": {HOSTILE: HOSTILE}},
                   {"id": "x", "path": ["a", "b", "c"], "weight": 0.1, "evidence": HOSTILE}],
        "attributes": {HOSTILE: HOSTILE}, "facts": {"note": HOSTILE},
    }
    hostile = replace(
        beauty_run,
        title=HOSTILE, workspace=HOSTILE, engine=HOSTILE, run_id=HOSTILE,
        imports=[{**beauty_run.imports[0], "source": HOSTILE, "file": HOSTILE, "by_type": {HOSTILE: 1}}],
        label_distribution=[label(HOSTILE, "</svg><script>x</script>", 10)],
        segments=[{"name": HOSTILE, "rule": HOSTILE, "count": 5, "share": 0.5}],
        example_portraits=[hostile_portrait],
        feature_histograms={HOSTILE: [(HOSTILE, 3)]},
        languages={HOSTILE: 4},
        notes=[HOSTILE],
    )
    html = render_report(hostile)
    assert "<script" not in html.lower()
    assert '"onload=' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onload=&#34;alert(2)" in html
    assert len(charts(html)) == 6  # every SVG still parses and none was cut short by "</svg>" in a label
    assert read_sections(html).problems == []


def test_portrait_cards_show_three_examples_with_evidence_in_details(beauty_run: ReportData) -> None:
    html = render_report(beauty_run)
    text = normalised(read_sections(html).text["portraits"])
    assert [f"Portrait number {n}" in text for n in range(4)] == [True, True, True, False]
    assert html.count('<article class="card">') == 3
    assert html.count("<details>") == 3
    assert "asked: ok for sensitive skin?" in text
    assert "Demand preferences › Skin › Sensitive" in text


@pytest.mark.parametrize("run", ["beauty_run", "empty_run"])
def test_sections_are_balanced(run: str, request: pytest.FixtureRequest) -> None:
    reader = read_sections(render_report(request.getfixturevalue(run)))
    assert reader.problems == []
    assert reader.open == []
    assert reader.section_ids == ["Key figures", "imports", "quality", "persons", "labels", "segments", "portraits",
                                  "features", "activity", "languages", "notes"]


def test_empty_run_says_no_data(empty_run: ReportData) -> None:
    html = render_report(empty_run)
    sections = read_sections(html).text
    assert "<svg" not in html
    for section in ("imports", "quality", "persons", "labels", "segments", "portraits", "features", "activity",
                    "languages"):
        assert "No data" in sections[section], section
    assert normalised(sections["notes"]) == "Notes No caveats were recorded for this run."
    assert "Labelled — not counted in this run" in normalised(sections["Key figures"])
    assert "Duplication — → — before → after cleaning" in normalised(sections["Key figures"])


def test_zero_persons_with_a_labelled_count(empty_run: ReportData) -> None:
    text = normalised(read_sections(render_report(replace(empty_run, labelled_persons=0))).text["Key figures"])
    assert "Labelled — no persons" in text


def test_sparse_rows_render_with_dashes_and_zeros(empty_run: ReportData) -> None:
    sparse = replace(empty_run, imports=[{"source": "crm"}], quality={"before": {"records": 10}},
                     segments=[{"name": "Everyone"}], label_distribution=[{"label_id": "vip"}],
                     example_portraits=[{"person_id": "p-1"}])
    sections = {name: normalised(text) for name, text in read_sections(render_report(sparse)).text.items()}
    assert "crm 0 0 0" in sections["imports"]
    assert "Duplication rate (profiles) — —" in sections["quality"]
    assert "Merged profiles (deterministic / fuzzy / manual) — — Redundant share (events) — —" in sections["quality"]
    assert "Everyone 0 —" in sections["segments"]
    assert "No summary. No labels." in sections["portraits"]


def test_feature_without_buckets_says_no_data(beauty_run: ReportData) -> None:
    html = render_report(replace(beauty_run, feature_histograms={"spend_365d_usd": []}))
    assert "spend_365d_usd: no data." in normalised(read_sections(html).text["features"])
    assert "chart-feature-1" not in charts(html)


def test_activity_needs_24_hours(beauty_run: ReportData) -> None:
    with pytest.raises(ValueError, match=r"activity_by_hour has 23 counts; give 24 \(hours 00-23, local time\)"):
        replace(beauty_run, activity_by_hour=[1] * 23)


def test_write_report_writes_the_rendered_page(beauty_run: ReportData, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run.html"
    assert write_report(beauty_run, target) == target
    assert target.read_text(encoding="utf-8") == render_report(beauty_run)
    assert [path.name for path in target.parent.iterdir()] == ["run.html"]  # no temporary file left behind
