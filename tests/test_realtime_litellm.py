"""A real LiteLLM proxy with the distillwatch guardrail, in front of a fake OpenAI-compatible model
server on loopback: a request the policy blocks is refused (403) and never reaches the model; an
allowed one passes and returns the model's answer."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("litellm") is None:   # the proxy runs in a subprocess: no need to import it here
    pytest.skip("litellm is not installed (pip install 'litellm[proxy]')", allow_module_level=True)
import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOKEN = "dw-token"
MASTER = "sk-test-master"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fake_model_server(port: int, seen: list):
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        seen.append(body["model"])
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1772445600, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "fake answer 42"}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    return server, t


def _wait(url: str, proc: subprocess.Popen, seconds: float, headers=None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[:4]} exited: {proc.stderr.read().decode()[-3000:]}")
        try:
            if httpx.get(url, timeout=1, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} not up within {seconds} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_litellm_proxy_refuses_blocked_and_passes_allowed(tmp_path):
    model_port, dw_port, proxy_port = _free_port(), _free_port(), _free_port()
    seen: list = []
    server, thread = _fake_model_server(model_port, seen)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "DISTILLWATCH_TOKEN": TOKEN, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    (tmp_path / "policy.yaml").write_text(
        "version: 1\nrules:\n  - name: suspend-aurora-3\n    models: [aurora-3]\n    action: block\n")
    models = "".join(f"""
  - model_name: {m}
    litellm_params:
      model: openai/fake-{m}
      api_base: http://127.0.0.1:{model_port}/v1
      api_key: fake-key
""" for m in ("aurora-2", "aurora-3"))
    (tmp_path / "config.yaml").write_text(f"""model_list:{models}
guardrails:
  - guardrail_name: distillwatch
    litellm_params:
      guardrail: distillwatch.integrations.litellm.DistillwatchGuardrail
      mode: pre_call
      default_on: true
      api_base: http://127.0.0.1:{dw_port}
      api_key: {TOKEN}
      timeout_s: 5
      fail_open: false
general_settings:
  master_key: {MASTER}
""")
    dw = subprocess.Popen([sys.executable, "-m", "distillwatch.cli", "serve", "--port", str(dw_port),
                           "--state", str(tmp_path / "state"), "--policy", str(tmp_path / "policy.yaml"),
                           "--relink-every-s", "0", "--relink-every-events", "0"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proxy = subprocess.Popen([sys.executable, "-m", "litellm.proxy.proxy_cli", "--config", str(tmp_path / "config.yaml"),
                              "--host", "127.0.0.1", "--port", str(proxy_port)],
                             env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(f"http://127.0.0.1:{dw_port}/healthz", dw, 60)
        _wait(f"http://127.0.0.1:{proxy_port}/health/liveliness", proxy, 120)
        h = {"Authorization": f"Bearer {MASTER}"}
        body = {"messages": [{"role": "user", "content": "Explain step by step how to sort a list."}]}
        ok = httpx.post(f"http://127.0.0.1:{proxy_port}/v1/chat/completions", headers=h, timeout=60,
                        json={"model": "aurora-2", **body})
        assert ok.status_code == 200, ok.text[:1000]
        assert ok.json()["choices"][0]["message"]["content"] == "fake answer 42"
        blocked = httpx.post(f"http://127.0.0.1:{proxy_port}/v1/chat/completions", headers=h, timeout=60,
                             json={"model": "aurora-3", **body})
        assert blocked.status_code == 403, blocked.text[:1000]
        assert "policy.block:suspend-aurora-3" in blocked.text
        assert seen == ["fake-aurora-2"]                      # the blocked call never reached the model
        health = httpx.get(f"http://127.0.0.1:{dw_port}/healthz").json()
        assert health["events"] == 2                            # distillwatch saw and stored both calls
    finally:
        _stop(proxy)
        _stop(dw)
        server.should_exit = True
        thread.join(10)
