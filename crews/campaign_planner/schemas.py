"""Structured output of the schedule task: a dated posting plan."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, model_validator

# A real date when validating (so "next Monday" or 2026-06-31 is refused), ISO text when dumped:
# rolecall stores model_dump() as JSON, which cannot hold a date object.
IsoDate = Annotated[dt.date, PlainSerializer(dt.date.isoformat, return_type=str)]

# The length limits keep a whole schedule inside the local model's answer budget (256 tokens):
# its JSON grammar honours maxLength, so a long post cannot cut the schedule off half-way.


class ScheduledPost(BaseModel):
    date: IsoDate = Field(description="Publishing day, YYYY-MM-DD", json_schema_extra={"maxLength": 10})
    channel: str = Field(max_length=20, description="Where it is posted")
    post: str = Field(max_length=80, description="The post's headline")


class PostingSchedule(BaseModel):
    campaign: str = Field(max_length=40, description="Campaign name")
    posts: list[ScheduledPost] = Field(min_length=1)

    @model_validator(mode="after")
    def in_date_order(self) -> PostingSchedule:
        # people read a schedule top to bottom; keep it in calendar order whatever order the model wrote
        self.posts.sort(key=lambda post: post.date)
        return self
