"""The plan's condition language: hostile text is refused with its position, valid conditions select
the same rows as the same condition written in plain pandas, with SQL's treatment of missing values."""

from __future__ import annotations

import builtins
import datetime as dt
import importlib
import operator
import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialpress.expressions import MAX_DEPTH, MAX_LENGTH, Expression, ExpressionError, parse

EXAMPLES = int(os.environ.get("TRIALPRESS_PROPERTY_EXAMPLES", "300"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture()
def adsl() -> pd.DataFrame:
    """Loader-like ADSL: text as Categoricals, numbers as float, dates as datetime64; missing everywhere."""
    return pd.DataFrame(
        {
            "AGE": [17.0, 18.0, np.nan, 45.0, 70.0, 65.0],
            "SEX": pd.Categorical(["F", "M", "F", None, "M", "F"]),
            "SAFFL": pd.Categorical(["Y", "Y", "N", "Y", None, "Y"]),
            "ARM": np.array(["A", "B", None, "A", "C", "B"], dtype=object),
            "TRTSDT": pd.to_datetime(["2019-12-31", "2020-01-01", None, "2020-06-15", "2021-03-01", "2020-01-02"]),
            "TRTEDT": pd.to_datetime(["2020-02-01", "2019-12-01", "2020-01-01", None, "2021-04-01", "2020-01-02"]),
            "BMI": [22.5, 31.0, 27.0, np.nan, 18.4, 40.1],
        },
        index=[10, 11, 12, 13, 14, 15],   # not a RangeIndex: the mask must keep the frame's index
    )


# ---- hostile text ---------------------------------------------------------------------------------

HOSTILE = [
    ("@os.system('x')", "'@'", 0),
    ("AGE > @limit", "'@'", 6),
    ("__import__('os')", "'__import__'", 0),
    ("AGE.__class__", ".__class__", 3),
    ("SEX.str.upper() == 'F'", ".str", 3),
    ("exec('import os')", "function calls are not allowed: exec", 0),
    ("eval('1') == 1", "function calls are not allowed: eval", 0),
    ("open('/etc/passwd') == 'x'", "function calls", 0),
    ("[x for x in y]", "list [...] can only follow 'in'", 0),
    ("AGE in [x for x in y]", "comprehensions", 10),
    ("AGE in [x, y]", "not the variable x", 8),
    ("lambda: 1", "lambda", 0),
    ("AGE if 1 else 2", "conditional expressions", 4),
    ("f'{AGE}' == 'x'", "f-strings", 0),
    ("SEX == f'{__import__(\"os\").system(\"x\")}'", "f-strings", 7),
    ("(y := 1)", "':='", 3),
    ("AGE[0] > 1", "expected a comparison operator after AGE, found '['", 3),
    ("AGE >= 18 & SEX == 'F'", "use 'and'", 10),
    ("AGE >= 18 | SEX == 'F'", "use 'or'", 10),
    ("~(AGE >= 18)", "use 'not'", 0),
    ("AGE + 1 > 18", "arithmetic", 4),
    ("AGE > 18; import os", "';'", 8),
    ("`AGE` > 18", "backtick", 0),
    ("{AGE: 1}", "sets and dicts", 0),
    ("AGE > 18 # comment", "comments", 9),
    ("AGE is None", "'is'", 4),
    ("SAFFL == True", "True/False", 9),
    ("import os", "imports", 0),
    ("AGE > 18 and", "expected a variable or a value, found 'end of the expression'", 12),
    ("SAFFL", "SAFFL must be compared with something", 5),
    ("AGE > 18 AND SEX == 'F'", "keywords are lower case", 9),
    ("SEX == 'F", "unterminated string", 7),
    ("SEX == ‘F’", "straight quotes", 7),
    ("SEX == 'a\\x41'", "unsupported escape", 9),
    ("AGE <> 18", "'<>'", 4),
    ("AGE == 18abc", "malformed number", 7),
    ("1 == 1", "compares two constants", 2),
    ("'A' in ['A']", "must be a variable", 4),
    ("AGE in []", "empty list", 8),
    ("AGE in [1, 'a']", "mixes numbers and text", 11),
    ("AGE < 18 in [1]", "'in' cannot be chained", 9),
    ("(AGE > 1) > 0", "cannot itself be compared", 10),
    ("date(1) < TRTSDT", "date() takes one quoted date", 5),
    ("TRTSDT > date('2020-02-30')", "not a valid date", 15),
    ("TRTSDT > date('01/02/2020')", "not a date", 15),
    ("TRTSDT > 9999-12-31", "outside the supported years", 9),
    ("AGE > 1e999", "too large", 6),
    ("", "empty", 0),
    ("AGE\x00 > 1", "unexpected character", 3),
]


@pytest.mark.parametrize(("text", "message", "position"), HOSTILE)
def test_hostile_text_is_refused_naming_the_part_and_its_position(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    err = caught.value
    assert isinstance(err, ValueError)
    assert message in err.message
    assert err.position == position, (err.position, str(err))
    assert f"at character {position + 1}" in str(err)


def test_nothing_reaches_a_general_purpose_evaluator(monkeypatch: pytest.MonkeyPatch, adsl: pd.DataFrame) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a general-purpose evaluator was called")

    # Expression.evaluate imports its evaluator on first use, and importing from source calls compile().
    importlib.import_module("trialpress.expressions.evaluate")
    for target, name in ((builtins, "eval"), (builtins, "exec"), (builtins, "compile"),
                         (pd, "eval"), (pd.DataFrame, "eval"), (pd.DataFrame, "query")):
        monkeypatch.setattr(target, name, refuse)
    mask = parse("AGE >= 18 and SEX == 'F' or TRTSDT < date('2020-01-01') or ARM in ['C']").evaluate(adsl)
    monkeypatch.undo()
    assert mask.tolist() == [True, False, False, False, True, True]


def test_size_limits() -> None:
    parse("AGE >= 18 and " * ((MAX_LENGTH - 9) // 14) + "AGE >= 18")
    with pytest.raises(ExpressionError, match="at most 2,000"):
        parse("AGE >= 18 and " * 200 + "AGE >= 18")
    parse("(" * MAX_DEPTH + "AGE > 1" + ")" * MAX_DEPTH)
    parse("not " * MAX_DEPTH + "AGE > 1")
    for deep in ("(" * (MAX_DEPTH + 1) + "AGE > 1" + ")" * (MAX_DEPTH + 1), "not " * (MAX_DEPTH + 1) + "AGE > 1",
                 "(" * 1999 + "A", "not " * 499 + "A"):
        with pytest.raises(ExpressionError, match="nests deeper than 50"):
            parse(deep)


@FAST
@given(st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(["AGE", "SEX", "x", "__", "date", "(", ")", "[", "]", ",", "'F'", '"M"', "'", "\\",
                              "1", "-", "2.5e3", "2020-01-01", ".", "@", ":", "==", "=", "!=", "<", "<=", ">", ">=",
                              "≥", "and", "or", "not", "in", "if", "lambda", "f", " ", "\n"]),
             max_size=25).map("".join)))
def test_random_text_raises_only_expression_error(text: str) -> None:
    frame = pd.DataFrame({"AGE": [30.0, np.nan], "SEX": pd.Categorical(["F", None]), "x": ["a", "b"]})
    try:
        expr = parse(text)
        assert parse(expr.describe()).describe() == expr.describe()
        expr.evaluate(frame)
    except ExpressionError as err:
        assert 0 <= err.position <= len(text)


# ---- valid conditions, against plain pandas ------------------------------------------------------

def known(s: pd.Series) -> pd.Series:
    return s.notna()


CASES: list[tuple[str, Callable[[pd.DataFrame], pd.Series]]] = [
    ("AGE >= 18", lambda d: d.AGE >= 18),
    ("AGE >= 18 and SEX == 'F'", lambda d: (d.AGE >= 18) & (d.SEX == "F")),
    ("SEX = 'F'", lambda d: d.SEX == "F"),
    ('SEX == "M" or AGE < 18', lambda d: (d.SEX == "M") | (d.AGE < 18)),
    ("SEX != 'F'", lambda d: known(d.SEX) & (d.SEX != "F")),
    ("not (AGE >= 18)", lambda d: known(d.AGE) & ~(d.AGE >= 18)),
    ("not AGE >= 18", lambda d: known(d.AGE) & ~(d.AGE >= 18)),
    ("18 <= AGE < 65", lambda d: (d.AGE >= 18) & (d.AGE < 65)),
    ("65 > AGE", lambda d: d.AGE < 65),
    ("AGE > -1 and BMI <= 30.5", lambda d: (d.AGE > -1) & (d.BMI <= 30.5)),
    ("BMI > 2.5e1", lambda d: d.BMI > 25),
    ("ARM in ['A', 'C']", lambda d: d.ARM.isin(["A", "C"])),
    ("ARM not in ('A',)", lambda d: known(d.ARM) & ~d.ARM.isin(["A"])),
    ("SEX in ('F')", lambda d: d.SEX.isin(["F"])),
    ("SAFFL == 'Y' and (ARM == 'A' or ARM == 'B')", lambda d: (d.SAFFL == "Y") & d.ARM.isin(["A", "B"])),
    ("AGE in [17, 70]", lambda d: d.AGE.isin([17, 70])),
    ("SEX < 'G'", lambda d: known(d.SEX) & (d.SEX.astype(object) < "G").astype(bool)),
    ("TRTSDT >= date('2020-01-01')", lambda d: d.TRTSDT >= pd.Timestamp("2020-01-01")),
    ("TRTSDT < 2020-01-02", lambda d: d.TRTSDT < pd.Timestamp("2020-01-02")),
    ("TRTSDT in [2020-01-01, 2021-03-01]", lambda d: d.TRTSDT.isin(pd.to_datetime(["2020-01-01", "2021-03-01"]))),
    ("TRTEDT >= TRTSDT", lambda d: d.TRTEDT >= d.TRTSDT),
    ("TRTEDT != TRTSDT", lambda d: known(d.TRTEDT) & known(d.TRTSDT) & (d.TRTEDT != d.TRTSDT)),
    ("AGE > BMI", lambda d: d.AGE > d.BMI),
    ("\n  AGE\t>=\n18  ", lambda d: d.AGE >= 18),
    ("AGE ≥ 18 and SEX ≠ 'F'", lambda d: (d.AGE >= 18) & known(d.SEX) & (d.SEX != "F")),
]


@pytest.mark.parametrize(("text", "reference"), CASES, ids=[c[0] for c in CASES])
def test_same_rows_as_plain_pandas(adsl: pd.DataFrame, text: str,
                                   reference: Callable[[pd.DataFrame], pd.Series]) -> None:
    mask = parse(text).evaluate(adsl)
    assert mask.dtype == bool
    assert mask.index.equals(adsl.index)
    assert mask.tolist() == reference(adsl).astype(bool).tolist()


def test_missing_values_follow_sql_three_valued_logic(adsl: pd.DataFrame) -> None:
    rows = lambda text: parse(text).evaluate(adsl).tolist()   # noqa: E731
    unknown_age = adsl.index.get_loc(12)
    assert not rows("AGE < 18 or AGE >= 18")[unknown_age]
    assert not rows("not (AGE < 18)")[unknown_age]
    assert not rows("not not (AGE < 18 or AGE >= 18)")[unknown_age]
    assert rows("AGE >= 18 or SEX == 'F'")[unknown_age]          # unknown or true = true
    assert rows("not (AGE >= 18 and SEX == 'M')")[unknown_age]   # not (unknown and false) = not false = true
    assert rows("SEX != 'F' or SEX == 'F'") == adsl.SEX.notna().tolist()


def test_categoricals(adsl: pd.DataFrame) -> None:
    frame = pd.DataFrame({
        "UNUSED": pd.Categorical(["A", "B", None], categories=["A", "B", "Z"]),
        "ORDERED": pd.Categorical(["low", "high", "mid"], categories=["low", "mid", "high"], ordered=True),
        "CODES": pd.Categorical([1, 2, None]),
        "NONE": pd.Categorical([None, None, None]),
        "DATES": pd.Categorical(pd.to_datetime(["2020-01-01", None, "2021-01-01"])),
    })
    assert parse("UNUSED in ['B', 'Z']").evaluate(frame).tolist() == [False, True, False]
    assert parse("UNUSED != 'Z'").evaluate(frame).tolist() == [True, True, False]
    # text compares by code point, not by a Categorical's own order
    assert parse("ORDERED < 'low'").evaluate(frame).tolist() == [False, True, False]
    assert parse("CODES >= 2").evaluate(frame).tolist() == [False, True, False]
    assert parse("NONE == 'x' or NONE != 'x'").evaluate(frame).tolist() == [False, False, False]
    assert parse("DATES > 2020-06-01").evaluate(frame).tolist() == [False, False, True]
    assert parse("UNUSED == ORDERED").evaluate(frame).tolist() == [False, False, False]
    with pytest.raises(ExpressionError, match="CODES holds numbers"):
        parse("CODES == '1'").evaluate(frame)


def test_dates(adsl: pd.DataFrame) -> None:
    stamps = pd.DataFrame({"ADTM": pd.to_datetime(["2020-01-01 00:00", "2020-01-01 10:30", "2019-12-31 23:59"]),
                           "US": pd.Series(pd.to_datetime(["1900-01-01", "2200-01-01", None])).astype("datetime64[us]"),
                           "OBJ": pd.Series([dt.date(2020, 1, 1), None, dt.date(2020, 5, 1)], dtype=object)})
    assert parse("ADTM == date('2020-01-01')").evaluate(stamps).tolist() == [True, False, False]   # midnight
    assert parse("ADTM > 2020-01-01").evaluate(stamps).tolist() == [False, True, False]
    assert parse("US < 2000-01-01").evaluate(stamps).tolist() == [True, False, False]
    assert parse("OBJ >= 2020-02-01").evaluate(stamps).tolist() == [False, False, True]
    with pytest.raises(ExpressionError, match=r"TRTSDT holds dates .*write date\('2020-01-01'\)"):
        parse("TRTSDT >= '2020-01-01'").evaluate(adsl)
    with pytest.raises(ExpressionError, match="TRTSDT holds dates .* cannot be compared with the number 2020"):
        parse("TRTSDT > 2020").evaluate(adsl)


def test_plain_object_and_nullable_columns() -> None:
    frame = pd.DataFrame({
        "S": pd.array(["a", None, "c"], dtype="string"),
        "I": pd.array([1, None, 3], dtype="Int64"),
        "B": [True, False, True],
        "N": pd.Series([1, None, 2.5], dtype=object),
        "E": pd.Series([None, None, None], dtype=object),
        "MIX": pd.Series(["a", 1, None], dtype=object),
        "TD": pd.to_timedelta([1, 2, 3], unit="D"),
    })
    assert parse("S in ['a', 'c']").evaluate(frame).tolist() == [True, False, True]
    assert parse("I >= 1").evaluate(frame).tolist() == [True, False, True]
    assert parse("B == 1").evaluate(frame).tolist() == [True, False, True]
    assert parse("N < 2").evaluate(frame).tolist() == [True, False, False]
    assert parse("E == 'x' or E == 1").evaluate(frame).tolist() == [False, False, False]
    with pytest.raises(ExpressionError, match="MIX holds mixed values"):
        parse("MIX == 'a'").evaluate(frame)
    with pytest.raises(ExpressionError, match="TD holds timedelta64"):
        parse("TD > 1").evaluate(frame)


def test_type_errors_name_the_variable_and_what_it_holds(adsl: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("AGE >= 18 and SEX == 1").evaluate(adsl)
    assert caught.value.message == "SEX holds text (e.g. 'F', 'M'), so it cannot be compared with the number 1"
    assert caught.value.position == 14
    with pytest.raises(ExpressionError, match=r"AGE holds numbers \(e.g. 17, 18, 45\), so it cannot be compared "
                                              r"with the text '18'"):
        parse("AGE >= '18'").evaluate(adsl)
    with pytest.raises(ExpressionError, match="AGE holds numbers .* and SEX holds text .*: they cannot be compared"):
        parse("AGE == SEX").evaluate(adsl)
    with pytest.raises(ExpressionError, match="ARM holds text .* cannot be compared with the number 1"):
        parse("ARM in [1, 2]").evaluate(adsl)


def test_unknown_variable(adsl: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("SEX == 'F' and AGEX >= 18").evaluate(adsl)
    assert caught.value.message == "'AGEX' is not a variable of the data (did you mean 'AGE'?)"
    assert caught.value.position == 15
    with pytest.raises(ExpressionError, match="'age' is not a variable of the data \\(did you mean 'AGE'\\?\\)"):
        parse("age >= 18").evaluate(adsl)
    duplicated = pd.DataFrame([[1, 2]], columns=["A", "A"])
    with pytest.raises(ExpressionError, match="A names 2 columns"):
        parse("A == 1").evaluate(duplicated)


def test_empty_frame() -> None:
    frame = pd.DataFrame({"AGE": pd.Series([], dtype=float), "SEX": pd.Categorical([])})
    mask = parse("AGE > 1 and SEX == 'F'").evaluate(frame)
    assert mask.dtype == bool and len(mask) == 0


def test_variables_and_describe() -> None:
    expr = parse("AGE >= 18 and (SEX == 'F' or not ARM in [\"A\", 'O\\'B']) and 18 <= BMI < 30.5")
    assert isinstance(expr, Expression)
    assert expr.variables == frozenset({"AGE", "SEX", "ARM", "BMI"})
    assert expr.describe() == "AGE ≥ 18 and (SEX = 'F' or not (ARM in ('A', 'O\\'B'))) and 18 ≤ BMI < 30.5"
    assert parse("TRTSDT >= date('2020-01-01') or X != -2").describe() == "TRTSDT ≥ 2020-01-01 or X ≠ -2"
    assert parse("(A == 1 or B == 2) and not (C == 3 or D == 4)").describe() == \
        "(A = 1 or B = 2) and not (C = 3 or D = 4)"
    assert str(parse("A=='x'")) == "A = 'x'"


# ---- generated conditions against a pandas reference (nullable booleans: Kleene logic) -----------

COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge}
LITERALS = {
    "AGE": st.sampled_from([0, 17, 18, 18.5, 65, -3]),
    "SEX": st.sampled_from(["F", "M", "", "f"]),
    "ARM": st.sampled_from(["A", "B", "C", "Z"]),
    "TRTSDT": st.sampled_from([dt.date(2019, 12, 31), dt.date(2020, 1, 1), dt.date(2021, 6, 30)]),
}


def _literal_text(value: object) -> str:
    if isinstance(value, dt.date):
        return f"date('{value.isoformat()}')"
    return repr(value)


def _reference_compare(series: pd.Series, op: str, value: object) -> pd.arrays.BooleanArray:
    """Row by row in Python: NA where the value is missing."""
    value = pd.Timestamp(value) if isinstance(value, dt.date) else value
    out = [pd.NA if pd.isna(v) else COMPARE[op](v, value) for v in series.astype(object)]
    return pd.array(out, dtype="boolean")


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> tuple[str, Callable[[pd.DataFrame], pd.arrays.BooleanArray]]:
    kind = draw(st.sampled_from(["compare", "in"] + (["and", "or", "not"] if depth < 4 else [])))
    if kind in ("compare", "in"):
        var = draw(st.sampled_from(sorted(LITERALS)))
        if kind == "in":
            items = draw(st.lists(LITERALS[var], min_size=1, max_size=3))
            negated = draw(st.booleans())
            text = f"{var} {'not in' if negated else 'in'} [{', '.join(_literal_text(i) for i in items)}]"

            def ref_in(d: pd.DataFrame) -> pd.arrays.BooleanArray:
                hits = [_reference_compare(d[var], "==", i) for i in items]
                out = hits[0]
                for h in hits[1:]:
                    out = out | h
                return ~out if negated else out
            return text, ref_in
        op = draw(st.sampled_from(sorted(COMPARE)))
        value = draw(LITERALS[var])
        if draw(st.booleans()):
            return f"{var} {op} {_literal_text(value)}", lambda d: _reference_compare(d[var], op, value)
        flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        return f"{_literal_text(value)} {flipped} {var}", lambda d: _reference_compare(d[var], op, value)
    if kind == "not":
        text, ref = draw(conditions(depth + 1))
        return f"not ({text})", lambda d: ~ref(d)
    (lt, lref), (rt, rref) = draw(conditions(depth + 1)), draw(conditions(depth + 1))
    if kind == "and":
        return f"({lt}) and ({rt})", lambda d: lref(d) & rref(d)
    return f"({lt}) or ({rt})", lambda d: lref(d) | rref(d)


frames = st.integers(0, 12).flatmap(lambda n: st.fixed_dictionaries({
    "AGE": st.lists(st.sampled_from([np.nan, 0.0, 17.0, 18.0, 18.5, 40.0, 65.0, 90.0]), min_size=n, max_size=n),
    "SEX": st.lists(st.sampled_from([None, "F", "M", ""]), min_size=n, max_size=n),
    "ARM": st.lists(st.sampled_from([None, "A", "B", "C"]), min_size=n, max_size=n),
    "TRTSDT": st.lists(st.sampled_from([None, "2019-12-31", "2020-01-01", "2020-01-02", "2022-01-01"]),
                       min_size=n, max_size=n),
}).map(lambda cols: pd.DataFrame({
    "AGE": pd.Series(cols["AGE"], dtype=float),
    "SEX": pd.Categorical(cols["SEX"]),
    "ARM": pd.Series(cols["ARM"], dtype=object),
    "TRTSDT": pd.to_datetime(pd.Series(cols["TRTSDT"], dtype=object)),
})))


@FAST
@given(conditions(), frames)
def test_generated_conditions_match_a_pandas_reference(
        condition: tuple[str, Callable[[pd.DataFrame], pd.arrays.BooleanArray]], frame: pd.DataFrame) -> None:
    text, reference = condition
    expr = parse(text)
    expected = reference(frame).fillna(False).to_numpy(dtype=bool) if len(frame) else np.zeros(0, dtype=bool)
    assert expr.evaluate(frame).to_numpy().tolist() == expected.tolist(), text
    again = parse(expr.describe())   # the canonical rendering parses back to the same condition
    assert again.describe() == expr.describe()
    assert again.evaluate(frame).to_numpy().tolist() == expected.tolist()


def test_parsing_needs_neither_numpy_nor_pandas() -> None:
    """Plan validation parses every condition: it must not pay for importing the data stack."""
    script = """
import sys
from trialpress.expressions import parse
expr = parse("AGE >= 18 and SEX in ['F', 'M'] and TRTSDT < date('2020-01-01') or RANDDT >= 2019-06-01")
print(sorted(expr.variables))
print(expr.describe())
print(sorted({'numpy', 'pandas'} & set(sys.modules)))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, encoding="utf-8", check=True,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert run.stdout.splitlines() == [
        "['AGE', 'RANDDT', 'SEX', 'TRTSDT']",
        "AGE ≥ 18 and SEX in ('F', 'M') and TRTSDT < 2020-01-01 or RANDDT ≥ 2019-06-01",
        "[]",
    ], run.stdout + run.stderr
