"""What every rule module needs to know about this plan and data: ADSL, the subject join of each dataset,
who is analysed (per population and per endpoint, with its subset), ADSL's dates at their precision, and
the variables a rule reads by ADaM convention."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, TimeToEvent
from trialpress.quality import conditions
from trialpress.quality.helpers import DateVar, date_var, is_date, small_codes

DISTINCT_BITMAP = 100_000_000   # key space (bytes) below which a one-pass bitmap decides 'no repeated keys'


@dataclass
class Ctx:
    plan: Plan
    data: StudyData
    sid: str = field(init=False)

    def __post_init__(self) -> None:
        self.sid = self.plan.data.subject_id
        self._populations: dict[str, pd.Series] = {}

    # ----------------------------------------------------------------------------- datasets and joins
    @cached_property
    def adsl(self) -> pd.DataFrame:
        return self.data["ADSL"]

    def positions(self, frame: pd.DataFrame) -> np.ndarray:
        """Each record's subject as its ADSL row (-1: not in ADSL): the loader's join of that dataset."""
        name = next(n for n, known in self.data.frames.items() if known is frame and n != "ADSL")
        return self.data.rows_in_adsl(name, self.sid)

    def subject_values(self, frame: pd.DataFrame, column: str | pd.Series) -> pd.Series:
        """An ADSL column (or a Series aligned to ADSL) looked up for each record of another dataset (NaN/NaT
        where the subject is unknown)."""
        source = self.adsl[column] if isinstance(column, str) else column
        values = source.array.take(self.positions(frame), allow_fill=True)
        return pd.Series(values, index=frame.index)

    def per_record(self, frame: pd.DataFrame, subjects: pd.Series) -> pd.Series:
        """A boolean over ADSL rows (e.g. 'in the population') for each record (False: subject unknown)."""
        rows = self.positions(frame)
        inside = np.append(subjects.to_numpy(dtype=bool), False)
        return pd.Series(inside[rows], index=frame.index)   # row -1 → the appended False

    def column(self, dataset: str, name: str) -> pd.Series | None:
        """A variable of a dataset as loaded (the loader reads every variable the gate checks: adam.GATE_VARIABLES);
        None if the file has none."""
        frame = self.data[dataset]
        return frame[name] if name in frame.columns else None

    def date(self, dataset: str, *names: str) -> DateVar | None:
        """The first of `names` the dataset has as a date or datetime, at its precision."""
        for name in names:
            values = self.column(dataset, name)
            found = date_var(self.data[dataset], name, values) if values is not None else None
            if found is not None:
                return found
        return None

    def duplicated_keys(self, frame: pd.DataFrame, *others: str) -> pd.Series:
        """Rows whose subject and `others` repeat another row's (all rows of each repeat, as GE reports them).

        Keys are integer codes (the subject's ADSL row, or a code of its own for a subject not in ADSL), so
        10^7 records are checked in about a second; great_expectations' own compound-key expectation takes
        over ten seconds there. A missing subject id is a value like any other here (it fails its own check)."""
        ids = frame[self.sid]
        code = self.positions(frame).astype(np.int64)
        unknown = (code < 0) & ids.notna().to_numpy()
        if unknown.any():
            code[unknown] = len(self.adsl) + pd.factorize(ids[unknown])[0]
        key, space = code + 1, len(self.adsl) + int(unknown.sum()) + 1
        for col in others:
            values, size = small_codes(frame[col])
            key, space = key * size + values, space * size
        if space >= 2**62:   # codes too wide to combine in 64 bits: compare the columns themselves
            return frame[[self.sid, *others]].duplicated(keep=False)
        if space <= DISTINCT_BITMAP and len(key):   # the usual verdict, none repeated, in one pass
            seen = np.zeros(space, dtype=bool)
            seen[key] = True
            if int(np.count_nonzero(seen)) == len(key):
                return pd.Series(False, index=frame.index)
        return pd.Series(key, index=frame.index).duplicated(keep=False)

    # --------------------------------------------------------------------------------- who is analysed
    def population(self, pop_id: str) -> pd.Series:
        """ADSL rows in a population of the plan (flag = 'Y', or its expression true)."""
        if pop_id not in self._populations:
            pop, a = self.plan.populations[pop_id], self.adsl
            if pop.flag:
                inside = a[pop.flag].eq("Y") if pop.flag in a.columns else pd.Series(False, index=a.index)
            else:
                inside = self._condition(pop.expression or "")
            self._populations[pop_id] = inside.fillna(False).astype(bool)
        return self._populations[pop_id]

    def _condition(self, text: str) -> pd.Series:
        try:
            return conditions.evaluate(text, self.adsl)
        except Exception:  # noqa: BLE001 - reported with a clear message by references.py
            return pd.Series(True, index=self.adsl.index)

    @cached_property
    def analysed(self) -> pd.Series:
        """ADSL rows in at least one of the plan's populations."""
        inside = pd.Series(False, index=self.adsl.index)
        for pop_id in self.plan.populations:
            inside |= self.population(pop_id)
        return inside

    def responders(self, binary_id: str) -> pd.Series:
        """ADSL rows that respond on a binary endpoint (its source variable holds one of its values)."""
        b = next(b for b in self.plan.binary if b.id == binary_id)
        src, values = b.source, set(b.source.values)
        if src.dataset == "ADSL" or not self.data.has("ADRS"):
            column = self.adsl.get(src.variable)
            return column.isin(values).fillna(False) if column is not None else pd.Series(False, index=self.adsl.index)
        r = self.data["ADRS"]
        if src.variable not in r.columns or "PARAMCD" not in r.columns:
            return pd.Series(False, index=self.adsl.index)
        hit = (r["PARAMCD"].eq(src.paramcd) & r[src.variable].isin(values)).to_numpy()
        rows = self.positions(r)[hit]
        out = np.zeros(len(self.adsl), dtype=bool)
        out[rows[rows >= 0]] = True
        return pd.Series(out, index=self.adsl.index)

    def endpoint_subjects(self, e: TimeToEvent, subset: bool = True) -> pd.Series:
        """ADSL rows an endpoint is analysed in: its population, within its subset (unless `subset` is False)."""
        inside = self.population(e.population)
        if not subset:
            return inside
        if e.subset and e.subset.responders:
            inside = inside & self.responders(e.subset.responders)
        elif e.subset and e.subset.where:
            inside = inside & self._condition(e.subset.where).fillna(False).astype(bool)
        return inside

    def endpoint_records(self, e: TimeToEvent, subset: bool = True) -> pd.Series:
        """ADTTE records the endpoint analyses: its PARAMCD, of subjects it is analysed in. Records outside
        (another parameter, subject outside the population or subset) are no error of the gate's."""
        t = self.data["ADTTE"]
        if "PARAMCD" not in t.columns:
            return pd.Series(False, index=t.index)
        return t["PARAMCD"].eq(e.paramcd).fillna(False).astype(bool) & \
            self.per_record(t, self.endpoint_subjects(e, subset))

    @cached_property
    def analysed_records(self) -> pd.Series:
        """ADTTE records at least one planned endpoint analyses."""
        t = self.data["ADTTE"]
        inside = pd.Series(False, index=t.index)
        for e in self.plan.time_to_event:
            inside |= self.endpoint_records(e)
        return inside

    # ------------------------------------------------------------------------------------- ADSL dates
    @property
    def cutoff(self) -> str | None:
        c = self.plan.data.cutoff_variable
        return c if c and is_date(self.adsl, c) else None

    @cached_property
    def adsl_dates(self) -> dict[str, DateVar]:
        """ADSL's dates and datetimes (ISO text datetimes parsed); a datetime whose date ADSL also holds
        (TRTSDTM beside TRTSDT) is left out: the date says the same at the precision rules compare."""
        a, out = self.adsl, {}
        for name in a.columns:
            if not (pd.api.types.is_datetime64_any_dtype(a[name]) or name.endswith(("DT", "DTM"))):
                continue
            if adam.is_datetime_name(name) and name[:-1] in a.columns:
                continue
            found = date_var(a, name)
            if found is not None:
                out[name] = found
        return out

    @cached_property
    def trt_start(self) -> DateVar | None:
        """The first dose date: TRTSDT, or the date of TRTSDTM where ADSL has only the datetime."""
        d = self.adsl_dates
        if adam.TRT_START in d:
            return d[adam.TRT_START]
        if adam.TRT_START_DTM in d:
            return d[adam.TRT_START_DTM].as_date(adam.TRT_START)
        return None

    def required(self, dataset: str) -> list[str]:
        return [r.variable for r in self.data.requirements if r.dataset == dataset]

    def kinds(self, dataset: str) -> dict[str, str]:
        return {r.variable: r.kind for r in self.data.requirements if r.dataset == dataset}
