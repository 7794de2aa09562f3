"""One line per mistake on every command line (``hie``, ``hie-agent``): ``error: <code>: <detail>``.

Both sides' command lines mount their commands on :class:`OneLineGroup`. Whatever escapes a command
— an error of any of the project's roots (they all carry a dotted ``code``), an ``OSError``, a
usage mistake click found, or a bug — ends as one line on stderr and a non-zero exit status, never
a traceback (``HIE_DEBUG=1`` prints the traceback as well, for a developer). The line is built from
the error's code and fixed wording, never from what was being read: no document contents.
"""
from __future__ import annotations

import os
import traceback

import click

DEBUG_VARIABLE = "HIE_DEBUG"
# --help and a bare group's help are answers, not mistakes; ^C and exits keep click's handling
_PASS_THROUGH = (click.exceptions.Exit, click.exceptions.NoArgsIsHelpError, click.Abort, SystemExit, KeyboardInterrupt)
_FILE_CODES = {FileNotFoundError: "file.not_found", PermissionError: "file.permission",
               IsADirectoryError: "file.is_directory", NotADirectoryError: "file.not_a_directory"}


class OneLineError(click.ClickException):
    """A mistake already rendered as ``<code>: <detail>``; shown as ``error: …`` on one line."""

    def __init__(self, line: str, *, exit_code: int = 1) -> None:
        super().__init__(" ".join(str(line).split()))
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True, file=file)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe(error: BaseException) -> str:
    """``<code>: <detail>`` for an error of one of the project's roots or the operating system;
    ``internal: <type>`` for anything else (a bug: its message is not shown, it may quote data)."""
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        fixed = getattr(error, "message", None)  # HubError, CertsError: the code's registered wording
        detail = fixed if isinstance(fixed, str) else (getattr(error, "detail", None) or str(error))
        if detail.startswith(f"{code}: "):
            detail = detail[len(code) + 2:]
        field = getattr(error, "fields", {}).get("field") if isinstance(getattr(error, "fields", None), dict) else None
        return one_line(f"{code}: {detail}" + (f" ({field})" if field else ""))
    if isinstance(error, UnicodeDecodeError):
        return "file.encoding: a file is not UTF-8 text"
    if isinstance(error, OSError):
        name = next((name for kind, name in _FILE_CODES.items() if isinstance(error, kind)), "os.error")
        where = f": {error.filename}" if error.filename else ""
        return one_line(f"{name}: {error.strerror or type(error).__name__}{where}")
    if isinstance(error, MemoryError):
        return "internal: out of memory"
    return f"internal: {type(error).__name__} (set {DEBUG_VARIABLE}=1 to see the traceback)"


def _usage_line(error: click.UsageError) -> str:
    where = f" ({error.ctx.command_path})" if error.ctx is not None else ""
    return f"usage: {error.format_message()}{where}"


class OneLineGroup(click.Group):
    """A click group whose commands (and sub-groups) end every failure in one line (module docstring).

    Subclasses add what they know through :meth:`describe` (return ``None`` to fall back)."""

    def describe(self, error: BaseException) -> str | None:
        return None

    def _one_line(self, error: BaseException) -> OneLineError:
        if isinstance(error, OneLineError):
            return error
        if isinstance(error, click.UsageError):
            return OneLineError(_usage_line(error), exit_code=error.exit_code)
        if isinstance(error, click.ClickException):
            return OneLineError(error.format_message(), exit_code=error.exit_code)
        if os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0"):
            traceback.print_exception(error)
        return OneLineError(self.describe(error) or describe(error))

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _PASS_THROUGH:
            raise
        except Exception as error:  # noqa: BLE001 - the point: nothing escapes as a traceback
            raise self._one_line(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except Exception as error:  # noqa: BLE001 - the point: nothing escapes as a traceback
            raise self._one_line(error) from None


__all__ = ["OneLineGroup", "OneLineError", "describe", "one_line", "DEBUG_VARIABLE"]
