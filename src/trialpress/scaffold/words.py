"""Names init writes into a plan: parameter names in sentence case, PARAMCDs as plan identifiers."""

from __future__ import annotations

import re


def sentence_case(text: str) -> str:
    """'Progression Free Survival' → 'Progression free survival'; 'OVERALL SURVIVAL' → 'Overall survival';
    acronyms (two or more capitals) keep their form, and so does one upper-case word that reads as one (with a
    digit, or of up to three letters: 'FEV1', 'HBA1C', 'ALT'; but 'WEIGHT' → 'Weight')."""
    words = text.split(" ")
    if text.isupper() and not (len(words) == 1 and (any(ch.isdigit() for ch in text) or len(text) <= 3)):
        return text[:1] + text[1:].lower()
    small = {"of", "the", "and", "by", "to", "in", "for", "a", "an", "on", "with", "at", "or", "from", "vs"}
    if len(words) > 1 and all(w[:1].isupper() for w in words if w and w[0].isalpha() and w not in small):
        rest = [w if (sum(ch.isupper() for ch in w) > 1 or not w[:1].isalpha()) else w.lower() for w in words[1:]]
        return " ".join([words[0], *rest])
    return text


def ident(code: str) -> str:
    """A PARAMCD as a plan id ('FKSI-FWB' → 'FKSI_FWB', '6MWT' → 'EP_6MWT')."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", code)
    return out if out[:1].isalpha() else "EP_" + out
