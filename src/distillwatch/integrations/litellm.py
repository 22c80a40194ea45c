"""LiteLLM proxy guardrail: ask ``distillwatch serve`` before every call, refuse blocked ones.

Configure the LiteLLM proxy (``config.yaml``; distillwatch must be importable by the proxy)::

    guardrails:
      - guardrail_name: distillwatch
        litellm_params:
          guardrail: distillwatch.integrations.litellm.DistillwatchGuardrail
          mode: pre_call
          default_on: true
          api_base: http://127.0.0.1:8787        # distillwatch serve (default: $DISTILLWATCH_URL)
          api_key: os.environ/DISTILLWATCH_TOKEN  # its bearer token (default: $DISTILLWATCH_TOKEN)

Before each call the guardrail maps LiteLLM's request to the distillwatch input contract
(:func:`to_event`) and posts it to ``POST /v1/decide`` (LiteLLM's ``pre_call`` hook, which runs
before the model is called: https://docs.litellm.ai/docs/proxy/guardrails/custom_guardrail).
``block`` -> HTTP 403 to the client, ``throttle`` -> HTTP 429, ``flag`` and ``allow`` -> the call
proceeds. The request's ``litellm_call_id`` is the ``request_id``.

If the distillwatch service cannot be reached within ``timeout_s`` seconds the guardrail lets the
call through (``fail_open: true``, the default, so the scorer never takes the gateway down) or
refuses it with 503 (``fail_open: false``). Each failure is logged.

Account identity: ``account_id`` is LiteLLM's ``user_id``, else its ``team_id``, else the hashed
virtual key; ``api_key_id`` is the hashed key; ``org_id`` the key's organisation. The client IP
and user agent come from what the proxy recorded in the request metadata
(``requester_ip_address``, ``user_agent``; set ``use_x_forwarded_for`` behind a load balancer).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any, Optional

import httpx
from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail

log = logging.getLogger("distillwatch.litellm")

_COPY = ("max_tokens", "temperature", "stream", "tools")
_TYPES = {"max_tokens": int, "temperature": (int, float), "stream": bool, "tools": list}


def to_event(data: dict, user_api_key_dict: Any) -> dict:
    """Map a LiteLLM proxy request (``data``) and its key to a distillwatch request event.

    Returns:
        A dict in the input contract (``docs/input-format.md``); fields LiteLLM does not know are left out.
    """
    meta = {**(data.get("metadata") or {}), **(data.get("litellm_metadata") or {})}
    key = user_api_key_dict
    account = (getattr(key, "user_id", None) or getattr(key, "team_id", None) or getattr(key, "token", None)
               or getattr(key, "api_key", None) or "anonymous")
    ev: dict[str, Any] = {
        "request_id": str(data.get("litellm_call_id") or uuid.uuid4()),
        "timestamp": int(time.time() * 1000),
        "account_id": str(account),
        "model": str(data.get("model") or ""),
    }
    if getattr(key, "token", None):
        ev["api_key_id"] = str(key.token)
    if getattr(key, "org_id", None):
        ev["org_id"] = str(key.org_id)
    ip = meta.get("requester_ip_address")
    if isinstance(ip, str) and ip:
        ev["client_ip"] = ip.split(",")[0].strip()
    if isinstance(meta.get("user_agent"), str) and meta["user_agent"]:
        ev["user_agent"] = meta["user_agent"]
    if isinstance(data.get("messages"), list) and data["messages"]:
        ev["messages"] = [{"role": m.get("role"), "content": m.get("content")} for m in data["messages"]
                          if isinstance(m, dict)]
    elif isinstance(data.get("prompt"), str):
        ev["prompt"] = data["prompt"]
    for k in _COPY:
        v = data.get(k)
        if v is not None and isinstance(v, _TYPES[k]) and not (k != "stream" and isinstance(v, bool)):
            ev[k] = v
    if "max_tokens" not in ev and isinstance(data.get("max_completion_tokens"), int):
        ev["max_tokens"] = data["max_completion_tokens"]
    return ev


class DistillwatchGuardrail(CustomGuardrail):
    """LiteLLM ``CustomGuardrail`` calling ``distillwatch serve`` (see module docstring).

    Args:
        api_base: URL of the service (default ``$DISTILLWATCH_URL`` or ``http://127.0.0.1:8787``).
        api_key: bearer token (default ``$DISTILLWATCH_TOKEN``).
        timeout_s: seconds to wait for a decision (default 0.05).
        fail_open: let calls through when the service is unreachable (default True).
        **kwargs: passed to ``CustomGuardrail`` (guardrail_name, event_hook, default_on, ...).
    """

    def __init__(self, api_base: Optional[str] = None, api_key: Optional[str] = None, timeout_s: float = 0.05,
                 fail_open: bool = True, **kwargs):
        self.dw_url = (api_base or os.environ.get("DISTILLWATCH_URL") or "http://127.0.0.1:8787").rstrip("/")
        token = api_key or os.environ.get("DISTILLWATCH_TOKEN")
        self.dw_headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.dw_timeout, self.fail_open = float(timeout_s), bool(fail_open)
        self._client: Optional[httpx.AsyncClient] = None
        super().__init__(**kwargs)

    async def decide(self, event: dict) -> Optional[dict]:
        """POST ``event`` to ``/v1/decide``; the decision dict, or ``None`` when the service failed."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.dw_timeout)
        try:
            r = await self._client.post(f"{self.dw_url}/v1/decide", json=event, headers=self.dw_headers)
        except httpx.HTTPError as exc:
            log.warning("distillwatch unreachable at %s: %s", self.dw_url, exc)
            return None
        if r.status_code != 200:
            log.warning("distillwatch answered %s: %s", r.status_code, r.text[:300])
            return None
        return r.json()

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        """LiteLLM hook: raise 403 on ``block``, 429 on ``throttle``; otherwise return ``data`` unchanged."""
        d = await self.decide(to_event(data, user_api_key_dict))
        if d is None:
            if self.fail_open:
                return data
            raise HTTPException(status_code=503, detail={"error": "distillwatch: decision service unavailable"})
        if d["decision"] == "block":
            raise HTTPException(status_code=403, detail={"error": "distillwatch: request blocked",
                                                         "reasons": d["reasons"], "campaign_id": d["campaign_id"]})
        if d["decision"] == "throttle":
            raise HTTPException(status_code=429, detail={"error": "distillwatch: account throttled",
                                                         "reasons": d["reasons"]})
        return data
