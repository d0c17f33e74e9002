"""One spelling variety per document: the engine writes US English; `conventions.spelling: uk` turns the whole
document (prose, table labels, captions) into British spelling. The words converted are the engine's own
vocabulary (analyzed, randomized, favorable …); a link and its target change alike, so every link still
resolves."""

from __future__ import annotations

import re

US_UK = {"analyzed": "analysed", "analyze": "analyse", "randomized": "randomised", "randomization": "randomisation",
         "summarized": "summarised", "favorable": "favourable", "favored": "favoured", "favors": "favours",
         "favor": "favour", "modeled": "modelled", "centered": "centred", "labeled": "labelled",
         "penalized": "penalised", "hyperbilirubinemia": "hyperbilirubinaemia"}
_WORD = re.compile(r"\b(" + "|".join(sorted(US_UK, key=len, reverse=True)) + r")\b", re.I)


def _british(m: re.Match[str]) -> str:
    word = m.group(0)
    uk = US_UK[word.lower()]
    return uk.capitalize() if word[0].isupper() else uk


def in_variety(qmd: str, variety: str) -> str:
    """The document text in the plan's spelling variety."""
    return qmd if variety == "us" else _WORD.sub(_british, qmd)
