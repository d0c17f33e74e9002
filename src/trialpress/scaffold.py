"""`trialpress init <data-folder>`: inspect a folder of ADaM files and write a starting plan that renders.

It recognises the standard datasets and variables (CDISC ADaM names), picks sensible defaults and
writes them as a commented YAML plan; everything it could not decide is a comment saying what to fill
in. The result validates against the plan schema before it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialpress.data.readers import find_dataset_file, read_dataset
from trialpress.errors import UsageError
from trialpress.paths import find_root

GROUP_CANDIDATES = ("TRT01P", "TRT01A", "ARM", "ACTARM", "TRTP", "TRTA")
POPULATION_FLAGS = {"ITTFL": "Intention-to-treat population", "FASFL": "Full analysis set",
                    "EFFFL": "Efficacy population", "MITTFL": "Modified intention-to-treat population",
                    "SAFFL": "Safety population", "PPROTFL": "Per-protocol population"}
UNITS = {"DAYS": "days", "DAY": "days", "WEEKS": "weeks", "MONTHS": "months", "YEARS": "years"}
TICKS = {"days": 90, "weeks": 12, "months": 6, "years": 1}
BASELINE_CANDIDATES = (("AGE", "Age, years", "continuous"), ("AGEGR1", "Age group", "categorical"),
                       ("SEX", "Sex", "categorical"), ("RACE", "Race", "categorical"),
                       ("ETHNIC", "Ethnicity", "categorical"), ("REGION1", "Region", "categorical"))


@dataclass
class Found:
    folder: Path
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def inspect(folder: Path) -> Found:
    found = Found(folder)
    for name in ("ADSL", "ADTTE", "ADRS", "ADAE"):
        path = find_dataset_file(folder, name)
        if path is not None:
            found.files[name] = path
            found.frames[name] = read_dataset(path)
    if "ADSL" not in found.frames:
        raise UsageError(f"No ADSL (adsl.xpt, .csv or .parquet) in {folder}.",
                         hint="trialpress init needs at least the subject-level dataset ADSL.")
    return found


def _yaml(value: object) -> str:
    """A YAML scalar, quoted when YAML would read it as something else."""
    s = str(value)
    if s == "" or re.search(r"[:#{}\[\],&*?|<>=!%@`'\"]|^[-\s]|\s$", s) or s.lower() in {
            "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"} or re.fullmatch(r"[\d.eE+-]+", s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def _group_like(adsl: pd.DataFrame) -> str | None:
    """Without a treatment variable (e.g. a single-arm pooled analysis), a text variable named *GRP with
    2–10 values is the likely comparison (CHECK in the written plan)."""
    for col in adsl.columns:
        if col.endswith("GRP") and not pd.api.types.is_numeric_dtype(adsl[col]) \
                and 2 <= adsl[col].nunique() <= 10:
            return str(col)
    return None


def _title(text: str) -> str:
    return text[:1].upper() + text[1:].lower() if text.isupper() else text


def draft_plan(found: Found, study_id: str, data_folder: str) -> str:
    adsl = found.frames["ADSL"]
    cols = set(adsl.columns)
    out: list[str] = [
        f"# Starting analysis plan written by `trialpress init {data_folder}`.",
        "# Check every choice marked CHECK, then run: trialpress check <this file>; trialpress render <this file>.",
        "# Every key is validated; unknown keys are errors. See analysis/*.yml for complete examples.",
        "",
        "study:",
        f"  id: {_yaml(study_id)}",
        f"  title: {_yaml(str(adsl['STUDYID'].dropna().iloc[0]) + ' report' if 'STUDYID' in cols else study_id)}"
        "   # CHECK: the study title",
        "  # treatment: name of the study treatment, used in the abstract",
        "",
        "data:",
        f"  folder: {_yaml(data_folder)}",
        f"  cutoff_variable: {'DCUTDT' if 'DCUTDT' in cols else 'null   # no DCUTDT in ADSL: the cut-off is not shown'}",
        "",
    ]
    gvar = next((c for c in GROUP_CANDIDATES if c in cols), None) or _group_like(adsl)
    if gvar is None:
        raise UsageError(f"ADSL in {found.folder} has none of the usual grouping variables ({', '.join(GROUP_CANDIDATES)}).",
                         hint="Add one, or write the plan by hand from analysis/*.yml and name your grouping variable.")
    values = sorted(str(v) for v in adsl[gvar].dropna().unique())
    reference = next((v for v in values if "PLACEBO" in v.upper() or "PBO" in v.upper()), values[0])
    ordered = [reference, *[v for v in values if v != reference]]
    out += ["groups:", f"  variable: {gvar}   # CHECK: the ADSL variable that defines the comparison", "  label: Treatment",
            f"  reference: {_yaml(reference)}   # CHECK: every HR/OR/difference is each group vs this one",
            "  levels:                  # display order and labels"]
    out += [f"    - {{value: {_yaml(v)}, label: {_yaml(_title(v))}}}" for v in ordered]
    flags = [f for f in POPULATION_FLAGS if f in cols]
    if not flags:
        raise UsageError(f"ADSL in {found.folder} has no population flag ({', '.join(POPULATION_FLAGS)}).",
                         hint="Add a flag, or define a population by expression in a hand-written plan.")
    efficacy_pop = next(f for f in flags)
    out += ["", "populations:"]
    out += [f"  {f[:-2]}: {{flag: {f}, label: {_yaml(POPULATION_FLAGS[f])}}}" for f in flags]
    if "ADTTE" in found.frames:
        adtte = found.frames["ADTTE"]
        out += ["", "time_to_event:"]
        params = adtte.drop_duplicates("PARAMCD")
        for _, row in params.sort_values("PARAMCD").iterrows():
            code = str(row["PARAMCD"])
            unit = UNITS.get(str(row.get("AVALU", "")).strip().upper(), "days")
            label = str(row["PARAM"]) if "PARAM" in adtte.columns and pd.notna(row.get("PARAM")) else code
            label = re.sub(r"\s*\((days|weeks|months|years)\)\s*$", "", label, flags=re.I)
            ep_id = re.sub(r"[^A-Za-z0-9_]", "_", code)
            if not ep_id[0].isalpha():
                ep_id = "EP_" + ep_id
            out += [f"  - id: {ep_id}", f"    paramcd: {_yaml(code)}", f"    label: {_yaml(label)}",
                    f"    population: {efficacy_pop[:-2]}",
                    f"    unit: {unit}" + ("" if "AVALU" in adtte.columns else "   # CHECK: no AVALU; unit of AVAL?"),
                    f"    tick_every: {TICKS[unit]}"]
    if "ADRS" in found.frames:
        adrs = found.frames["ADRS"]
        out += ["", "# ADRS found. Binary endpoints to consider (uncomment and choose the responding values):"]
        for code in sorted(adrs["PARAMCD"].dropna().astype(str).unique()):
            vals = sorted(adrs.loc[adrs["PARAMCD"] == code, "AVALC"].dropna().astype(str).unique())[:8] \
                if "AVALC" in adrs.columns else []
            out += ["# binary:", f"#   - {{id: {re.sub(r'[^A-Za-z0-9_]', '_', code)}, label: {code}, population: "
                    f"{efficacy_pop[:-2]}, source: {{dataset: ADRS, paramcd: {code}, variable: AVALC, values: [...]}}}}"
                    f"   # AVALC values: {', '.join(vals)}"]
    baseline = [(v, lab, kind) for v, lab, kind in BASELINE_CANDIDATES if v in cols]
    if baseline:
        out += ["", f"baseline_population: {efficacy_pop[:-2]}", "baseline:"]
        out += [f"  - {{variable: {v}, label: {_yaml(lab)}, kind: {kind}}}" for v, lab, kind in baseline]
    if "ADAE" in found.frames:
        ae_cols = set(found.frames["ADAE"].columns)
        safety_pop = "SAF" if "SAFFL" in flags else efficacy_pop[:-2]
        soc = "AEBODSYS" if "AEBODSYS" in ae_cols else "AESOC"
        severity, kind = ("AETOXGR", "ctcae") if "AETOXGR" in ae_cols else ("AESEV", "mild_moderate_severe")

        def opt(var: str) -> str:
            return var if var in ae_cols else "null"

        out += ["", "safety:", f"  population: {safety_pop}", "  pt_threshold_percent: 10",
                "  variables:",
                f"    teae_flag: {opt('TRTEMFL')}", f"    soc: {soc}", "    pt: AEDECOD",
                f"    severity: {severity}", f"    severity_kind: {kind}",
                f"    serious: {opt('AESER')}", f"    related: {opt('AEREL')}",
                f"    action: {opt('AEACN')}", f"    outcome: {opt('AEOUT')}",
                f"  exposure_days: {'TRTDURD' if 'TRTDURD' in cols else 'null'}",
                f"  exposure_cycles: {'CYCLES' if 'CYCLES' in cols else 'null'}",
                "  # of_interest: [{id: X, label: ..., pt: [...]} or {..., soc: [...]}]"]
    out += ["", "report:", "  template: article", "  formats: [html, pdf]", ""]
    return "\n".join(out)


def init(data_folder: Path, out: Path | None = None, study_id: str | None = None) -> Path:
    """Write analysis/<study>.yml for `data_folder`; refuses to overwrite an existing plan."""
    from trialpress.plan import load_plan

    folder = data_folder.resolve()
    root = find_root(folder)
    study = study_id or re.sub(r"[^a-z0-9._-]", "-", folder.name.lower()).strip("-") or "study"
    target = out or root / "analysis" / f"{study}.yml"
    if target.exists():
        raise UsageError(f"{target} already exists; trialpress init never overwrites a plan.",
                         hint="Give another path with --out, or delete the file first.")
    try:
        rel = folder.relative_to(root).as_posix()
    except ValueError:
        rel = folder.as_posix()
    text = draft_plan(inspect(folder), study, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    load_plan(target)   # the draft must validate as it is
    return target
