"""Refusals: the one way the domain says no, and what each refusal means over HTTP.

No Flask here. The domain raises a `Refusal` (or one of its subclasses: a refused
command, check-in or field) inside its transaction, so nothing is written; the web
layer turns it into one JSON shape, `{"status": 409, "error": "stale", "message": …}`,
for HTTP answers and socket acknowledgements alike, with the message translated into
the reader's language. Like pretix's `CheckInError(msg, code)`, but with the message
kept untranslated until it reaches a reader.
"""

from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    """Marks a message for the translation catalogs; the web layer translates it."""
    return text


def as_written(message: str, /, **params: Any) -> str:
    """The identity gettext: a message in English, as it is written in the source."""
    return message % params if params else message


class Message:
    """A sentence for people, kept untranslated until it reaches them: an N_ template and
    its params, some of which may be Messages themselves (the place in a file, say).

    The domain raises errors holding one; the command line translates it with
    `describe(translator(language))`. `str()` is the English, as written.
    """

    __slots__ = ("template", "params")

    def __init__(self, template: str, /, **params: Any):
        self.template = template
        self.params = params

    def describe(self, gettext) -> str:
        params = {
            k: v.describe(gettext) if isinstance(v, Message) else v for k, v in self.params.items()
        }
        return gettext(self.template, **params)

    def __str__(self) -> str:
        return self.describe(as_written)

    def __repr__(self) -> str:
        return f"Message({self.template!r}, {self.params!r})"


class Explained(Exception):
    """An error whose message is a `Message`: English in str(), any language through
    `describe(gettext)`."""

    def __init__(self, message: str | Message, /, **params: Any):
        self.text = message if isinstance(message, Message) else Message(message, **params)
        super().__init__(str(self.text))

    def describe(self, gettext) -> str:
        return self.text.describe(gettext)


# Every refusal code, and the HTTP status it is answered with.
STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "csrf": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "stale": 409,
    "at_end": 409,
    "at_start": 409,
    "not_checked_in": 409,
    "existing": 409,
    "conflict": 409,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}


class Refusal(Exception):
    """A request refused on purpose: `code` for machines, `message % params` for people.

    `message` stays untranslated (marked with N_ where it is written): the web layer
    translates it for whoever reads the answer.
    """

    def __init__(self, code: str, message: str, **params: Any):
        if code not in STATUS:
            raise ValueError(f"unknown refusal code {code!r}")
        self.code = code
        self.message = message
        self.params = params
        super().__init__(as_written(message, **params))

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def describe(self, gettext) -> str:
        """The message for a reader, through the reader's `gettext(message, **params)`."""
        return gettext(self.message, **self.params)

    def details(self) -> dict[str, Any]:
        """Fields a client needs beside the message (the field at fault, say)."""
        return {}
