"""HTML report: reads one run's figures (a ReportData) and writes a single self-contained HTML file.

The file has the stylesheet inlined from ``static/report.css``, every chart as inline SVG (``charts.py``),
no script and no external URL, so it opens offline, mails as an attachment and prints. The template is
rendered by Jinja2 with autoescaping always on: every string taken from the data is free text and is escaped.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from tgportrait.report.charts import (
    Bar,
    format_count,
    format_percent,
    horizontal_bar_chart,
    hourly_activity_chart,
    vertical_bar_chart,
)
from tgportrait.report.quality_view import QualitySource, quality_chart, quality_rates, quality_source

TEMPLATE_NAME = "report.html.j2"
STYLESHEET = "static/report.css"
TOP_LABELS_PER_DIMENSION = 8
EXAMPLE_PORTRAITS = 3
TOP_LANGUAGES = 10
PATH_SEPARATOR = " › "


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows; built by the pipeline from a recorded run."""

    title: str
    generated_at: datetime
    workspace: str
    engine: str
    run_id: str
    imports: list[dict[str, Any]]  # {"source","file","imported","duplicates","quarantined","by_type":{...}}
    quality: dict[str, Any]  # {"before":{...}, "after":{...}, "by_source":{source:{...}}}
    persons: int
    label_distribution: list[dict[str, Any]]  # {"label_id","path":[l1,l2,l3],"persons":n,"share":0..1}
    segments: list[dict[str, Any]]  # {"name","rule","count","share"}
    example_portraits: list[dict[str, Any]]  # {"person_id","summary","labels":[...],"attributes","facts"}
    feature_histograms: dict[str, list[tuple[str, int]]]  # {"spend_365d_usd": [("0", 120), ("1-50", 300)]}
    activity_by_hour: list[int]  # 24 counts, local time (or empty)
    languages: dict[str, int]
    notes: list[str]  # honest caveats, shown at the end
    labelled_persons: int | None = None  # persons with at least one label; None when the run did not count it

    def __post_init__(self) -> None:
        if self.activity_by_hour and len(self.activity_by_hour) != 24:
            raise ValueError(
                f"ReportData.activity_by_hour has {len(self.activity_by_hour)} counts; "
                "give 24 (hours 00-23, local time) or an empty list"
            )


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: str
    detail: str


@dataclass(frozen=True)
class ImportRow:
    source: str
    file: str
    imported: int
    duplicates: int
    quarantined: int
    by_type: list[tuple[str, int]]


@dataclass(frozen=True)
class SegmentRow:
    name: str
    rule: str
    count: int
    share: float | None


@dataclass(frozen=True)
class LabelDimension:
    name: str
    label_count: int
    chart: Markup
    more: int


@dataclass(frozen=True)
class PortraitLabel:
    path: str
    weight: str
    weight_percent: float
    evidence: list[str]


@dataclass(frozen=True)
class PortraitCard:
    person_id: str
    summary: str
    labels: list[PortraitLabel]
    attributes: list[tuple[str, str]]
    facts: list[tuple[str, str]]


@dataclass(frozen=True)
class ReportView:
    """The report as the template sees it: formatted figures, normalised rows and ready-drawn charts."""

    title: str
    workspace: str
    engine: str
    run_id: str
    generated_at_iso: str
    generated_at_text: str
    key_figures: list[KeyFigure]
    persons: int
    events: int
    imports: list[ImportRow]
    quality_chart: Markup | None
    quality_rates: list[tuple[str, str, str]]
    quality_sources: list[QualitySource]
    label_dimensions: list[LabelDimension]
    segments: list[SegmentRow]
    segments_chart: Markup | None
    portraits: list[PortraitCard]
    histograms: list[tuple[str, Markup | None]]
    activity_chart: Markup | None
    activity_peak: str
    languages_chart: Markup | None
    notes: list[str]


def render_report(data: ReportData) -> str:
    """The complete HTML document for ``data``."""
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(report=build_report_view(data), stylesheet=Markup(_stylesheet()))


def write_report(data: ReportData, path: Path) -> Path:
    """Write the report to ``path`` atomically (a half-written file never replaces a good one); return ``path``."""
    html = render_report(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is meant to be opened and shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def build_report_view(data: ReportData) -> ReportView:
    """Normalise the raw dictionaries, format the headline figures and draw the charts."""
    imports = [_import_row(row) for row in data.imports]
    events = sum(row.imported for row in imports)
    before, after = data.quality.get("before") or {}, data.quality.get("after") or {}
    segments = sorted((_segment_row(segment) for segment in data.segments), key=lambda segment: -segment.count)
    hours = list(data.activity_by_hour)
    peak = max(range(24), key=lambda hour: hours[hour]) if any(hours) else None
    return ReportView(
        title=data.title,
        workspace=data.workspace,
        engine=data.engine,
        run_id=data.run_id,
        generated_at_iso=data.generated_at.isoformat(),
        generated_at_text=data.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        key_figures=_key_figures(data, events, len(imports), before, after),
        persons=data.persons,
        events=events,
        imports=imports,
        quality_chart=quality_chart(before, after),
        quality_rates=quality_rates(data.quality),
        quality_sources=[quality_source(name, row) for name, row in (data.quality.get("by_source") or {}).items()],
        label_dimensions=_label_dimensions(data.label_distribution),
        segments=segments,
        segments_chart=_segments_chart(segments),
        portraits=[_portrait_card(portrait) for portrait in data.example_portraits[:EXAMPLE_PORTRAITS]],
        histograms=_feature_histograms(data.feature_histograms),
        activity_chart=None if peak is None else hourly_activity_chart("chart-activity", "Events by hour", hours),
        activity_peak="" if peak is None else f"{peak:02d}:00–{(peak + 1) % 24:02d}:00",
        languages_chart=_languages_chart(data.languages),
        notes=list(data.notes),
    )


def _key_figures(
    data: ReportData, events: int, files: int, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[KeyFigure]:
    if data.labelled_persons is None:
        labelled = KeyFigure("Labelled", "—", "not counted in this run")
    elif data.persons:
        labelled = KeyFigure("Labelled", format_percent(data.labelled_persons / data.persons),
                             f"{format_count(data.labelled_persons)} of {format_count(data.persons)} persons")
    else:
        labelled = KeyFigure("Labelled", "—", "no persons")
    return [
        KeyFigure("Persons", format_count(data.persons), "after identity resolution"),
        KeyFigure("Events", format_count(events), f"imported from {files} file{'' if files == 1 else 's'}"),
        KeyFigure("Duplication", _before_after(before, after, "duplication_rate"), "before → after cleaning"),
        KeyFigure("Invalid", _before_after(before, after, "invalid_rate"), "before → after cleaning"),
        labelled,
    ]


def _before_after(before: Mapping[str, Any], after: Mapping[str, Any], rate: str) -> str:
    return f"{format_percent(before.get(rate))} → {format_percent(after.get(rate))}"


def _import_row(row: Mapping[str, Any]) -> ImportRow:
    by_type = sorted(((str(kind), int(_number(n))) for kind, n in (row.get("by_type") or {}).items()),
                     key=lambda item: -item[1])
    return ImportRow(str(row.get("source", "")), str(row.get("file", "")), int(_number(row.get("imported"))),
                     int(_number(row.get("duplicates"))), int(_number(row.get("quarantined"))), by_type)


def _label_dimensions(distribution: list[dict[str, Any]]) -> list[LabelDimension]:
    """Group labels by their level-1 dimension (in first-seen order) and chart the top ones of each."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for label in distribution:
        path = _path_parts(label.get("path")) or [str(label.get("label_id", ""))]
        groups.setdefault(path[0], []).append(label)
    dimensions = []
    for index, (dimension, labels) in enumerate(groups.items(), start=1):
        top = sorted(labels, key=lambda label: -_number(label.get("persons")))[:TOP_LABELS_PER_DIMENSION]
        bars = [
            Bar(PATH_SEPARATOR.join(_path_parts(label.get("path"))[1:]) or str(label.get("label_id", "")),
                _number(label.get("persons")),
                f"{format_count(_number(label.get('persons')))} · {format_percent(label.get('share'))}")
            for label in top
        ]
        chart = horizontal_bar_chart(f"chart-labels-{index}", f"Top labels: {dimension}", bars,
                                     value_axis_label="persons with the label")
        dimensions.append(LabelDimension(dimension, len(labels), chart, len(labels) - len(top)))
    return dimensions


def _segment_row(segment: Mapping[str, Any]) -> SegmentRow:
    share = segment.get("share")
    return SegmentRow(str(segment.get("name", "")), str(segment.get("rule") or ""), int(_number(segment.get("count"))),
                      float(share) if isinstance(share, int | float) else None)


def _segments_chart(segments: list[SegmentRow]) -> Markup | None:
    if not segments:
        return None
    bars = [Bar(segment.name, segment.count, f"{format_count(segment.count)} · {format_percent(segment.share)}")
            for segment in segments]
    return horizontal_bar_chart("chart-segments", "Segment sizes", bars, value_axis_label="persons")


def _feature_histograms(histograms: Mapping[str, list[tuple[str, int]]]) -> list[tuple[str, Markup | None]]:
    """One vertical bar chart per feature, buckets in the order given; ``None`` for a feature with no buckets."""
    drawn: list[tuple[str, Markup | None]] = []
    for index, (name, buckets) in enumerate(histograms.items(), start=1):
        bars = [Bar(str(bucket), count) for bucket, count in buckets]
        chart = vertical_bar_chart(f"chart-feature-{index}", f"Distribution of {name}", bars,
                                   category_axis_label=name, value_axis_label="persons") if bars else None
        drawn.append((str(name), chart))
    return drawn


def _portrait_card(portrait: Mapping[str, Any]) -> PortraitCard:
    labels = []
    for label in portrait.get("labels") or []:
        weight = _number(label.get("weight"))
        labels.append(PortraitLabel(
            path=PATH_SEPARATOR.join(_path_parts(label.get("path"))) or str(label.get("id", "")),
            weight=f"{weight:.2f}",
            weight_percent=round(min(max(weight, 0.0), 1.0) * 100, 1),
            evidence=_evidence_lines(label.get("evidence")),
        ))
    return PortraitCard(
        person_id=str(portrait.get("person_id", "")),
        summary=str(portrait.get("summary") or ""),
        labels=labels,
        attributes=[(str(key), _plain(value)) for key, value in (portrait.get("attributes") or {}).items()],
        facts=[(str(key), _plain(value)) for key, value in (portrait.get("facts") or {}).items()],
    )


def _languages_chart(languages: Mapping[str, int]) -> Markup | None:
    ranked = sorted(languages.items(), key=lambda item: -item[1])
    if not ranked or not any(count for _, count in ranked):
        return None
    bars = [Bar(str(language), count) for language, count in ranked[:TOP_LANGUAGES]]
    rest = ranked[TOP_LANGUAGES:]
    if rest:
        bars.append(Bar(f"other ({len(rest)} languages)", sum(count for _, count in rest)))
    return horizontal_bar_chart("chart-languages", "Message languages", bars, value_axis_label="persons")


def _evidence_lines(evidence: Any) -> list[str]:
    if evidence is None or evidence == "":
        return []
    if isinstance(evidence, Mapping):
        return [f"{key}: {_plain(value)}" for key, value in evidence.items()]
    if isinstance(evidence, list | tuple):
        return [_plain(item) for item in evidence]
    return [str(evidence)]


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(item) for item in value)
    return "—" if value is None else str(value)


def _path_parts(path: Any) -> list[str]:
    if isinstance(path, str):
        return [part.strip() for part in path.split("/") if part.strip()]
    return [str(part) for part in path or []]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


@functools.cache
def _environment() -> Environment:
    # autoescape=True, not select_autoescape(): the template is named *.html.j2, which select_autoescape ignores.
    environment = Environment(
        loader=PackageLoader("tgportrait.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["count"] = format_count
    environment.filters["percent"] = format_percent
    return environment


@functools.cache
def _stylesheet() -> str:
    return resources.files("tgportrait.report").joinpath(STYLESHEET).read_text(encoding="utf-8")
