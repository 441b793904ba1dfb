"""Label corrections on any post (relevance, category, sentiment), saved for the next training run."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DB, Now, Principal, State, api_user
from api.problems import ProblemError
from api.schemas import LABEL_IN, LabelIn, LabelOut, RelevanceLabel, SentimentLabel
from yuqing import audit
from yuqing.db.models import LabelCorrection
from yuqing.schemas import EnrichedPost
from yuqing.storage import StoreError

router = APIRouter(tags=["labels"])

ALLOWED_LABELS = {"relevance": get_args(RelevanceLabel), "sentiment": get_args(SentimentLabel)}


def label_in(task: str, label: str) -> LabelIn:
    """A correction as the console's form sends it, checked as the API's body is (422 problem if not)."""
    allowed = ALLOWED_LABELS.get(task)
    if allowed and label.strip() not in allowed:
        raise ProblemError(422, "bad-label", f"{task} 的标签只能是：{' / '.join(allowed)}")
    try:
        return LABEL_IN.validate_python({"task": task, "label": label.strip()})
    except ValidationError:
        raise ProblemError(422, "bad-label", "标签不能为空，也不能含控制字符") from None


def fetch_post(state: State, post_id: str) -> EnrichedPost:
    try:
        docs = state.store.get([post_id])
    except StoreError as exc:
        raise ProblemError(503, "search-unavailable", f"检索服务不可用：{exc}") from None
    if not docs:
        raise ProblemError(404, "not-found", f"没有编号为 {post_id} 的帖子")
    return EnrichedPost.model_validate(docs[0])


def current_label(post: EnrichedPost, task: str) -> str | None:
    tags = post.tags
    values: dict[str, Any] = {
        "relevance": "relevant" if tags.relevant else "irrelevant",
        "category": tags.category,
        "sentiment": tags.sentiment.label,
    }
    return values[task]


def save_correction(
    session: Session,
    post: EnrichedPost,
    body: LabelIn,
    principal: Principal,
    *,
    now: Any,
    channel: audit.Channel,
) -> LabelCorrection:
    label = body.label.strip()
    if not label:
        raise ProblemError(422, "bad-label", "标签不能为空")
    row = LabelCorrection(
        post_id=post.id,
        text=post.text,
        task=body.task,
        label=label,
        previous=current_label(post, body.task),
        user=principal.name,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=principal.name,
        channel=channel,
        action="label.correct",
        object_type="post",
        object_id=post.id,
        details={"task": body.task, "label": label, "previous": row.previous},
    )
    return row


def label_out(row: LabelCorrection) -> LabelOut:
    return LabelOut.model_validate(row, from_attributes=True)


@router.post("/posts/{post_id}/labels", response_model=LabelOut, status_code=201, summary="纠正帖子的标签")
def correct_label(
    post_id: str,
    body: LabelIn,
    state: State,
    session: DB,
    now: Now,
    principal: Principal = api_user("labels.correct"),
) -> LabelOut:
    post = fetch_post(state, post_id)
    row = save_correction(session, post, body, principal, now=now, channel=principal.channel)
    session.commit()
    return label_out(row)


@router.get("/posts/{post_id}/labels", response_model=list[LabelOut], summary="帖子的纠错记录")
def list_labels(post_id: str, session: DB, principal: Principal = api_user("search")) -> list[LabelOut]:
    rows = session.scalars(
        select(LabelCorrection).where(LabelCorrection.post_id == post_id).order_by(LabelCorrection.id)
    ).all()
    return [label_out(r) for r in rows]
