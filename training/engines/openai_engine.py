"""Any OpenAI-compatible chat-completions server (``vllm serve``, …), over plain HTTP."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.errors import SraditError
from pipeline.protocols import Messages, Sampling


class OpenAIGenerator:
    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout: float = 600.0,
        retries: int = 2,
        concurrency: int = 8,
    ) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.api_key = os.environ.get(api_key_env, "") if api_key_env else ""
        self.timeout, self.retries, self.concurrency = timeout, retries, concurrency

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            f"{self.url}/chat/completions", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())  # type: ignore[no-any-return]
            except urllib.error.HTTPError as e:
                if e.code < 500:  # the request is wrong; retrying will not help
                    raise SraditError(f"{self.url} refused the request: HTTP {e.code}: {e.read()[:300]!r}") from None
                last = e
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = e
            time.sleep(0.5 * 2**attempt)
        raise SraditError(f"cannot reach the model server at {self.url}: {last}")

    def _one(self, messages: Messages, sampling: Sampling) -> list[str]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "n": sampling.n,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        reply = self._post(body)
        try:
            choices = sorted(reply["choices"], key=lambda c: c.get("index", 0))
            return [c["message"]["content"] or "" for c in choices]
        except (KeyError, TypeError) as e:
            raise SraditError(f"{self.url} answered without choices: {str(reply)[:300]}") from e

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        # The server batches concurrent requests; a few in flight keep it busy.
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda m: self._one(m, sampling), prompts))
