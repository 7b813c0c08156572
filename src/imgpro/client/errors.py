"""The error envelope (SPEC §6) as exceptions."""

from __future__ import annotations

from typing import Any


class ImgproError(Exception):
    """An answer with an error envelope: ``{"error": {type, code, message, action?, usage?,
    details?}}``. ``action`` is e.g. ``{"type": "upgrade", "url": …}``; show it to a person."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = {
                "type": "api_error",
                "code": "unexpected_response",
                "message": f"HTTP {status} without an error envelope",
            }
        self.status = status
        self.type: str = error.get("type", "api_error")
        self.code: str = error.get("code", "unexpected_response")
        self.message: str = error.get("message", "")
        self.action: dict[str, Any] | None = error.get("action")
        self.usage: dict[str, Any] | None = error.get("usage")
        self.details: Any = error.get("details")
        self.headers = headers or {}
        super().__init__(f"{status} {self.code}: {self.message}")

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait, from ``Retry-After`` or a ``wait`` action."""
        value = self.headers.get("retry-after")
        if value is None and self.action and self.action.get("type") == "wait":
            value = self.action.get("retry_after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ImgproConnectionError(ImgproError):
    """The server could not be reached (after the retries)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            0,
            {
                "error": {
                    "type": "connection_error",
                    "code": "connection_failed",
                    "message": str(cause) or type(cause).__name__,
                }
            },
        )
        self.__cause__ = cause
