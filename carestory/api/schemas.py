"""API output schemas. Built field by field from the public version: nothing private can slip
out, because nothing is copied from a model wholesale."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class ServiceRef(Strict):
    code: str
    name: str


class ServiceOut(Strict):
    code: str
    name: str
    type: str
    parent_code: str | None
    address: str
    postcode: str
    is_open: bool
    url: str


class TagOut(Strict):
    name: str
    group: str
    polarity: int


class ReplyOut(Strict):
    body: str
    published_at: datetime | None


class ResponseOut(Strict):
    id: int
    body: str
    responder_name: str
    responder_job_title: str
    organisation: str
    change: str
    change_description: str
    published_at: datetime | None
    replies: list[ReplyOut]


class StoryOut(Strict):
    id: str
    title: str
    body: str
    screen_name: str
    author_role: str
    published_at: datetime | None
    services: list[ServiceRef]
    tags: list[TagOut]
    response_count: int
    url: str


class StoryDetailOut(StoryOut):
    responses: list[ResponseOut]


class ErrorOut(Strict):
    detail: str
