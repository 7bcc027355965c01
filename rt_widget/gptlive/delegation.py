"""Who handles the tasks a GPT-Live model delegates: your app, a Responses backend, or Decisions.

The typed settings of a Live session's ``delegation`` and the checks shared by the session
config. Shapes and allowed values follow the ``openai`` SDK's ``openai.types.live`` (3.57.0);
every error names the field, the value (never a credential) and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any, ClassVar

from ..config import ConfigError, _choice, _fail, _flag, _number, _text
from ..redaction import remember_tool_credentials
from ..tools import TOOL_NAME, Tool, ToolError

TOOL_CHOICES = ("auto", "none", "required")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SUMMARIES = ("concise", "detailed", "auto")
SERVICE_TIERS = ("auto", "default", "fast_tier_temp_pilot", "flex", "priority", "ultrafast")
VERBOSITY = ("low", "medium", "high")
HOSTED_TOOLS = (
    "web_search",
    "file_search",
    "code_interpreter",
    "image_generation",
    "custom",
    "namespace",
    "tool_search",
    "programmatic_tool_calling",
    "computer",
    "apply_patch",
)
"""Responses tools that SDK 3.57.0 types with only their ``type`` (no settings)."""
CHOICE_TYPES = (
    "file_search",
    "web_search",
    "web_search_preview",
    "image_generation",
    "computer",
    "code_interpreter",
    "programmatic_tool_calling",
    "shell",
    "apply_patch",
)
"""The hosted tool types a ``tool_choice`` may name (the SDK's tool-choice types)."""
_MCP_KEYS = (
    "allowed_callers",
    "allowed_tools",
    "authorization",
    "connector_id",
    "defer_loading",
    "headers",
    "require_approval",
    "server_description",
    "server_url",
    "tunnel_id",
)
_SHELL_ENVIRONMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "container_auto": (("type",), ("file_ids", "memory_limit", "network_policy", "skills")),
    "container_reference": (("type", "container_id"), ()),
    "local": (("type",), ("skills",)),
}
_QUESTIONS = {"choice": "choices", "predicate": "", "score": "levels"}  # type -> its list of options
_PARTS = {"input_text": "text", "input_image": "image_url", "input_json": "data"}
RESPONSES_SETTINGS = (
    "instructions",
    "tools",
    "tool_choice",
    "reasoning",
    "max_output_tokens",
    "parallel_tool_calls",
    "service_tier",
    "text",
)
"""What ``delegation.responses`` takes besides ``model``."""
MAX_ACKNOWLEDGEMENT_MS = 60_000
"""A spoken acknowledgement more than a minute after the task started is never useful."""


def did_you_mean(value: Any, options: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'x'?)`` for the option closest to ``value``, or ``""``."""
    match = difflib.get_close_matches(str(value), list(options), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def dict_with(where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """``value`` if it is a dict with every key of ``required`` and none beyond ``optional``.

    Raises
    ------
    ConfigError
        Naming the unknown key (and the closest known one) or the missing one; a list given
        instead is named by its type, never shown (it may hold an MCP token).
    """
    known = (*required, *optional)
    if isinstance(value, list | tuple | set):
        raise ConfigError(f"{where} must be a dict with {', '.join(known)}; got a {type(value).__name__}.")
    if not isinstance(value, dict):
        raise _fail(where, value, "use a dict with " + ", ".join(known))
    for key in value:
        if key not in known:
            raise ConfigError(f"{where} has no setting {key!r}{did_you_mean(key, known)}; it takes {', '.join(known)}.")
    missing = [k for k in required if k not in value]
    if missing:
        raise ConfigError(f"{where} needs {missing[0]!r} (it takes {', '.join(known)}).")
    return value


def list_of(where: str, value: Any, example: str, *, empty: bool = False) -> list[Any]:
    """``value`` as a list, if it is a list or tuple (and not empty unless ``empty``)."""
    # The error shows a type, never a repr: a lone tool dict given for a list may hold an MCP token.
    if not isinstance(value, list | tuple) or (not value and not empty):
        got = f"an empty {type(value).__name__}" if isinstance(value, list | tuple) else f"a {type(value).__name__}"
        raise ConfigError(f"{where} must be a {'' if empty else 'non-empty '}list, e.g. [{example}]; got {got}.")
    return list(value)


def nonempty(where: str, value: Any) -> str:
    """``value`` if it is a string with something in it."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, value, "use a non-empty string")
    return value


def questions(where: str, value: Any) -> tuple[dict[str, Any], ...]:
    """Decisions API questions, checked against the SDK's ``DecisionQuestionParam`` shapes."""
    checked = list_of(where, value, "{'type': 'predicate', 'instructions': 'Did the caller ask for a person?'}")
    for i, question in enumerate(checked):
        at = f"{where}[{i}]"
        kind = question.get("type") if isinstance(question, dict) else None
        if kind not in _QUESTIONS:
            raise _fail(f"{at}.type", kind, "use 'choice', 'predicate' or 'score'")
        options = _QUESTIONS[kind]
        dict_with(at, question, ("type", "instructions", *([options] if options else [])), ("name",))
        if "name" in question:
            nonempty(f"{at}.name", question["name"])
        if not isinstance(question["instructions"], str):
            parts = list_of(f"{at}.instructions", question["instructions"], "{'type': 'input_text', 'text': '...'}")
            for j, part in enumerate(parts):
                part_kind = part.get("type") if isinstance(part, dict) else None
                if part_kind not in _PARTS:
                    raise _fail(
                        f"{at}.instructions[{j}].type", part_kind, "use 'input_text', 'input_image' or 'input_json'"
                    )
                extra = ("detail",) if part_kind == "input_image" else ()
                dict_with(f"{at}.instructions[{j}]", part, ("type", _PARTS[part_kind]), extra)
                if part.get("detail") is not None:
                    _choice(f"{at}.instructions[{j}].detail", part["detail"], ("low", "high", "auto", "original"))
        key = "value" if kind == "choice" else "label"
        for j, entry in enumerate(
            list_of(f"{at}.{options}", question[options], f"{{{key!r}: ...}}") if options else []
        ):
            dict_with(f"{at}.{options}[{j}]", entry, (key,), ("description",))
            if not isinstance(entry[key], str | bool if kind == "choice" else str):
                raise _fail(
                    f"{at}.{options}[{j}].{key}", entry[key], "use a string" + " or a bool" * (kind == "choice")
                )
    return tuple(checked)


def _acknowledgement(value: Any) -> None:
    if value is not None:
        _number("delegation.acknowledgement_delay_ms", value, 0, MAX_ACKNOWLEDGEMENT_MS, integer=True)


def _with_delay(delegation: dict[str, Any], delay: int | None) -> dict[str, Any]:
    return delegation if delay is None else {**delegation, "acknowledgement_delay_ms": delay}


@dataclasses.dataclass(frozen=True)
class ClientDelegation:
    """Your application handles the tasks the Live model delegates (GPT-Live's default).

    Parameters
    ----------
    acknowledgement_delay_ms:
        Milliseconds before an automatic spoken acknowledgement is requested (service default 0).
    """

    acknowledgement_delay_ms: int | None = None
    type: ClassVar[str] = "client"

    def __post_init__(self) -> None:
        _acknowledgement(self.acknowledgement_delay_ms)

    def to_wire(self) -> dict[str, Any]:
        """The ``delegation`` object."""
        return _with_delay({"type": "client"}, self.acknowledgement_delay_ms)


@dataclasses.dataclass(frozen=True)
class ResponsesDelegation:
    """A Responses model, run by the Live session, handles delegated tasks with its tools.

    Parameters
    ----------
    model:
        The backend Responses model, e.g. ``"gpt-5.5"``.
    instructions:
        The backend prompt (separate from the Live model's frontend instructions).
    tools:
        Python functions, :class:`rt_widget.tools.Tool` objects, or tool dicts (``function``,
        ``mcp``, ``shell`` or a hosted tool such as ``{"type": "web_search"}``). The kernel runs
        the Python ones when the backend calls them.
    tool_choice, reasoning, max_output_tokens, parallel_tool_calls, service_tier, text:
        Passed to each delegated Responses request; ``reasoning`` may be just an effort (``"low"``).
    acknowledgement_delay_ms:
        Milliseconds before an automatic spoken acknowledgement is requested (service default 0).
    """

    model: str
    instructions: str | None = None
    tools: tuple[Tool | dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    max_output_tokens: int | None = None
    parallel_tool_calls: bool | None = None
    service_tier: str | None = None
    text: dict[str, Any] | None = None
    acknowledgement_delay_ms: int | None = None
    type: ClassVar[str] = "responses"

    def __post_init__(self) -> None:
        at = "delegation.responses"
        model = self.model
        if not isinstance(model, str) or not model.strip() or model.startswith(("gpt-live", "gpt-realtime")):
            raise _fail(f"{at}.model", model, "use a Responses model such as 'gpt-5.5' (not a voice model)")
        if self.instructions is not None:
            _text(f"{at}.instructions", self.instructions)
        tools = list_of(f"{at}.tools", self.tools, "a_python_function", empty=True)
        object.__setattr__(self, "tools", tuple(_tool(f"{at}.tools[{i}]", t) for i, t in enumerate(tools)))
        names = [str(t["name"]) for t in self.definitions if t["type"] == "function"]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"{at}.tools has two tools named {twice[0]!r}; give every tool its own name.")
        if self.tool_choice is not None:
            _tool_choice(f"{at}.tool_choice", self.tool_choice, self.definitions)
        reasoning = {"effort": self.reasoning} if isinstance(self.reasoning, str) else self.reasoning
        if reasoning is not None:
            dict_with(f"{at}.reasoning", reasoning, (), ("effort", "summary"))
            for key, allowed in (("effort", EFFORTS), ("summary", SUMMARIES)):
                if reasoning.get(key) is not None:
                    _choice(f"{at}.reasoning.{key}", reasoning[key], allowed)
            object.__setattr__(self, "reasoning", dict(reasoning))
        if self.max_output_tokens is not None:  # at least 16 (OpenAPI); the backend model sets the maximum
            _number(f"{at}.max_output_tokens", self.max_output_tokens, 16, 1_000_000, integer=True)
        if self.parallel_tool_calls is not None:
            _flag(f"{at}.parallel_tool_calls", self.parallel_tool_calls)
        if self.service_tier is not None:
            _choice(f"{at}.service_tier", self.service_tier, SERVICE_TIERS)
        if (
            self.text is not None
            and dict_with(f"{at}.text", self.text, (), ("verbosity",)).get("verbosity") is not None
        ):
            _choice(f"{at}.text.verbosity", self.text["verbosity"], VERBOSITY)
        _acknowledgement(self.acknowledgement_delay_ms)

    @property
    def definitions(self) -> list[dict[str, Any]]:
        """The tools as the API takes them (Python functions described by their hints)."""
        return [t.definition if isinstance(t, Tool) else t for t in self.tools]

    @property
    def python_tools(self) -> tuple[Tool, ...]:
        """The tools the kernel runs when the backend calls them."""
        return tuple(t for t in self.tools if isinstance(t, Tool))

    def to_wire(self) -> dict[str, Any]:
        """The ``delegation`` object (``type: "responses"``)."""
        settings = {k: getattr(self, k) for k in ("model", *RESPONSES_SETTINGS) if k != "tools"}
        responses = {k: v for k, v in settings.items() if v is not None}
        if self.tools:
            responses["tools"] = self.definitions
        return _with_delay({"type": "responses", "responses": responses}, self.acknowledgement_delay_ms)


@dataclasses.dataclass(frozen=True)
class DecisionsDelegation:
    """The Decisions API answers delegated tasks: fast choice, predicate or score questions.

    Parameters
    ----------
    model:
        The Decisions model.
    questions:
        Dicts as the API takes them, e.g. ``{"type": "predicate", "instructions": "..."}``.
    acknowledgement_delay_ms:
        Milliseconds before an automatic spoken acknowledgement is requested (service default 400).
    """

    model: str
    questions: tuple[dict[str, Any], ...]
    acknowledgement_delay_ms: int | None = None
    type: ClassVar[str] = "decisions"

    def __post_init__(self) -> None:
        nonempty("delegation.decisions.model", self.model)
        object.__setattr__(self, "questions", questions("delegation.decisions.questions", self.questions))
        _acknowledgement(self.acknowledgement_delay_ms)

    def to_wire(self) -> dict[str, Any]:
        """The ``delegation`` object (``type: "decisions"``)."""
        decisions = {"model": self.model, "questions": list(self.questions)}
        return _with_delay({"type": "decisions", "decisions": decisions}, self.acknowledgement_delay_ms)


Delegation = ClientDelegation | ResponsesDelegation | DecisionsDelegation


def delegation(value: Any) -> Delegation | None:
    """``value`` as a typed delegation: a delegation object, ``"client"``, or the API's dict.

    Raises
    ------
    ConfigError
        If ``value`` is none of these or its settings are invalid.
    """
    if value is None or isinstance(value, ClientDelegation | ResponsesDelegation | DecisionsDelegation):
        return value
    if value == "client":
        return ClientDelegation()
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("client", "responses", "decisions"):
        usage = (
            "use 'client', ResponsesDelegation(model=..., tools=[...]), DecisionsDelegation(model=..., "
            "questions=[...]) or the API's dict, e.g. {'type': 'responses', 'responses': {'model': 'gpt-5.5'}}"
        )
        # Only the type is shown: the dict may hold an MCP server's token.
        raise _fail("delegation" if kind is None else "delegation.type", value if kind is None else kind, usage)
    dict_with("delegation", value, ("type",) if kind == "client" else ("type", kind), ("acknowledgement_delay_ms",))
    delay = value.get("acknowledgement_delay_ms")
    if kind == "client":
        return ClientDelegation(delay)
    if kind == "responses":
        settings = dict_with("delegation.responses", value["responses"], ("model",), RESPONSES_SETTINGS)
        return ResponsesDelegation(**settings, acknowledgement_delay_ms=delay)
    settings = dict_with("delegation.decisions", value["decisions"], ("model", "questions"))
    return DecisionsDelegation(**settings, acknowledgement_delay_ms=delay)


def _tool(where: str, tool: Any) -> Tool | dict[str, Any]:
    """A backend tool: a Python function as a :class:`Tool`, a dict checked against the SDK's shapes."""
    if isinstance(tool, Tool):
        return tool
    if callable(tool) and not isinstance(tool, dict):
        try:
            return Tool(tool)
        except ToolError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind == "function":
        dict_with(where, tool, ("type", "name"), ("description", "parameters", "strict"))
        if not isinstance(tool["name"], str) or not re.fullmatch(TOOL_NAME, tool["name"]):
            raise _fail(f"{where}.name", tool["name"], "use 1-64 letters, digits, _ or -")
        if tool.get("description") is not None:
            _text(f"{where}.description", tool["description"])
        parameters = tool.get("parameters")
        if parameters is not None and not (isinstance(parameters, dict) and parameters.get("type") == "object"):
            raise _fail(f"{where}.parameters", parameters, "use a JSON schema object: {'type': 'object', ...}")
        if tool.get("strict") is not None:
            _flag(f"{where}.strict", tool["strict"])
    elif kind == "mcp":
        remember_tool_credentials([tool])  # its token must never show in an error or a log line
        dict_with(where, tool, ("type", "server_label"), _MCP_KEYS)
        nonempty(f"{where}.server_label", tool["server_label"])
        if not any(isinstance(tool.get(k), str) for k in ("server_url", "connector_id", "tunnel_id")):
            raise ConfigError(f"{where}: an MCP tool needs a server_url, connector_id or tunnel_id.")
    elif kind == "shell":
        environment = dict_with(where, tool, ("type",), ("environment",)).get("environment")
        if environment is not None:
            env = environment.get("type") if isinstance(environment, dict) else None
            if env not in _SHELL_ENVIRONMENTS:
                raise _fail(f"{where}.environment.type", env, "use 'container_auto', 'container_reference' or 'local'")
            dict_with(f"{where}.environment", environment, *_SHELL_ENVIRONMENTS[env])
    elif kind in HOSTED_TOOLS:
        extra = sorted(str(k) for k in tool if k != "type")
        if extra:
            raise ConfigError(
                f"{where}: a {kind} tool takes no settings in GPT-Live (the openai SDK types it with only "
                f"'type'); remove {extra[0]!r}."
            )
    else:
        allowed = "use a Python function or a dict whose type is " + ", ".join(
            ("function", "mcp", "shell", *HOSTED_TOOLS)
        )
        if isinstance(tool, dict):  # only its type is shown: the dict may hold a token
            raise _fail(f"{where}.type", kind, allowed)
        raise _fail(where, tool, allowed)
    return dict(tool)


def _tool_choice(where: str, choice: Any, tools: list[dict[str, Any]]) -> None:
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise _fail(where, choice, "use 'auto', 'none', 'required', or {'type': 'function', 'name': <its name>}")
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        dict_with(where, choice, ("type", "tools"), ("mode",))
        if choice.get("mode") is not None:
            _choice(f"{where}.mode", choice["mode"], TOOL_CHOICES)
        for i, selector in enumerate(list_of(f"{where}.tools", choice["tools"], "{'type': 'function', 'name': ...}")):
            _tool_selector(f"{where}.tools[{i}]", selector, tools)
    else:
        _tool_selector(where, choice, tools)


def _tool_selector(where: str, choice: Any, tools: list[dict[str, Any]]) -> None:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "function":
        functions = [str(t["name"]) for t in tools if t["type"] == "function"]
        if dict_with(where, choice, ("type", "name"))["name"] not in functions:
            offered = ", ".join(repr(n) for n in functions) or "none: add it to tools=[...] first"
            raise _fail(f"{where}.name", choice["name"], f"name one of the backend's function tools ({offered})")
    elif kind == "mcp":
        servers = [str(t["server_label"]) for t in tools if t["type"] == "mcp"]
        if dict_with(where, choice, ("type", "server_label", "name"))["server_label"] not in servers:
            known = ", ".join(repr(s) for s in servers) or "none: add an MCP tool first"
            raise _fail(f"{where}.server_label", choice["server_label"], f"use an MCP tool's server_label ({known})")
    elif kind == "custom":
        nonempty(f"{where}.name", dict_with(where, choice, ("type", "name"))["name"])
    elif kind in CHOICE_TYPES:
        dict_with(where, choice, ("type",))
    else:
        kinds = ", ".join(("function", "mcp", "custom", "allowed_tools", *CHOICE_TYPES))
        raise _fail(
            f"{where}.type" if kind else where, kind or choice, f"use a string, or a dict whose type is {kinds}"
        )
