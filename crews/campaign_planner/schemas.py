"""Structured output of the schedule task: a dated posting plan."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, model_validator

# A real date when validating (so "next Monday" or 2026-06-31 is refused), ISO text when dumped:
# rolecall stores model_dump() as JSON, which cannot hold a date object.
IsoDate = Annotated[dt.date, PlainSerializer(dt.date.isoformat, return_type=str)]


class ScheduledPost(BaseModel):
    date: IsoDate = Field(description="Publishing day, YYYY-MM-DD")
    channel: str = Field(description="Where it is posted")
    post: str = Field(description="The post: a headline and one sentence")


class PostingSchedule(BaseModel):
    campaign: str = Field(description="Campaign name")
    posts: list[ScheduledPost] = Field(min_length=1)

    @model_validator(mode="after")
    def in_date_order(self) -> "PostingSchedule":
        # people read a schedule top to bottom; keep it in calendar order whatever order the model wrote
        self.posts.sort(key=lambda post: post.date)
        return self
