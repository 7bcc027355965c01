"""The conversation's items, in order, and the checks the service makes on them."""

from __future__ import annotations

from typing import Any

from .ids import new_id
from .validation import ProtocolError, missing


class Conversation:
    """Items in conversation order; inserts after any item or at the root."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def index(self, item_id: Any) -> int | None:
        """Where ``item_id`` stands, or ``None``."""
        return next((i for i, item in enumerate(self.items) if item["id"] == item_id), None)

    def previous_id(self, item: dict[str, Any]) -> str | None:
        """The id of the item before ``item`` (``None`` at the start)."""
        index = self.index(item["id"])
        return self.items[index - 1]["id"] if index else None

    def find(self, event: dict[str, Any], key: str) -> dict[str, Any]:
        """The item an event names under ``key``, or the service's error."""
        if key not in event:
            raise missing(key)
        index = self.index(event[key])
        if index is None:
            raise ProtocolError("item_not_found", f"Item with item_id not found: {event[key]}", key)
        return self.items[index]

    def insert(self, item: dict[str, Any], previous: str | None) -> None:
        """Add ``item`` after ``previous``: ``"root"`` is the start, ``None`` the end."""
        if previous is None:
            self.items.append(item)
        elif previous == "root":
            self.items.insert(0, item)
        else:
            index = self.index(previous)
            if index is None:
                msg = f"Previous item with id '{previous}' not found."
                raise ProtocolError("invalid_value", msg, "previous_item_id")
            self.items.insert(index + 1, item)

    def remove(self, item: dict[str, Any]) -> None:
        """Delete ``item``."""
        self.items.remove(item)

    def normalize(self, item: dict[str, Any], *, stored: bool = True) -> dict[str, Any]:
        """A client's item as the service stores it, or the service's error for it.

        ``item`` has passed :func:`~rt_widget.emulator.validation.validate_item`. Items
        that go into the conversation (``stored``) must have a new id.
        """
        item_id = item.get("id") or new_id("item")
        if stored and self.index(item_id) is not None:
            msg = f"Item with id '{item_id}' already exists."
            raise ProtocolError("invalid_value", msg, "item.id")
        normalized: dict[str, Any] = {"id": item_id, "type": item["type"], "status": "completed"}
        if item["type"] == "message":
            normalized.update(role=item["role"], content=[dict(p) for p in item["content"]])
        elif item["type"] == "function_call":
            call_id = item.get("call_id") or new_id("call", 16)
            normalized.update(call_id=call_id, name=item["name"], arguments=item["arguments"])
        else:
            normalized.update(call_id=item["call_id"], output=item["output"])
        return normalized
