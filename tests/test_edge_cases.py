"""Defined output where estimates do not exist: an empty group, a one-subject group, no events."""

from __future__ import annotations

from trialpress.results import keys

import math

import pandas as pd

from trialpress.data.loading import load_study
from trialpress.plan import Level, load_plan
from trialpress.results.collect import analyse

from conftest import FLAGSHIP


def test_empty_group_gives_ne_with_reasons_not_an_exception() -> None:
    lp = load_plan(FLAGSHIP)
    groups = lp.plan.groups.model_copy(update={"levels": [*lp.plan.groups.levels, Level(value="NONE", label="None")]})
    endpoints = [e.model_copy(update={"subset": None}) for e in lp.plan.time_to_event]   # no binary left
    plan = lp.plan.model_copy(update={"groups": groups, "safety": None, "baseline": [], "binary": [],
                                      "time_to_event": endpoints})
    ard = analyse(plan, load_study(lp)).ard
    assert ard[keys.population("FAS", "NONE")].value == 0
    median = ard[keys.km("OS", "median", "NONE")]
    assert math.isnan(median.value) and median.note == "no subjects"
    hr = ard[keys.model("OS", "cox", "hr", "NONE")]
    assert math.isnan(hr.value) and "no subjects in group NONE" in hr.note
    # the other comparison is unaffected
    assert ard[keys.model("OS", "cox", "hr", "LATER")].value > 1 and ard[keys.model("OS", "cox", "hr", "LATER")].note == ""


def test_group_without_events_and_single_subject() -> None:
    lp = load_plan(FLAGSHIP)
    data = load_study(lp)
    adtte = data.frames["ADTTE"].copy()
    first = set(data["ADSL"].loc[data["ADSL"]["SALVGRP"] == "FIRST", "USUBJID"])
    adtte.loc[adtte["USUBJID"].isin(first) & (adtte["PARAMCD"] == "OS"), "CNSR"] = 1.0
    frames = {**data.frames, "ADTTE": adtte}
    plan = lp.plan.model_copy(update={"time_to_event": lp.plan.time_to_event[:1], "safety": None, "baseline": [],
                                      "binary": [], "subgroups": []})
    ard = analyse(plan, type(data)(frames=frames, files=data.files)).ard
    assert ard[keys.km("OS", "events", "FIRST")].value == 0
    assert math.isnan(ard[keys.km("OS", "median", "FIRST")].value) and ard[keys.km("OS", "median", "FIRST")].note == "no events"
    assert math.isnan(ard[keys.model("OS", "cox", "hr", "LATER")].value) and "no events in group FIRST" in ard[keys.model("OS", "cox", "hr", "LATER")].note
    assert ard[keys.test("OS", "logrank", "p", "LATER")].value < 0.001  # the log-rank test still exists

    one = frames["ADSL"]
    keep = pd.concat([one[one["SALVGRP"] == "LATER"], one[one["SALVGRP"] == "FIRST"].head(1)])
    ard1 = analyse(plan, type(data)(frames={**data.frames, "ADSL": keep}, files=data.files)).ard
    assert ard1[keys.km("OS", "n", "FIRST")].value == 1
    assert math.isnan(ard1[keys.km("OS", "median", "FIRST")].lower)  # R: CI (NA, NA) for n = 1
