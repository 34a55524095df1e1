"""Command-line errors in a few lines: the bad option, and the options it resembles.

argparse (and jsonargparse, which every fashion_lit command uses) answers a misspelled
option with the whole usage block first: 94 lines for ``fit``, the one that matters at
the bottom. Here an error is the message alone, with up to three close matches of each
unknown option (``difflib.get_close_matches``) and where the full list is. This module
imports neither torch nor Lightning, so ``serve`` and ``--help`` stay fast.
"""

import difflib
import re
import sys
from typing import Any, NoReturn

import jsonargparse

#: How close an option must be to be suggested, and how many are (difflib's own scale).
CUTOFF = 0.6
SUGGESTIONS = 3
#: Unknown options answered with suggestions, so that an error stays within six lines.
MOST_SUGGESTED = 4

_OPTION = re.compile(r"--[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_UNRECOGNIZED = "unrecognized arguments:"


class ShortErrors:
    """A mixin for jsonargparse parsers: errors without the usage block, with suggestions.

    Parses that a parser runs with ``exit_on_error`` off (jsonargparse trying the
    alternatives of a type, say) still raise as jsonargparse does.
    """

    exit_on_error: bool
    prog: str

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)  # type: ignore[misc]
        parser = getattr(ex, "subcommand_parser", None) or self
        sys.stderr.write(short_error(message, parser))
        raise SystemExit(2)


class CommandParser(ShortErrors, jsonargparse.ArgumentParser):
    """The parser of ``export``, ``serve`` and ``tune``."""


def short_error(message: str, parser: Any) -> str:
    """``error: MESSAGE``, then for each unknown option the known ones it resembles, and
    which ``--help`` lists them all."""
    lines = [f"error: {message.strip()}"]
    first = message.strip().splitlines()[0] if message.strip() else ""
    if first.startswith(_UNRECOGNIZED):
        known = sorted(set(_OPTION.findall(parser.format_help())))
        unknown = _OPTION.findall(first.removeprefix(_UNRECOGNIZED))
        for option in unknown[:MOST_SUGGESTED]:
            close = difflib.get_close_matches(option, known, n=SUGGESTIONS, cutoff=CUTOFF)
            if close:
                lines.append(f"  {option}: did you mean {', '.join(close)}?")
    prog = parser.prog.replace(" [options]", "")
    lines.append(f"  ({prog} --help lists every option)")
    return "\n".join(lines) + "\n"
