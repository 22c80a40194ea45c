"""Request and response bodies of the real-time service (pydantic v2).

:class:`RequestEvent` is one row of the requests contract (``docs/input-format.md``) as a JSON
body: the same field names and the same strict types, so that every event the service accepts
is a row that ``distillwatch scan`` would accept too (the re-link feeds the stored events to the
batch pipeline). One addition for gateways that must not ship prompt text: ``messages_digest``
(a hex SHA-256 of the conversation) may replace ``messages``/``prompt``; such a request carries
no content evidence of its own, and is stored for the re-link with an empty ``prompt``.

A body that breaks the contract is answered with HTTP 422 whose ``detail`` lists each problem
with ``loc`` = ``["body", <field>, ...]`` naming the field (FastAPI's standard error shape).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from distillwatch.schema import MESSAGE_ROLES

TS_MIN_MS = int(datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
TS_MAX_MS = int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
"""Timestamps must fall in 2000-2099 (UTC), as in the batch contract (epoch milliseconds)."""

_ROLES = set(MESSAGE_ROLES) | {"developer", "function"}
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_timestamp_ms(value: Any) -> int:
    """Epoch milliseconds (UTC) from an RFC 3339 string or an integer of epoch milliseconds.

    A string without an offset is read as UTC (as ``scan`` does).

    Raises:
        ValueError: unparseable, of the wrong type, or outside 2000-2099.
    """
    if isinstance(value, bool):
        raise ValueError("timestamp must be an RFC 3339 string or integer epoch milliseconds")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        s = value.strip()
        if s[-1:] in ("z", "Z"):
            s = s[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(s.replace("t", "T", 1) if "t" in s[:11] else s)
        except ValueError:
            raise ValueError("unparseable timestamp (expected RFC 3339)") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        ms = int(round(dt.timestamp() * 1000))
    else:
        raise ValueError("timestamp must be an RFC 3339 string or integer epoch milliseconds")
    if not TS_MIN_MS <= ms < TS_MAX_MS:
        raise ValueError("timestamp out of range (2000-2099; integers are epoch milliseconds)")
    return ms


class Message(BaseModel):
    """One chat turn: ``role`` in system/user/assistant/tool (developer, function accepted); content text, parts or null."""

    model_config = ConfigDict(extra="allow")
    role: StrictStr
    content: Union[StrictStr, list[dict[str, Any]], None] = None

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        if v not in _ROLES:
            raise ValueError(f"role must be one of {sorted(_ROLES)}")
        return v


def _id(v: Any) -> Any:
    """Identifiers given as JSON numbers are read as their decimal text (batch contract)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


class RequestEvent(BaseModel):
    """One API request in the input contract (see module docstring). Unknown extra fields are kept."""

    model_config = ConfigDict(extra="allow")
    request_id: StrictStr
    timestamp: Union[StrictStr, StrictInt]
    account_id: StrictStr
    model: StrictStr
    api_key_id: Optional[StrictStr] = None
    org_id: Optional[StrictStr] = None
    client_ip: Optional[StrictStr] = None
    user_agent: Optional[StrictStr] = None
    messages: Optional[list[Message]] = None
    prompt: Optional[StrictStr] = None
    messages_digest: Optional[StrictStr] = None
    tools: Optional[list[dict[str, Any]]] = None
    max_tokens: Optional[StrictInt] = None
    temperature: Optional[Union[StrictFloat, StrictInt]] = None
    stream: Optional[StrictBool] = None
    response: Optional[StrictStr] = None
    input_tokens: Optional[StrictInt] = None
    output_tokens: Optional[StrictInt] = None
    status: Optional[StrictInt] = None

    @field_validator("request_id", "account_id", "api_key_id", "org_id", mode="before")
    @classmethod
    def _ids(cls, v):
        return _id(v)

    @field_validator("request_id", "account_id", "model")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must be a non-empty string")
        return v

    @field_validator("timestamp")
    @classmethod
    def _ts(cls, v):
        parse_timestamp_ms(v)
        return v

    @field_validator("client_ip")
    @classmethod
    def _ip(cls, v):
        if v is not None and v.strip():
            try:
                ipaddress.ip_address(v.strip())
            except ValueError:
                raise ValueError(f"invalid IP address: {v}") from None
        return v

    @field_validator("messages_digest")
    @classmethod
    def _digest(cls, v):
        if v is not None and not _HEX64.match(v):
            raise ValueError("messages_digest must be a hex SHA-256 (64 hex digits)")
        return v

    @field_validator("messages")
    @classmethod
    def _msgs(cls, v):
        if v is not None and len(v) == 0:
            raise ValueError("messages must be a non-empty list of {role, content}")
        return v

    @model_validator(mode="after")
    def _content(self):
        if self.messages is None and self.prompt is None and self.messages_digest is None:
            raise ValueError("one of messages, prompt or messages_digest is required")
        return self

    @property
    def ts_ms(self) -> int:
        """Arrival time, epoch milliseconds UTC."""
        return parse_timestamp_ms(self.timestamp)

    def contract_row(self) -> dict:
        """The JSON object stored and later fed to ``scan``: the body as sent, ``messages_digest`` -> empty ``prompt``."""
        row = self.model_dump(exclude_none=True, exclude_unset=True)
        if "messages" not in row and "prompt" not in row:
            row["prompt"] = ""
        return row


class EventBatch(BaseModel):
    """``POST /v1/events`` body: ``{"events": [RequestEvent, ...]}`` (at most 10,000 per call)."""

    events: list[RequestEvent] = Field(..., max_length=10_000)


class Decision(BaseModel):
    """Answer of ``POST /v1/decide``.

    Attributes:
        decision: ``allow``, ``flag`` (serve, but queue for review), ``throttle`` (slow or cap
            the account) or ``block`` (refuse).
        risk: the account's risk in [0, 1] (higher is more suspicious).
        reasons: signal ids and policy rules behind the decision.
        campaign_id: the campaign the account belongs to or is linked to, else ``""``.
    """

    decision: Literal["allow", "flag", "throttle", "block"]
    risk: float
    reasons: list[str]
    campaign_id: str
