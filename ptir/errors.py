"""One exception family for every stage, each error carrying its place and rule.

The CLI prints `str(error)` (``file:line:col: error: ptir.add: rule``) and exits
non-zero; a user error never shows a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    file: str = "<input>"
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class PtirError(Exception):
    """Base of all PTIR errors: a message, and optionally where and which op."""

    stage = "error"

    def __init__(self, message: str, loc: Location | None = None, op: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.op = op

    def __str__(self) -> str:
        parts = []
        if self.loc is not None:
            parts.append(f"{self.loc}: ")
        parts.append("error: ")
        if self.op:
            parts.append(f"{self.op}: ")
        parts.append(self.message)
        return "".join(parts)


class ParseError(PtirError):
    stage = "parse"


class VerifyError(PtirError):
    """One or more verifier diagnostics; `errors` holds them all."""

    stage = "verify"

    def __init__(self, message: str, loc: Location | None = None, op: str | None = None,
                 errors: list[PtirError] | None = None):
        super().__init__(message, loc, op)
        self.errors = errors or [self]

    def __str__(self) -> str:
        if len(self.errors) > 1 or self.errors[0] is not self:
            return "\n".join(PtirError.__str__(e) for e in self.errors)
        return super().__str__()


class TypeRuleError(PtirError):
    """Raised by an op's type rule; the verifier or builder adds the place."""

    stage = "verify"


class LoweringError(PtirError):
    stage = "lower"


class CompileError(PtirError):
    stage = "compile"


class RunError(PtirError):
    stage = "run"


class UsageError(PtirError):
    """Bad command-line usage: exit code 2."""

    stage = "usage"
