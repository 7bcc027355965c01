"""Running the model's function calls in the kernel and handing the results back.

The dispatcher watches the event stream. Once a call's arguments are complete it runs the
Python function (a plain function in a worker thread, an ``async def`` on the background
loop), then sends a ``function_call_output`` item. When the response that made the calls is
done, every call in it has its output, and no other response is active, it sends one
``response.create`` so the model answers with the results. A response that was cancelled (the
user spoke up) gets its outputs but no new response: the user's turn goes first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import decimal
import enum
import inspect
import json
import logging
import pathlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._loop import io_loop
from .redaction import protect_logger
from .tools import Tool, as_tools, coerce_arguments

log = protect_logger(logging.getLogger(__name__))  # a tool's exception may quote a secret

MAX_OUTPUT_CHARS = 64_000
"""Longer results are refused (a data-channel message tops out near 256 KB)."""

Send = Callable[[dict[str, Any]], None]

_REQUESTED = "(requested)"  # a response.create is on its way; its response.created is not


@dataclasses.dataclass
class ToolCall:
    """One function call from the model and what became of it."""

    call_id: str
    name: str
    arguments: str
    response_id: str | None
    status: str = "running"
    """``running``, ``awaiting approval``, ``ok``, ``error``, ``timeout``, ``denied`` or ``lapsed``
    (the call ended before anyone approved it)."""
    output: str | None = None
    seconds: float | None = None


class Dispatcher:
    """Runs registered tools when the model calls them; one per session.

    ``send`` delivers a client event to the call; ``on_pending`` is told the calls that wait
    for approval whenever that list changes; ``output_event`` is the client event that carries
    a function's output.
    """

    def __init__(
        self,
        send: Send,
        on_pending: Callable[[list[dict[str, Any]]], None],
        output_event: str = "conversation.item.create",
    ) -> None:
        self._send = send
        self._output_event = output_event  # GPT-Live's backend takes its outputs as response.item.create
        self._on_pending = on_pending
        self._lock = threading.RLock()
        self._tools: dict[str, Tool] = {}
        self._given: list[Any] = []  # the session's tools: Tool objects and dicts
        self._calls: dict[str, ToolCall] = {}
        self._open: dict[str | None, set[str]] = {}  # response id -> calls still without output
        self._finished: dict[str | None, str] = {}  # response id -> its final status
        self._owed = False  # a response.create is due once no response is active
        self._active: str | None = None

    # -- registration ---------------------------------------------------------------------------

    def replace(self, tools: Iterable[Any]) -> None:
        """Run ``tools`` (functions, :class:`Tool` objects; dicts are left to the user) from now on."""
        items = as_tools(list(tools))
        with self._lock:
            self._given = items
            self._tools = {t.name: t for t in items if isinstance(t, Tool)}

    def adding(self, tool: Tool) -> list[Any]:
        """The current tools with ``tool`` added (replacing one of the same name)."""
        with self._lock:
            return [*(t for t in self._given if _name_of(t) != tool.name), tool]

    @property
    def active_response(self) -> str | None:
        """The id of the response in progress (``None`` also while one asked for has not begun)."""
        active = self._active
        return None if active == _REQUESTED else active

    @property
    def responding(self) -> bool:
        """Whether a response is in progress, or asked for and about to begin."""
        return self._active is not None

    @property
    def calls(self) -> list[ToolCall]:
        """Every call so far, oldest first."""
        with self._lock:
            return list(self._calls.values())

    # -- the event stream -------------------------------------------------------------------------

    def reset(self) -> None:
        """A new call begins: forget the old call's responses; its unapproved calls lapse."""
        with self._lock:
            lapsed = [c for c in self._calls.values() if c.status == "awaiting approval"]
            for call in lapsed:
                call.status = "lapsed"
            self._open.clear()
            self._finished.clear()
            self._owed, self._active = False, None
        if lapsed:
            self._pending_changed()

    def observe(self, event: dict[str, Any]) -> None:
        """Look at one logged event (from either path, once); start calls, continue responses."""
        kind = event.get("type")
        if kind == "response.created":
            with self._lock:
                self._active = str(_object(event.get("response")).get("id"))
        elif kind == "response.function_call_arguments.done":
            self._start(event.get("call_id"), event.get("name"), event.get("arguments"), event.get("response_id"))
        elif kind == "response.output_item.done" and _object(event.get("item")).get("type") == "function_call":
            item = event["item"]
            self._start(item.get("call_id"), item.get("name"), item.get("arguments"), event.get("response_id"))
        elif kind == "response.done":
            response = _object(event.get("response"))
            output = response.get("output")
            for item in map(_object, output if isinstance(output, list) else []):  # per-item events filtered out
                if item.get("type") == "function_call" and item.get("status") == "completed":
                    self._start(item.get("call_id"), item.get("name"), item.get("arguments"), response.get("id"))
            with self._lock:
                self._active = None
                self._finished[_key(response.get("id"))] = str(response.get("status"))
            self._continue()
        elif kind == "error":
            with self._lock:
                if self._active == _REQUESTED:  # our response.create was refused
                    self._active = None

    def decide(self, call_id: str, approved: bool, reason: str = "") -> None:
        """Approve or deny a call that waits for approval."""
        with self._lock:
            call = self._calls.get(call_id)
            if call is None or call.status != "awaiting approval":
                waiting = [c.call_id for c in self._calls.values() if c.status == "awaiting approval"]
                raise ValueError(f"No call {call_id!r} waits for approval. Waiting: {waiting or 'none'}.")
            call.status = "running"
        self._pending_changed()
        if approved:
            self._run(call)
        else:
            why = f" ({reason})" if reason else ""
            self._finish(call, _error(f"The user denied this call of {call.name}{why}."), "denied")

    def pending(self) -> list[dict[str, Any]]:
        """The calls waiting for approval: call_id, name and arguments."""
        with self._lock:
            return [
                {"call_id": c.call_id, "name": c.name, "arguments": c.arguments}
                for c in self._calls.values()
                if c.status == "awaiting approval"
            ]

    # -- running ----------------------------------------------------------------------------------

    def _start(self, call_id: Any, name: Any, arguments: Any, response_id: Any) -> None:
        with self._lock:
            tool = self._tools.get(str(name))
            if tool is None or not isinstance(call_id, str) or call_id in self._calls:
                return  # not ours (a dict tool the user handles), or already started
            response_id = _key(response_id)
            call = ToolCall(call_id, tool.name, str(arguments or "{}"), response_id)
            self._calls[call_id] = call
            self._open.setdefault(response_id, set()).add(call_id)
            if tool.needs_approval:
                call.status = "awaiting approval"
        if tool.needs_approval:
            self._pending_changed()
        else:
            self._run(call)

    def _run(self, call: ToolCall) -> None:
        tool = self._tools.get(call.name)
        if tool is None:
            self._finish(call, _error(f"The tool {call.name} is no longer registered."), "error")
            return
        try:
            arguments = json.loads(call.arguments)
            if not isinstance(arguments, dict):
                raise ValueError(f"The arguments must be a JSON object; got {call.arguments!r}.")
            kwargs = coerce_arguments(tool.fn, arguments)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            self._finish(call, _error(str(exc)), "error")
            return
        io_loop().submit(self._execute(call, tool, kwargs))

    async def _execute(self, call: ToolCall, tool: Tool, kwargs: dict[str, Any]) -> None:
        started = time.perf_counter()
        status = "ok"
        try:
            if inspect.iscoroutinefunction(tool.fn):
                result = await asyncio.wait_for(tool.fn(**kwargs), tool.timeout)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(tool.fn, **kwargs), tool.timeout)
            output = tool_output(result)
        except TimeoutError:
            status, output = "timeout", _error(f"{call.name} did not finish within {tool.timeout} s.")
        except Exception as exc:
            log.warning("tool %s raised %s: %s", call.name, type(exc).__name__, exc, exc_info=True)
            status, output = "error", _error(f"{type(exc).__name__}: {exc}")
        call.seconds = time.perf_counter() - started
        self._finish(call, output, status)

    def _finish(self, call: ToolCall, output: str, status: str) -> None:
        if len(output) > MAX_OUTPUT_CHARS:
            status = "error"
            output = _error(
                f"{call.name} returned {len(output):,} characters of JSON; the limit is {MAX_OUTPUT_CHARS:,}. "
                "Return a summary (e.g. df.head() or an aggregate) instead."
            )
        with self._lock:
            call.status, call.output = status, output
            self._open.get(call.response_id, set()).discard(call.call_id)
        item = {"type": "function_call_output", "call_id": call.call_id, "output": output}
        self._deliver({"type": self._output_event, "item": item})
        self._continue()

    def _continue(self) -> None:
        """Ask for the next response once every finished response's calls have outputs."""
        with self._lock:
            for response_id, status in list(self._finished.items()):
                if not self._open.get(response_id):
                    del self._finished[response_id]
                    had_calls = self._open.pop(response_id, None) is not None
                    self._owed |= had_calls and status != "cancelled"
            if not self._owed or self._active is not None:
                return
            self._owed, self._active = False, _REQUESTED
        self._deliver({"type": "response.create"})

    def _deliver(self, event: dict[str, Any]) -> None:
        try:
            self._send(event)
        except Exception as exc:  # the call ended meanwhile: keep the result in calls, say why
            log.warning("could not send %s for a tool call: %s", event["type"], exc)

    def _pending_changed(self) -> None:
        self._on_pending(self.pending())


def tool_output(value: Any) -> str:
    """A tool's result as the string the model reads: text as is, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=_jsonable, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        return _error(f"The result could not be turned into JSON ({exc}); return text, numbers, lists or dicts.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso"))
    if isinstance(value, pd.Series):
        return json.loads(value.to_json(date_format="iso"))
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump"):  # a pydantic model
        return value.model_dump(mode="json")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, decimal.Decimal | pathlib.PurePath):
        return str(value)
    raise TypeError(f"a {type(value).__name__} is not JSON")


def _error(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


def _name_of(tool: Any) -> str | None:
    return tool.name if isinstance(tool, Tool) else tool.get("name") if isinstance(tool, dict) else None


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (events of odd shapes are skipped)."""
    return value if isinstance(value, dict) else {}


def _key(response_id: Any) -> str | None:
    """A response id usable as a key (a page may send any JSON in its place)."""
    return response_id if isinstance(response_id, str) else None
