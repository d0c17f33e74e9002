"""`trialpress init <data-folder>`: a starting plan written from a folder of ADaM files (`draft`), with the
continuous endpoints and measurement tables its BDS datasets allow proposed as commented lines (`bds`)."""

from trialpress.scaffold.draft import Found, draft_plan, init, inspect

__all__ = ["Found", "draft_plan", "init", "inspect"]
