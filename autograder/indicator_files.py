"""The indicator as documents: JSON (validated against the versioned JSON Schema in
``autograder/schemas/``) and CSV. Building a document is pure; writing is the edge."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from autograder.indicators import COUNTS, IndicatorError
from autograder.suppression import PublishedQuarter

SCHEMA_VERSION = "1.0.0"
SCHEMA_FILE = Path(__file__).parent / "schemas" / f"indicators-{SCHEMA_VERSION}.schema.json"
HIDDEN_CSV = "s"
CSV_COLUMNS = ("quarter", "dimension", "value", *COUNTS, "completion_rate")


def _figures(published: PublishedQuarter, dimension: str | None = None,
             value: str | None = None) -> dict[str, int | float | None]:
    if dimension is None or value is None:
        counts = {m: published.totals[m] for m in COUNTS}
    else:
        counts = {m: published.cells[m][dimension].get(value) for m in COUNTS}
    return {**counts, "completion_rate": published.rate(dimension, value)}


def quarter_document(published: PublishedQuarter) -> dict[str, Any]:
    last_day = published.quarter.end - timedelta(days=1)
    dimensions = list(published.cells["talents_trained"])
    breakdowns = {
        dim: [{"value": value, **_figures(published, dim, value)}
              for value in published.cells["talents_trained"][dim]]
        for dim in dimensions
    }
    return {"quarter": str(published.quarter), "from": published.quarter.start.date().isoformat(),
            "to": last_day.date().isoformat(), "total": _figures(published),
            "breakdowns": breakdowns}


def document(quarters: list[PublishedQuarter], generated_at: datetime) -> dict[str, Any]:
    """The JSON document of one export: every quarter of the range, one after the other."""
    dimensions = list(quarters[0].cells["talents_trained"]) if quarters else []
    return {"schema_version": SCHEMA_VERSION, "indicator": "talents_trained",
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "k": quarters[0].k if quarters else 10, "dimensions": dimensions,
            "quarters": [quarter_document(q) for q in quarters]}


def split_by_quarter(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One document per quarter (what a push sends, quarter by quarter)."""
    return [{**doc, "quarters": [quarter]} for quarter in doc["quarters"]]


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_problems(doc: object) -> list[str]:
    """Every way ``doc`` breaks the schema, each with its JSON path."""
    return [f"{error.json_path}: {error.message}"
            for error in sorted(_validator().iter_errors(doc), key=lambda e: e.json_path)]


def validate(doc: object, source: str) -> None:
    problems = schema_problems(doc)
    if problems:
        raise IndicatorError(f"{source} does not follow {SCHEMA_FILE.name}:\n  "
                             + "\n  ".join(problems[:20]))


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    validate(doc, str(path))
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndicatorError(f"{path}: no such export; run `tadrib indicators` first.") from None
    except json.JSONDecodeError as error:
        raise IndicatorError(f"{path}: not JSON ({error}); export it again.") from None
    validate(doc, str(path))
    assert isinstance(doc, dict)
    return doc


def _cell(value: object) -> object:
    return HIDDEN_CSV if value is None else value


def write_csv(path: Path, doc: dict[str, Any]) -> Path:
    """One row per quarter and cell (``total`` first); hidden counts are ``s``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(CSV_COLUMNS)
        for quarter in doc["quarters"]:
            rows = [("total", "total", quarter["total"])]
            rows += [(dim, e["value"], e) for dim, entries in quarter["breakdowns"].items()
                     for e in entries]
            for dimension, value, figures in rows:
                counts = [_cell(figures[m]) for m in COUNTS]
                hidden = any(figures[m] is None for m in ("talents_trained", "in_progress"))
                rate = figures["completion_rate"]
                out.writerow([quarter["quarter"], dimension, value, *counts,
                              HIDDEN_CSV if hidden else ("" if rate is None else rate)])
    return path
