"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from yuqing.storage.post_view import PostOut as PostOut  # the store's post, as the API shows it


class UserOut(BaseModel):
    name: str
    display_name: str
    role: str
    role_label: str
    department_id: str | None


class MeOut(UserOut):
    csrf_token: str | None = Field(
        default=None, description="send as X-CSRF-Token on state-changing requests"
    )


NO_NUL = r"^[^\x00]*$"  # the database stores no NUL character (PostgreSQL refuses it in text)


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=200)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, pattern=NO_NUL, description="what the token is for")


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="shown once; send as Authorization: Bearer <token>")


class Health(BaseModel):
    status: Literal["ok"]
    time: datetime
    database: Literal["ok"]


class FacetBucket(BaseModel):
    value: str
    count: int


class HistogramBucket(BaseModel):
    start: datetime
    count: int


class SearchOut(BaseModel):
    total: int
    page: int
    size: int
    hits: list[PostOut]
    facets: dict[str, list[FacetBucket]]
    histogram: list[HistogramBucket]


LabelTask = Literal["relevance", "category", "sentiment"]
RelevanceLabel = Literal["relevant", "irrelevant"]
SentimentLabel = Literal["negative", "neutral", "positive"]


class RelevanceLabelIn(BaseModel):
    task: Literal["relevance"]
    label: RelevanceLabel


class SentimentLabelIn(BaseModel):
    task: Literal["sentiment"]
    label: SentimentLabel


class CategoryLabelIn(BaseModel):
    task: Literal["category"]
    label: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
        description="the category name (free text, not blank; the console suggests the known ones)",
    )


LabelIn = Annotated[RelevanceLabelIn | SentimentLabelIn | CategoryLabelIn, Field(discriminator="task")]
LABEL_IN: TypeAdapter[RelevanceLabelIn | SentimentLabelIn | CategoryLabelIn] = TypeAdapter(LabelIn)


class LabelOut(BaseModel):
    id: int
    post_id: str
    task: str
    label: str
    previous: str | None
    user: str
    created_at: datetime


UserRoleName = Literal["admin", "duty_officer", "department", "leader", "analyst"]
_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"
_NO_NUL = NO_NUL


class UserAdminOut(BaseModel):
    """A console user as the user administration shows it (never the password hash)."""

    id: int
    name: str
    display_name: str
    role: str
    role_label: str
    department_id: str | None
    department_name: str | None = Field(description="from the department directory, when it is there")
    active: bool
    created_at: datetime


class UserCreateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            # what the server enforces: a department handler needs a department, no other role has one
            "if": {"properties": {"role": {"const": "department"}}, "required": ["role"]},
            "then": {
                "required": ["department_id"],
                "properties": {"department_id": {"type": "string", "minLength": 1}},
            },
            "else": {"properties": {"department_id": {"anyOf": [{"type": "null"}, {"const": ""}]}}},
        }
    )

    name: str = Field(max_length=80, description="login name: 1-80 visible characters, no spaces")
    display_name: str = Field(default="", max_length=80, pattern=_NO_CONTROL_CHARS)
    role: UserRoleName
    department_id: str | None = Field(
        default=None, max_length=40, pattern=_NO_CONTROL_CHARS, description="required for role department"
    )
    password: str = Field(max_length=200, description="initial password, at least 8 characters")
    reason: str | None = Field(default=None, max_length=2000, pattern=_NO_NUL)


class UserUpdateIn(BaseModel):
    """Only the fields sent change; a role other than department drops the department."""

    display_name: str | None = Field(default=None, max_length=80, pattern=_NO_CONTROL_CHARS)
    role: UserRoleName | None = None
    department_id: str | None = Field(default=None, max_length=40, pattern=_NO_CONTROL_CHARS)
    active: bool | None = Field(
        default=None, description="false deactivates: no more logins, sessions and tokens stop working"
    )
    reason: str | None = Field(
        default=None,
        max_length=2000,
        pattern=_NO_NUL,
        description="why (audit log); required to change role, department or active",
    )


class PasswordResetIn(BaseModel):
    password: str = Field(max_length=200, description="the new password, at least 8 characters")
    reason: str | None = Field(default=None, max_length=2000, pattern=_NO_NUL, description="why (required)")
