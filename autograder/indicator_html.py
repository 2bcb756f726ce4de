"""The steering committee's report: one self-contained French HTML page, charts as inline SVG
(:mod:`autograder.indicator_charts`: no script, no CDN, nothing fetched when it is opened)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from autograder.indicator_charts import horizontal_bars, vertical_bars

TEMPLATES = Path(__file__).parent / "templates"
DIMENSION_LABELS = {"track": "Parcours et bootcamps", "cohort": "Cohorte", "region": "Région",
                    "gender": "Genre", "employer_type": "Type d'employeur"}
MEASURE_LABELS = {"talents_trained": "Talents formés", "starts": "Démarrages",
                  "in_progress": "En cours", "completion_rate": "Taux d'achèvement"}
VALUE_LABELS = {"F": "Femmes", "M": "Hommes", "ministry": "Ministère",
                "agency": "Agence ou établissement public", "local_authority": "Collectivité territoriale",
                "startup": "Startup"}
COLOURS = {"talents_trained": "#0b6e4f", "starts": "#c1121f", "in_progress": "#f4a259"}


def trend_chart(quarters: list[dict[str, Any]]) -> str:
    """Talents trained and starts per quarter; a hidden value is marked ``s``."""
    return vertical_bars([q["quarter"] for q in quarters],
                         [(MEASURE_LABELS[m], COLOURS[m], [q["total"][m] for q in quarters])
                          for m in ("talents_trained", "starts")], "personnes")


def breakdown_chart(entries: list[dict[str, Any]], labels: Mapping[str, str]) -> str:
    """Talents trained and in progress per value of one dimension (horizontal bars)."""
    return horizontal_bars([labels.get(e["value"], e["value"]) for e in entries],
                           [(MEASURE_LABELS[m], COLOURS[m], [e[m] for e in entries])
                            for m in ("talents_trained", "in_progress")], "personnes")


def render(doc: dict[str, Any], trend: list[dict[str, Any]], titles: Mapping[str, str],
           audit_head: str) -> str:
    """The report for the last quarter of ``doc``, with the trend over ``trend`` (quarter objects of
    the same shape, each published with the same rules)."""
    labels = {**VALUE_LABELS, **titles}
    latest = doc["quarters"][-1]
    charts = {"trend": trend_chart(trend)}
    for dim in ("track", "region"):
        if latest["breakdowns"].get(dim):
            charts[dim] = breakdown_chart(latest["breakdowns"][dim], labels)
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(["html"]))
    environment.filters["fr"] = _french_number
    return environment.get_template("indicators.html").render(
        doc=doc, latest=latest, trend=trend, charts=charts, labels=labels,
        dimension_labels=DIMENSION_LABELS, measure_labels=MEASURE_LABELS, audit_head=audit_head)


def _french_number(value: object) -> str:
    if value is None:
        return "s"
    if isinstance(value, float):
        return f"{value:.1f} %".replace(".", ",")
    return f"{value:,}".replace(",", "\u202f")


def write_html(path: Path, html: str) -> Path:
    path.write_text(html, encoding="utf-8")
    return path
