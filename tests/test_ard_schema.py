"""The ARD schema: documented in one page kept current, and enforced on every row."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, SchemaError, row
from trialpress.results.schema import ANALYSES, COLUMN_DOCS, markdown

ROOT = Path(__file__).resolve().parents[1]


def test_docs_page_is_generated_from_the_schema() -> None:
    assert (ROOT / "docs" / "ard.md").read_text(encoding="utf-8") == markdown(), \
        "regenerate: python -m trialpress.results.schema > docs/ard.md"


def test_every_column_is_documented() -> None:
    from trialpress.results.ard import COLUMNS

    assert list(COLUMNS) == list(COLUMN_DOCS)


@pytest.mark.parametrize("bad,why", [
    (dict(key=keys.km("OS", "median"), value=1.0, lower=3.0, upper=2.0), "lower"),
    (dict(key=keys.km("OS", "median"), value=1.0, n=-1), "negative"),
    (dict(key=keys.km("OS", "nonsense"), value=1.0), "statistic"),
    (dict(key=keys.Key("OS", "nonsense", "n"), value=1.0), "unknown analysis"),
    (dict(key=keys.cutoff(), value=3.0), "text-valued"),
    (dict(key=keys.km("OS", "median"), value=1.0, text="x"), "carries text"),
    (dict(key=keys.model("OS", "cox", "hr"), value=1.0, reference="A"), "comparator"),
])
def test_a_row_that_breaks_the_schema_is_rejected(bad: dict, why: str) -> None:
    key = bad.pop("key")
    with pytest.raises(SchemaError, match=why):
        ARDBuilder().add(row(key, **bad))


def test_an_infinite_row_is_rejected_and_row_makes_infinite_numbers_missing_with_a_note() -> None:
    from dataclasses import replace

    with pytest.raises(SchemaError, match="infinite"):
        ARDBuilder().add(replace(row(keys.km("OS", "median"), value=1.0), value=math.inf))
    r = row(keys.model("OS", "cox", "hr", "B"), value=2.0, lower=0.0, upper=math.inf, reference="A",
            note="Firth estimate")
    ARDBuilder().add(r)   # accepted: finite numbers only
    assert (r.value, r.lower, math.isnan(r.upper)) == (2.0, 0.0, True)
    assert r.note == "Firth estimate; CI upper limit is infinite"
    df = row(keys.continuous("FEV1", "mmrm", "df", "B", visit="W4"), value=math.inf, reference="A")
    assert math.isnan(df.value) and df.note == "value is infinite"


def test_duplicate_ids_and_ambiguous_values_never_share_an_id() -> None:
    b = ARDBuilder()
    b.add(row(keys.km("OS", "median", "A B"), value=1.0))
    b.add(row(keys.km("OS", "median", "A/B"), value=2.0))   # both sanitise to A_B: the hash keeps them apart
    with pytest.raises(SchemaError, match="duplicate"):
        b.add(row(keys.km("OS", "median", "A B"), value=3.0))
    assert len({r.id for r in b.rows()}) == 2


def test_every_analysis_lists_statistics() -> None:
    assert all(spec.statistics for spec in ANALYSES.values())


def test_result_json_text_is_one_item_per_line_and_loads_back() -> None:
    """ard.json / ars.json text (results/jsontext.py): valid JSON equal to the input, one top-level list item
    per line, non-ASCII kept, NaN refused (a result file never holds a value JSON cannot)."""
    import json as _json

    from trialpress.results import jsontext

    body = {"schema": "x/1", "columns": ["a", "b"], "rows": [{"a": 1.5, "b": "Grad ≥3 \"q\"\n"}, {"a": None, "b": ""}],
            "empty": [], "meta": {"k": [1, 2]}}
    text = jsontext.dumps(body)
    assert _json.loads(text) == body
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and "≥" in text
    assert sum(1 for line in lines if line.startswith("  {")) == 2       # one line per row
    assert text == jsontext.dumps(body)
    with pytest.raises(ValueError):
        jsontext.dumps({"rows": [float("nan")]})
