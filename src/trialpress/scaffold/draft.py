"""`trialpress init <data-folder>`: inspect a folder of ADaM files and write a starting plan that renders.

It reads the data's own coding — ADaM variable names, AVALU units, STARTDT origins, relatedness and
action-taken values, which arms hold subjects — and writes a commented YAML plan. Every choice a
statistician must confirm is marked CHECK; with those lines confirmed the plan renders correctly. Every
value taken from the data is written as a quoted scalar (`safe_yaml.dump_scalar`), never as structure.
The result validates against the plan schema before it is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialpress.data import adam
from trialpress.data.adam import TIME_UNIT_TERMS
from trialpress.data.coding import as_numbers, coded_order, collected, present_values, standard_related
from trialpress.data.dates import parse_column
from trialpress.data.files import INIT_PREFERENCE, dataset_files, format_of
from trialpress.data.readers import find_dataset_file, read_dataset, variable_labels
from trialpress.errors import UsageError
from trialpress.paths import PLANS_FOLDER, ROOT_MARKER, find_root, plan_root
from trialpress.plan.endpoints import TIME_UNITS
from trialpress.safe_yaml import dump_scalar as q
from trialpress.scaffold.bds import Measurements, continuous_lines, find_measurements, safety_measure_lines
from trialpress.scaffold.text import blanks_missing
from trialpress.scaffold.words import ident, sentence_case

# as-randomised variable → its as-treated counterpart (ADaM IG ADSL)
GROUP_PAIRS = (("TRT01P", "TRT01A"), ("ARM", "ACTARM"), ("TRTP", "TRTA"))
EFFICACY_FLAGS = {"ITTFL": "Intention-to-treat population", "FASFL": "Full analysis set",
                  "MITTFL": "Modified intention-to-treat population", "EFFFL": "Efficacy population",
                  "RANDFL": "Randomized population"}
OTHER_FLAGS = {"SAFFL": "Safety population", "PPROTFL": "Per-protocol population"}
# ARM values of subjects never assigned or treated (CDISC SDTM IG: ARM / ARMNRS)
NOT_ASSIGNED = re.compile(r"^(screen\s*failure|not\s*assigned|not\s*treated|unplanned\s*treatment|scrnfail|notassgn|"
                          r"nottrt)$", re.I)
# AVALU terms of time (CDISC CT, with common abbreviations) in the units a time-to-event plan accepts
UNITS = {term: unit for term, unit in TIME_UNIT_TERMS.items() if unit in TIME_UNITS}
BASELINE_CANDIDATES = (("AGE", "Age, years", "continuous"), ("AGEGR1", "Age group", "categorical"),
                       ("SEX", "Sex", "categorical"), ("RACE", "Race", "categorical"),
                       ("ETHNIC", "Ethnicity", "categorical"), ("REGION1", "Region", "categorical"))
RESPONSE_VALUES = ("CR", "PR", "CRI", "CRH", "SCR", "VGPR")
BEST_RESPONSE = re.compile(r"best|BOR|BESRSP|BESTRSP", re.I)
DURATION_OF_RESPONSE = re.compile(r"duration of .*response|^(DOR|DURRSP|DURRESP|DOCR)$", re.I)
SAFETY_WORDS = re.compile(r"adverse|toxicit|\bAE\b|safety|dermatolog|infection|hypersensitiv|bleed|injur", re.I)
SHORTER_BETTER = re.compile(r"time to (response|recovery|improvement|healing|resolution|remission|normali)", re.I)


@dataclass
class Found:
    folder: Path
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    measurements: list[Measurements] = field(default_factory=list)   # BDS datasets by visit (ADQS, ADLB …)
    format: str | None = None          # the format read where the folder holds datasets in several
    duplicated: str = ""               # e.g. 'adsl.xpt and adsl.json', for the plan's CHECK line


def inspect(folder: Path) -> Found:
    found = Found(folder)
    if folder.is_dir():
        found.format, found.duplicated = _format_to_read(folder)
    for name in ("ADSL", "ADTTE", "ADRS", "ADAE"):
        path = find_dataset_file(folder, name, prefer=found.format)
        if path is not None:
            found.files[name] = path
            found.frames[name] = blanks_missing(read_dataset(path))
    if "ADSL" not in found.frames:
        raise UsageError(f"No ADSL (adsl.xpt, .csv, .parquet, .sas7bdat or .json) in {folder}.",
                         hint="trialpress init needs at least the subject-level dataset ADSL.")
    found.measurements = find_measurements(folder, found.format)
    return found


def _format_to_read(folder: Path) -> tuple[str | None, str]:
    """Where datasets are in several formats (XPT beside Dataset-JSON, as a submission in transition carries them),
    the one to read by `INIT_PREFERENCE` among those every such dataset has, and the files that show it (ADSL's,
    else the first such dataset's); (None, '') where each dataset is in one."""
    doubled = {name: files for name, files in dataset_files(folder).items()
               if len({format_of(p.name) for p in files}) > 1}
    if not doubled:
        return None, ""
    shared = set.intersection(*({format_of(p.name) for p in files} for files in doubled.values()))
    choice = next((k for k in INIT_PREFERENCE if k in shared), None)
    return choice, " and ".join(p.name for p in doubled.get("ADSL", next(iter(doubled.values()))))


@dataclass
class _Draft:
    found: Found
    lines: list[str] = field(default_factory=list)
    efficacy_pop: str = ""
    safety_pop: str = ""
    gvar: str = ""
    responders: str | None = None    # id of the best-response binary endpoint written

    @property
    def adsl(self) -> pd.DataFrame:
        return self.found.frames["ADSL"]

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def draft_plan(found: Found, study_id: str, data_folder: str) -> str:
    d = _Draft(found)
    _header(d, study_id, data_folder)
    _groups_and_populations(d)
    _binary(d)
    _time_to_event(d)
    d.add(*continuous_lines(found.measurements, d.efficacy_pop, d.adsl, d.safety_pop))
    _baseline(d)
    _safety(d)
    d.add("", "report:", "  template: article", "  formats: [html, pdf]", "")
    return "\n".join(d.lines)


def _header(d: _Draft, study_id: str, data_folder: str) -> None:
    adsl = d.adsl
    cols = set(adsl.columns)
    title = f"{adsl['STUDYID'].dropna().iloc[0]} report" if "STUDYID" in cols and adsl["STUDYID"].notna().any() \
        else study_id
    d.add(f"# Starting analysis plan written by `trialpress init {data_folder}`.",
          "# Check every choice marked CHECK, then run: trialpress check <this file>; trialpress render <this file>.",
          "# Every key is validated; unknown keys are errors. See analysis/*.yml for complete examples.", "",
          "study:", f"  id: {q(study_id)}", f"  title: {q(title)}   # CHECK: the study title",
          "  # treatment: name of the study treatment, used in the abstract", "",
          "data:", f"  folder: {q(data_folder)}",
          *([f"  format: {d.found.format}   # CHECK: the folder holds {d.found.duplicated}: the format to read"]
            if d.found.format else []),
          f"  cutoff_variable: {'DCUTDT' if 'DCUTDT' in cols else 'null   # no DCUTDT in ADSL: the cut-off is not shown'}",
          "")


def _groups_and_populations(d: _Draft) -> None:
    adsl = d.adsl
    cols = set(adsl.columns)
    pair = next(((p, a) for p, a in GROUP_PAIRS if p in cols), None)
    gvar = pair[0] if pair else _group_like(adsl)
    if gvar is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", gvar):
        gvar = None
    if gvar is None:
        raise UsageError(f"ADSL in {d.found.folder} has none of the usual grouping variables "
                         f"({', '.join(p for p, _ in GROUP_PAIRS)}).",
                         hint="Add one, or write the plan by hand from analysis/*.yml and name your grouping variable.")
    d.gvar = gvar
    flags = [f for f in [*EFFICACY_FLAGS, *OTHER_FLAGS] if f in cols and adsl[f].eq("Y").any()]
    if not flags:
        raise UsageError(f"ADSL in {d.found.folder} has no population flag with subjects "
                         f"({', '.join([*EFFICACY_FLAGS, *OTHER_FLAGS])}).",
                         hint="Add a flag, or define a population by expression in a hand-written plan.")
    eff = next((f for f in EFFICACY_FLAGS if f in flags), flags[0])
    d.efficacy_pop = eff[:-2]
    d.safety_pop = "SAF" if "SAFFL" in flags else d.efficacy_pop
    in_eff = adsl[eff].eq("Y")
    values = coded_order(adsl.loc[in_eff], gvar, [str(v) for v in adsl.loc[in_eff, gvar].dropna().unique()
                                                   if not NOT_ASSIGNED.match(str(v))])
    left_out = sorted(str(v) for v in adsl[gvar].dropna().unique() if str(v) not in values)
    reference = next((v for v in values if re.search(r"placebo|\bpbo\b|control|standard of care", v, re.I)), values[0])
    ordered = [reference, *[v for v in values if v != reference]]
    why = ("every HR/OR/difference is each group vs this one" if len(values) > 1
           else f"the only group in {eff} = 'Y': the report describes it and compares nothing")
    d.add("groups:", f"  variable: {gvar}   # CHECK: the ADSL variable that defines the comparison (as randomised)",
          "  label: Treatment", f"  reference: {q(reference)}   # CHECK: {why}",
          "  levels:                  # display order and labels (CHECK the labels)")
    d.add(*[f"    - {{value: {q(v)}, label: {q(v)}}}" for v in ordered])
    if left_out:
        d.add(f"  # left out: {', '.join(q(v) for v in left_out)} (no subjects in {eff} = 'Y', or not assigned)")
    d.add("", "populations:")
    for f in flags:
        label = EFFICACY_FLAGS.get(f) or OTHER_FLAGS[f]
        extra = ""
        if f == "SAFFL" and pair and pair[1] in cols:
            extra = f", group_variable: {pair[1]}"
        line = f"  {f[:-2]}: {{flag: {f}, label: {q(label)}{extra}}}"
        d.add(line + ("   # safety by the as-treated variable" if extra else ""))


def _group_like(adsl: pd.DataFrame) -> str | None:
    """Without a treatment variable (e.g. a single-arm pooled analysis), a text variable named *GRP with
    2–10 values is the likely comparison (CHECK in the written plan)."""
    for col in adsl.columns:
        if col.endswith("GRP") and not pd.api.types.is_numeric_dtype(adsl[col]) and 2 <= adsl[col].nunique() <= 10:
            return str(col)
    return None


def _binary(d: _Draft) -> None:
    """Best-response parameters of ADRS as binary endpoints (responders: the CR/PR-type values found)."""
    adrs = d.found.frames.get("ADRS")
    if adrs is None or "PARAMCD" not in adrs.columns or "AVALC" not in adrs.columns:
        return
    lines: list[str] = []
    for code in sorted(adrs["PARAMCD"].dropna().astype(str).unique()):
        rows = adrs[adrs["PARAMCD"] == code]
        name = str(rows["PARAM"].dropna().iloc[0]) if "PARAM" in adrs.columns and rows["PARAM"].notna().any() else code
        vals = present_values(rows["AVALC"])
        responding = [v for v in vals if v.upper() in RESPONSE_VALUES]
        per_subject = not rows.duplicated([c for c in ("USUBJID", "PARAMCD") if c in rows.columns]).any()
        if not (BEST_RESPONSE.search(code) or BEST_RESPONSE.search(name)) or not responding or not per_subject:
            lines.append(f"#   - {{id: {ident(code)}, label: {q(sentence_case(name))}, population: {d.efficacy_pop}, "
                         f"source: {{dataset: ADRS, paramcd: {q(code)}, variable: AVALC, values: [...]}}}}"
                         f"   # AVALC values: {', '.join(q(v) for v in vals[:10])}")
            continue
        eid = ident(code)
        d.responders = d.responders or eid
        lines += [f"  - id: {eid}", f"    label: {q(sentence_case(name) + ' (' + '/'.join(responding) + ')')}",
                  f"    population: {d.efficacy_pop}",
                  f"    source: {{dataset: ADRS, paramcd: {q(code)}, variable: AVALC, "
                  f"values: [{', '.join(q(v) for v in responding)}]}}   # CHECK the responding values; found: "
                  f"{', '.join(q(v) for v in vals[:10])}", "    better: higher"]
    if lines:
        d.add("", "binary:" if any(not ln.startswith("#") for ln in lines) else "# binary:", *lines)


def _unit(rows: pd.DataFrame) -> tuple[str | None, str]:
    """The time unit of a parameter from AVALU, else a guess from the range; '' comment when AVALU says it."""
    units = present_values(rows["AVALU"]) if "AVALU" in rows.columns else []
    if units:
        mapped = {UNITS.get(u.upper()) for u in units}
        if len(mapped) == 1 and None not in mapped:
            return mapped.pop(), ""
        return None, f"AVALU is {', '.join(q(u) for u in units)}: not a time"
    top = float(pd.to_numeric(rows["AVAL"], errors="coerce").max())
    guess = "days" if top > 120 else "months"
    return guess, f"   # CHECK: no AVALU; AVAL runs to {top:g}, read as {guess}"


def _origin(rows: pd.DataFrame, adsl: pd.DataFrame) -> str:
    """What time zero is, from STARTDT: the ADSL date it equals for most records."""
    if "STARTDT" not in rows.columns or "USUBJID" not in rows.columns:
        return "start"
    start = _dates(rows.set_index("USUBJID")["STARTDT"])
    names = {"RANDDT": "randomization", "TRTSDT": "first dose", "TRTSDTM": "first dose"}   # US: the engine's variety
    for var, name in names.items():
        if var in adsl.columns:
            ref = _dates(adsl.set_index("USUBJID")[var]).dt.normalize()
            if float((start.dt.normalize() == ref.reindex(start.index)).mean()) > 0.9:
                return name
    return "start"


def _dates(values: pd.Series) -> pd.Series:
    """A date column as the loader reads it: a file's dates as they are, text (a CSV's ISO or DATE9. values)
    through the data layer's one date parser, so init and the analysis agree on what is a date."""
    return values if pd.api.types.is_datetime64_any_dtype(values) else parse_column(values)


def _time_to_event(d: _Draft) -> None:
    adtte = d.found.frames.get("ADTTE")
    if adtte is None:
        return
    d.add("", "time_to_event:")
    names = {code: _param_name(adtte, code) for code in adtte["PARAMCD"].dropna().astype(str).unique()}
    for code in sorted(names, key=lambda c: _endpoint_order(c, names[c])):
        rows = adtte[adtte["PARAMCD"] == code]
        name = names[code]
        unit, why = _unit(rows)
        if unit is None:
            d.add(f"  # {q(code)} ({q(name)}) left out: {why}")
            continue
        role = "safety" if SAFETY_WORDS.search(name) else "efficacy"
        origin = _origin(rows, d.adsl)
        better = "shorter" if SHORTER_BETTER.search(name) else "longer"
        population = d.efficacy_pop if role == "efficacy" else d.safety_pop
        d.add(f"  - id: {ident(code)}", f"    paramcd: {q(code)}", f"    label: {q(name)}",
              f"    population: {population}",
              f"    unit: {unit}{why}", f"    origin: {q(origin)}" + ("" if origin != "start" else
                                                                   "   # CHECK: time zero (no STARTDT to tell)"),
              f"    role: {role}   # CHECK: efficacy or safety section",
              f"    better: {better}   # CHECK: which time is the better outcome")
        if DURATION_OF_RESPONSE.search(code) or DURATION_OF_RESPONSE.search(name):
            d.add("    in_abstract: false   # CHECK: a responders-only endpoint, in the tables and figures",
                  '    y_label: "Remaining in response (%)"')
            if d.responders:
                d.add(f"    subset: {{label: responders, responders: {d.responders}}}   # CHECK: analysed among "
                      "responders only")
            else:
                d.add("    subset: {label: responders}   # CHECK: add `responders: <binary id>` to analyse "
                      "responders only")
        elif _records_for_part_of(d, rows, population):
            d.add(f"    subset: {{label: {q('patients with a ' + code + ' record')}}}   # CHECK: who these "
                  "patients are (records for part of the population)")


def _records_for_part_of(d: _Draft, rows: pd.DataFrame, population: str) -> bool:
    """Whether fewer than 90% of the population's subjects have a record. Counted in the population, not in all
    of ADSL: a package whose ADSL also holds screen failures has no endpoint records for them, and they are
    outside every analysed population anyway."""
    if "USUBJID" not in d.adsl.columns or "USUBJID" not in rows.columns:
        return False
    flag = f"{population}FL"
    members = d.adsl.loc[d.adsl[flag].eq("Y"), "USUBJID"] if flag in d.adsl.columns else d.adsl["USUBJID"]
    subjects = set(members.dropna().astype(str))
    with_records = subjects & set(rows["USUBJID"].dropna().astype(str))
    return bool(subjects) and len(with_records) < 0.9 * len(subjects)


# the usual primary and key secondary time-to-event parameters come first (the abstract leads with the first)
LEADING = ("OS", "PFS", "DFS", "EFS", "RFS", "TTP", "MFS", "TTF")


def _endpoint_order(code: str, name: str = "") -> tuple[int, str]:
    """Leading parameters first, then the others, then durations of response (by PARAMCD or PARAM)."""
    if code.upper() in LEADING:
        return LEADING.index(code.upper()), code
    later = DURATION_OF_RESPONSE.search(code) or DURATION_OF_RESPONSE.search(name)
    return (len(LEADING) + 1 if later else len(LEADING)), code


def _param_name(adtte: pd.DataFrame, code: str) -> str:
    """A parameter's name for the plan: its PARAM in sentence case, without a trailing '(unit)'; else PARAMCD."""
    rows = adtte[adtte["PARAMCD"] == code]
    name = str(rows["PARAM"].dropna().iloc[0]) if "PARAM" in adtte.columns and rows["PARAM"].notna().any() else code
    return sentence_case(re.sub(r"\s*\((days|weeks|months|years)\)\s*$", "", name, flags=re.I))


BASELINE_NAMED = re.compile(r"[A-Z][A-Z0-9]*BL(GR\d)?")   # ADaM names a baseline characteristic *BL (WEIGHTBL, BMIBLGR1)


def _decoded_levels(adsl: pd.DataFrame, variable: str) -> str:
    """', levels: [...]' giving SEX's CDISC codes (C66731: F, M, U, UNDIFFERENTIATED) their decoded names for the
    tables, in the order of the codes; '' for any other variable or a value outside the codelist."""
    if variable != "SEX":
        return ""
    found = present_values(adsl[variable])
    if not found or not set(found) <= set(adam.SEX_DECODES):
        return ""
    levels = ", ".join(f"{{value: {q(v)}, label: {q(adam.SEX_DECODES[v])}}}" for v in adam.SEX_DECODES if v in found)
    return f", levels: [{levels}]"


def _baseline(d: _Draft) -> None:
    cols = set(d.adsl.columns)
    rows = [(v, lab, kind) for v, lab, kind in BASELINE_CANDIDATES if v in cols and d.adsl[v].notna().any()]
    more = [v for v in d.adsl.columns if BASELINE_NAMED.fullmatch(str(v)) and d.adsl[v].notna().any()]
    head = [f"baseline_population: {d.efficacy_pop}", "baseline:"]
    if rows:
        d.add("", *head)
        d.add(*[f"  - {{variable: {v}, label: {q(lab)}, kind: {kind}{_decoded_levels(d.adsl, v)}}}"
                for v, lab, kind in rows])
    if more:
        kinds = {v: "continuous" if as_numbers(d.adsl[v]) is not None else "categorical" for v in more[:12]}
        labels = variable_labels(d.found.files["ADSL"])   # the file's own labels ('Baseline BMI (kg/m^2)')
        d.add(*([] if rows else ["", *(f"# {line}" for line in head)]),
              "  # other baseline characteristics in ADSL: uncomment those to tabulate (CHECK their labels and units)",
              *[f"  # - {{variable: {v}, label: {q(labels.get(v.upper(), v))}, kind: {kind}}}"
                for v, kind in kinds.items()])


def _safety(d: _Draft) -> None:
    ae = d.found.frames.get("ADAE")
    if ae is None:
        measured = [m.name for m in d.found.measurements if m.name in ("ADLB", "ADVS")]
        if measured:
            d.add("", f"# {', '.join(measured)}: their tables belong to a safety section, which needs ADAE")
        return
    ae_cols = set(ae.columns)
    soc = "AEBODSYS" if "AEBODSYS" in ae_cols else "AESOC"
    grades = "AETOXGR" in ae_cols and collected(ae["AETOXGR"])
    severity, kind = ("AETOXGR", "ctcae") if grades else ("AESEV", "mild_moderate_severe")

    def opt(var: str) -> str:
        return var if var in ae_cols and collected(ae[var]) else f"null   # {var} {'has no values' if var in ae_cols else 'absent'}"

    d.add("", "safety:", f"  population: {d.safety_pop}", "  pt_threshold_percent: 10", "  variables:",
          f"    teae_flag: {opt('TRTEMFL')}", f"    soc: {soc}", "    pt: AEDECOD",
          f"    severity: {severity}", f"    severity_kind: {kind}", f"    serious: {opt('AESER')}",
          f"    related: {opt('AEREL')}")
    if "AEREL" in ae_cols and collected(ae["AEREL"]):
        found = present_values(ae["AEREL"])
        if standard_related(found) is None:
            guess = [v for v in found if re.search(r"related|probab|possib|definite|likely|certain", v, re.I)
                     and not re.search(r"\bnot\b|unlikely|unrelated|none|remote", v, re.I)]
            d.add(f"    related_values: [{', '.join(q(v) for v in guess)}]   # CHECK: AEREL holds "
                  f"{', '.join(q(v) for v in found)}")
    d.add(f"    action: {opt('AEACN')}", f"    outcome: {opt('AEOUT')}")
    adsl = d.adsl
    d.add(f"  exposure_days: {'TRTDURD' if 'TRTDURD' in adsl.columns else 'null'}",
          f"  exposure_cycles: {'CYCLES' if 'CYCLES' in adsl.columns else 'null'}")
    if not ("AEACN" in ae_cols and collected(ae["AEACN"])):
        for var in ("DCTREAS", "DCSREAS", "DCDECOD"):
            if var in adsl.columns:
                reasons = [v for v in present_values(adsl[var]) if re.search(r"adverse", v, re.I)]
                if reasons:
                    d.add(f"  discontinuation: {{variable: {var}, values: [{', '.join(q(v) for v in reasons)}]}}"
                          "   # CHECK: ADAE has no action taken; discontinuation due to an AE from ADSL")
                    break
    d.add("  # of_interest: [{id: X, label: ..., pt: [...]} or {..., soc: [...]}]",
          *safety_measure_lines(d.found.measurements))


def init(data_folder: Path, out: Path | None = None, study_id: str | None = None) -> Path:
    """Write analysis/<study>.yml for `data_folder` (in the project holding the data, else in the current
    folder; or at `out`), its data folder named relative to where the plan is loaded from; refuses to
    overwrite an existing plan."""
    from trialpress.plan import load_plan

    folder = data_folder.resolve()
    root = find_root(folder)
    if not (root / ROOT_MARKER).is_file():   # no project above the data: where the user is (or their project)
        root = find_root()
    study = study_id or re.sub(r"[^a-z0-9._-]", "-", folder.name.lower()).strip("-") or "study"
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", study):
        raise UsageError(f"Study id {study!r} is not a folder-safe id.",
                         hint="Give --study with lower-case letters, digits, '.', '_' or '-'.")
    target = (out or root / PLANS_FOLDER / f"{study}.yml").resolve()
    if target.exists():
        raise UsageError(f"{target} already exists; trialpress init never overwrites a plan.",
                         hint="Give another path with --out, or delete the file first.")
    text = draft_plan(inspect(folder), study, _relative(folder, plan_root(target)))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    load_plan(target)   # the draft must validate as it is
    return target


def _relative(folder: Path, root: Path) -> str:
    """`folder` as the plan names it: relative to the root the plan is loaded from (with '..' where it lies
    outside it, so that moving the project with its data keeps the plan working), absolute only where no
    relative path exists (another drive)."""
    try:
        return Path(os.path.relpath(folder, root)).as_posix()
    except ValueError:
        return folder.as_posix()
