"""Run report: reads one run's figures (ReportData) and writes a self-contained HTML file with inline SVG charts."""

from tgportrait.report.html import ReportData, render_report, write_report

__all__ = ["ReportData", "render_report", "write_report"]
