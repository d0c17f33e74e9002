"""Structure rules every dataset the plan uses gets: its variables, its subject identifier, their types."""

from __future__ import annotations

import pandas as pd

from trialpress.data.dates import ACCEPTED, distinct_text, on_rows, parse_text
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import DATE_TYPES, NUM_TYPES
from trialpress.quality.rules import ERROR, WARNING, Check, ig, rule, structure

REQUIRED = rule(
    "{ds}.variables.required", "{ds}", "{ds} has the variables the plan uses ({variables})",
    "Add the missing variables to {ds}, or change the plan to name variables that exist.",
    structure("ADaM dataset structure: the variables the plan analyses"), ERROR, "structure")
SUBJECT = rule(
    "{ds}.{sid}.not_null", "{ds}", "{sid} is present for every {ds} row", "Fill in the subject identifiers in {ds}.",
    ig("USUBJID (required in every ADaM dataset)"), ERROR, "structure")
TYPE = rule(
    "{ds}.{var}.type", "{ds}", "{var} is {what}", "Store {var} as {how}.",
    structure("ADaM variable types (numbers Num; dates numeric SAS dates or ISO 8601)"), ERROR, "structure")
DATE_TEXT = rule(
    "{ds}.{var}.date_text", "{ds}", "{var} (a date by its ADaM name) holds dates in a form that can be read",
    "Write {var} as {accepted}. Until then the checks that compare {var} with other dates are not run on it.",
    ig("variable naming (*DT a date, *DTM a datetime)"), WARNING, "structure")


def structure_checks(ctx: Ctx, ds: str) -> list[Check]:
    """Required variables, subject id present, and the types the plan needs."""
    frame, sid = ctx.data[ds], ctx.sid
    req = list(dict.fromkeys(ctx.required(ds)))
    out = [REQUIRED.native("ExpectTableColumnsToMatchSet", {"column_set": req, "exact_match": False},
                           ds=ds, variables=", ".join(req))]
    if sid in frame.columns:
        out.append(SUBJECT.native("ExpectColumnValuesToNotBeNull", {"column": sid}, value_column=sid, ds=ds, sid=sid))
    for var, kind in ctx.kinds(ds).items():
        if var not in frame.columns:
            continue
        if kind == "num" or (kind == "any" and pd.api.types.is_numeric_dtype(frame[var])):
            out.append(TYPE.native("ExpectColumnValuesToBeInTypeList", {"column": var, "type_list": NUM_TYPES},
                                   value_column=var, ds=ds, var=var, what="numeric", how="numbers"))
        elif kind == "date":
            out.append(TYPE.native("ExpectColumnValuesToBeInTypeList", {"column": var, "type_list": DATE_TYPES},
                                   value_column=var, ds=ds, var=var, what="a date",
                                   how="SAS dates, or text: " + ACCEPTED))
    return out + date_text_checks(ctx, ds)


def date_text_checks(ctx: Ctx, ds: str) -> list[Check]:
    """A *DT or *DTM variable the loader left as text (a CSV's dates in a form no reader knows, or a *DTM the
    plan does not use) is a date the date checks would silently skip: each value that is not a date is named.
    Parsed once per distinct value (`dates.parse_text`), so 10^7 records cost what their few thousand dates do."""
    frame, out = ctx.data[ds], []
    for var in frame.columns:
        values = frame[var]
        if not str(var).endswith(("DT", "DTM")) or pd.api.types.is_numeric_dtype(values) \
                or pd.api.types.is_datetime64_any_dtype(values):
            continue
        codes, text = distinct_text(values)
        if not bool(text.notna().any()):
            continue
        unread = on_rows(codes, (text.notna() & parse_text(text).isna()).to_numpy(), False)
        out.append(DATE_TEXT.derived(pd.Series(~unread, index=frame.index), value_column=var, ds=ds, var=var,
                                     accepted=ACCEPTED))
    return out
