"""Structured output of the qualification task."""
from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class QualifiedPartner(BaseModel):
    # length limits keep a shortlist inside the local model's answer budget (its grammar honours them)
    name: str = Field(max_length=40, description="Company name as the directory spells it")
    fit_score: int = Field(ge=1, le=10, description="1 = no fit, 10 = ideal partner")
    reason: str = Field(max_length=80, description="One short sentence: why this score")
    rank: int = Field(0, description="Position in the shortlist, 1 = best; set from fit_score")


class PartnerShortlist(BaseModel):
    partners: list[QualifiedPartner]

    @model_validator(mode="after")
    def rank_by_score(self) -> PartnerShortlist:
        # Ranking is arithmetic, not judgement: a small model scores well enough but
        # often lists partners out of order, so the order comes from the scores.
        self.partners.sort(key=lambda partner: -partner.fit_score)
        for position, partner in enumerate(self.partners, start=1):
            partner.rank = position
        return self
