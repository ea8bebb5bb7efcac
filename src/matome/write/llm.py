"""A chat client for any OpenAI-compatible server, asking for JSON answers.

Used by the LLM writer (``write_llm``). It wraps the ``openai`` package
(``openai.OpenAI(base_url=…)``), which already does what a careful client
needs — timeouts, retries with exponential back-off on timeouts, dropped
connections, 429 and 5xx, honouring Retry-After — and adds what matome needs
on top:

- structured output with fallbacks, because servers differ: ``response_format``
  ``json_schema`` (vLLM, llama.cpp's server, OpenAI), then ``json_object``,
  then plain text with the first JSON object parsed out of the answer. In
  ``auto`` mode a server that refuses one form (HTTP 400/422) is asked again
  in the next, and the form that worked is remembered for the run;
- token accounting from each answer's ``usage`` and a per-run budget shared
  by all threads (``TokenBudget``): once spent, no more requests are sent;
- a limit on requests in flight (a semaphore), so a pool of story writers
  cannot flood a small local server;
- every failure as one ``LLMError`` whose reason a person can read and which
  never contains the API key.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from matome.errors import BudgetSpent, LLMError
from matome.settings import LLMSettings

if TYPE_CHECKING:
    import openai

MODES = ("json_schema", "json_object", "text")
# Local servers (llama.cpp, Ollama, vLLM without --api-key) accept any key,
# but the openai package refuses to start without one.
_NO_KEY = "not-needed"
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def api_key(settings: LLMSettings) -> str:
    """The key from config, else $api_key_env, else $OPENAI_API_KEY (never logged)."""
    if settings.api_key:
        return settings.api_key
    for name in (settings.api_key_env, "OPENAI_API_KEY"):
        if name and os.environ.get(name):
            return os.environ[name]
    return _NO_KEY


class TokenBudget:
    """Tokens one run may spend, shared by every thread; 0 means no limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            if self.limit and self.used >= self.limit:
                raise BudgetSpent(f"token budget spent ({self.used} of {self.limit} tokens used)")

    def charge(self, tokens: int) -> None:
        with self._lock:
            self.used += tokens

    @property
    def spent(self) -> bool:
        with self._lock:
            return bool(self.limit) and self.used >= self.limit


@dataclass
class Reply:
    """One parsed answer and what it cost."""

    data: dict[str, Any]
    text: str
    mode: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_reported: bool = True
    finish_reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def parse_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``: whole, inside a ``` fence, or after prose.

    Small models wrap JSON in fences or chatter around it even when told not
    to; anything but an object is an error.
    """
    stripped = _FENCE.sub("", text.strip()).strip()
    decoder = json.JSONDecoder()
    start = stripped.find("{")
    last_error = "no JSON object in the answer"
    broken_until = -1
    while start != -1:
        # A "{" inside an object that failed to parse is part of that broken
        # object (a cut-off answer): taking it would pass off a fragment.
        if start > broken_until:
            try:
                value, end = decoder.raw_decode(stripped, start)
            except json.JSONDecodeError as exc:
                last_error = f"malformed JSON: {exc.msg} at character {exc.pos}"
                broken_until = max(broken_until, exc.pos)
            else:
                if isinstance(value, dict):
                    return value
                broken_until = end
        start = stripped.find("{", start + 1)
    raise LLMError(last_error)


_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar",
                 "not supported", "unsupported", "structured")


def _about_format(exc: openai.APIStatusError) -> bool:
    """Whether a refusal is about the structured-output request (servers word it freely)."""
    return any(w in str(exc.message).lower() for w in _FORMAT_WORDS)


class LLMClient:
    """Chat completions with JSON answers, a shared budget and a concurrency limit."""

    def __init__(self, settings: LLMSettings, budget: TokenBudget | None = None,
                 client: openai.OpenAI | None = None) -> None:
        if settings.json_mode not in ("auto", *MODES):
            raise LLMError(f"llm.json_mode must be auto, {', '.join(MODES)}; got {settings.json_mode!r}")
        import openai  # here, not at the top: its import took 0.6 s in every worker process

        self.settings = settings
        self.budget = budget or TokenBudget(settings.token_budget)
        self._key = api_key(settings)
        self._client = client or openai.OpenAI(
            base_url=settings.base_url, api_key=self._key,
            timeout=settings.timeout, max_retries=max(0, settings.retries))
        self._gate = threading.BoundedSemaphore(max(1, settings.concurrency))
        self._mode_lock = threading.Lock()
        self._modes = list(MODES) if settings.json_mode == "auto" else [settings.json_mode]

    def __repr__(self) -> str:  # the key stays out of every repr
        return f"LLMClient(base_url={self.settings.base_url!r}, model={self.settings.model!r})"

    @property
    def mode(self) -> str:
        with self._mode_lock:
            return self._modes[0]

    def _scrub(self, text: str) -> str:
        if self._key and self._key != _NO_KEY:
            text = text.replace(self._key, "***")
        return text[:300]

    def chat_json(self, messages: list[dict[str, str]], schema: dict[str, Any],
                  name: str = "answer") -> Reply:
        """Send ``messages``; the answer's JSON object, in the best form the server takes."""
        import openai

        while True:
            mode = self.mode
            try:
                return self._call(messages, schema, name, mode)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                # The server refused the request. When it was the response_format,
                # step down to the next form and remember that for the run; any
                # other refusal (a prompt over the context size) is this story's.
                if not (mode != "text" and _about_format(exc)) or not self._step_down(mode):
                    raise LLMError(self._reason(exc)) from None

    def _step_down(self, mode: str) -> bool:
        with self._mode_lock:
            if self._modes[0] != mode:
                return True  # another thread stepped down already: retry with its mode
            if len(self._modes) == 1:
                return False
            self._modes.pop(0)
            return True

    def _call(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str,
              mode: str) -> Reply:
        import openai

        s = self.settings
        extra: dict[str, Any] = {}
        if mode == "json_schema":
            extra["response_format"] = {"type": "json_schema", "json_schema": {
                "name": name, "schema": schema, "strict": True}}
        elif mode == "json_object":
            extra["response_format"] = {"type": "json_object"}
        if s.seed >= 0:
            extra["seed"] = s.seed
        self.budget.check()
        with self._gate:
            self.budget.check()  # another thread may have spent it while this one waited
            try:
                completion = self._client.chat.completions.create(
                    model=s.model or "default", messages=messages,  # type: ignore[arg-type]
                    temperature=s.temperature, max_tokens=s.max_tokens, **extra)
            except (openai.BadRequestError, openai.UnprocessableEntityError):
                raise
            except openai.OpenAIError as exc:
                raise LLMError(self._reason(exc)) from None
        return self._reply(completion, mode, messages)

    def _reply(self, completion: Any, mode: str, messages: list[dict[str, str]]) -> Reply:
        usage = getattr(completion, "usage", None)
        choices = getattr(completion, "choices", None) or []
        text = (choices[0].message.content or "") if choices else ""
        if usage is not None and getattr(usage, "total_tokens", None) is not None:
            prompt_t, completion_t, reported = usage.prompt_tokens or 0, usage.completion_tokens or 0, True
        else:
            # No usage from the server: charge an estimate (a token per 2
            # characters, pessimistic for Japanese) so the budget still binds.
            prompt_t = sum(len(m["content"]) for m in messages) // 2
            completion_t, reported = len(text) // 2, False
        self.budget.charge(prompt_t + completion_t)
        if not choices:
            raise LLMError("the server's answer has no choices")
        finish = choices[0].finish_reason or ""
        try:
            data = parse_json(text)
        except LLMError as exc:
            cut = " (the answer was cut off at max_tokens)" if finish == "length" else ""
            raise LLMError(f"{exc.reason}{cut}") from None
        notes = [] if reported else ["usage not reported: tokens estimated"]
        return Reply(data, text, mode, getattr(completion, "model", "") or self.settings.model,
                     prompt_t, completion_t, reported, finish, notes)

    def _reason(self, exc: Exception) -> str:
        import openai

        s = self.settings
        if isinstance(exc, openai.APITimeoutError):
            return f"timed out after {s.timeout:g} s ({s.retries} retries)"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot connect to {s.base_url} ({s.retries} retries)"
        if isinstance(exc, openai.RateLimitError):
            return f"rate limited (HTTP 429) after {s.retries} retries"
        if isinstance(exc, openai.APIStatusError):
            return self._scrub(f"HTTP {exc.status_code} from the server: {exc.message}")
        return self._scrub(f"{type(exc).__name__}: {exc}")
