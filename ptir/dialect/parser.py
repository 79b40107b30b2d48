"""Parser for the PTIR text format (PTIR.md), with file:line:col on every error.

The parser checks syntax and SSA rules (every value defined once, before its use);
op type rules are the verifier's (`ptir.verify`), so `parse(..., verify=False)` can
read a program that is well formed but ill typed.
"""

from __future__ import annotations

import json
import re

import numpy as np

from ..errors import Location, ParseError
from . import dtypes as dt
from . import registry
from .literals import from_hex, parse_element
from .program import Argument, Function, Op, Program, Value
from .sharding import to_spec
from .types import TensorType

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NAME = re.compile(r"[A-Za-z0-9_.]+")
_NUMBER = re.compile(r"[-+]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z0-9_.])", re.ASCII)
_INT = re.compile(r"[0-9]+")
_WORD = re.compile(r"[^ \t\r\n]+")   # what `skip` does not skip
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_ATTR_START = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*=")   # an attribute dict, not a function body


class _Scanner:
    def __init__(self, text: str, file: str):
        self.text, self.file, self.pos = text, file, 0
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def loc(self, pos: int | None = None) -> Location:
        pos = self.pos if pos is None else pos
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return Location(self.file, lo + 1, pos - self._line_starts[lo] + 1)

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.loc(pos))

    def skip(self) -> None:
        t = self.text
        while self.pos < len(t):
            c = t[self.pos]
            if c in " \t\r\n":
                self.pos += 1
            elif t.startswith("//", self.pos):
                end = t.find("\n", self.pos)
                self.pos = len(t) if end < 0 else end
            else:
                break

    def peek(self, s: str) -> bool:
        self.skip()
        return self.text.startswith(s, self.pos)

    def accept(self, s: str) -> bool:
        if self.peek(s):
            self.pos += len(s)
            return True
        return False

    def expect(self, s: str, what: str | None = None) -> None:
        if not self.accept(s):
            raise self.error(f"expected {what or repr(s)}, found {self.found()}")

    def found(self) -> str:
        self.skip()
        if self.pos >= len(self.text):
            return "end of input"
        m = _WORD.match(self.text, self.pos)
        return repr(m.group(0)[:20])

    def match(self, rx: re.Pattern) -> str | None:
        self.skip()
        m = rx.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(0)

    def keyword(self, word: str) -> bool:
        self.skip()
        m = _IDENT.match(self.text, self.pos)
        if m and m.group(0) == word:
            self.pos = m.end()
            return True
        return False

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)


MAX_NESTING = 64   # deeper than any tensor rank in use; keeps the recursive descent far from Python's limit


class Parser:
    def __init__(self, text: str, file: str = "<input>"):
        self.s = _Scanner(text, file)
        self.depth = 0   # lists open now

    # --- module and functions --------------------------------------------------------------------

    def parse_program(self) -> Program:
        s = self.s
        prog = Program(source=s.file)
        if s.keyword("module"):
            if s.accept("@"):
                prog.name = self.name("module name")
            if s.keyword("attributes"):
                prog.attributes = self.attr_dict()
            s.expect("{")
            while not s.accept("}"):
                if s.at_end():
                    raise s.error("expected '}' to close the module, found end of input")
                self.function(prog)
        else:   # a file of bare functions is accepted too
            while not s.at_end():
                self.function(prog)
        if not s.at_end():
            raise s.error(f"unexpected {s.found()} after the module")
        if not prog.functions:
            raise s.error("the module has no functions")
        version = prog.attributes.get("ptir.version", 1)
        if version != 1:
            raise ParseError(f"unsupported ptir.version {version} (this tool reads version 1)", s.loc(0))
        return prog

    def name(self, what: str) -> str:
        n = self.s.match(_NAME)
        if n is None:
            article = "an" if what[:1] in "aeiou" else "a"
            raise self.s.error(f"expected {article} {what}, found {self.s.found()}")
        return n

    def function(self, prog: Program) -> None:
        s = self.s
        s.skip()
        start = s.pos
        if not s.keyword("func"):
            raise s.error(f"expected 'func', found {s.found()}")
        s.expect("@", "'@' and a function name")
        name = self.name("function name")
        if name in prog.functions:
            raise s.error(f"redefinition of function @{name}", start)
        self.values: dict[str, tuple[Value, Location]] = {}
        args = []
        s.expect("(")
        if not s.accept(")"):
            while True:
                args.append(self.argument(len(args)))
                if s.accept(")"):
                    break
                s.expect(",", "',' or ')'")
        s.expect("->", "'->' and the result types")
        result_types, result_shardings = [], []
        if s.accept("("):
            if not s.accept(")"):
                while True:
                    result_types.append(self.type())
                    result_shardings.append(self.result_attrs())
                    if s.accept(")"):
                        break
                    s.expect(",", "',' or ')'")
        else:
            result_types.append(self.type())
            result_shardings.append(self.result_attrs())
        fn = Function(name, args, result_types, loc=s.loc(start),
                      result_shardings=result_shardings if any(x is not None for x in result_shardings) else [])
        s.expect("{")
        while True:
            s.skip()
            pos = s.pos
            if s.keyword("return"):
                fn.return_loc = s.loc(pos)
                fn.results = self.operand_list(stop="}")
                s.expect("}", "'}' after return")
                break
            if s.at_end():
                raise s.error("expected 'return' before the end of the function, found end of input")
            fn.ops.append(self.op())
        prog.functions[name] = fn

    def argument(self, index: int) -> Argument:
        s = self.s
        s.skip()
        pos = s.pos
        s.expect("%", "an argument like '%x: tensor<4xf32>'")
        n = self.name("argument name")
        s.expect(":", "':' and the argument type")
        v = Value(self.type(), n, None, index)
        self.define(n, v, pos)
        param = sharding = None
        if s.peek("{"):
            where: dict[str, int] = {}
            attrs = self.attr_dict(where)
            for k, val in attrs.items():
                if k == "ptir.sharding":
                    sharding = self.sharding(val, where[k])
                elif k != "ptir.param":
                    raise s.error(f"unknown argument attribute '{k}' (known: ptir.param, ptir.sharding)", where[k])
                elif not isinstance(val, str) or not val:
                    raise s.error("ptir.param must be a non-empty string naming the weight", where[k])
                else:
                    param = val
        return Argument(v, param, sharding)

    def result_attrs(self):
        """The `{ptir.sharding = ...}` after a result type, if written: its Spec, else None."""
        s = self.s
        if not s.peek("{") or not _ATTR_START.match(s.text, s.pos):   # `{` alone opens the body
            return None
        where: dict[str, int] = {}
        attrs = self.attr_dict(where)
        for k in attrs:
            if k != "ptir.sharding":
                raise s.error(f"unknown result attribute '{k}' (known: ptir.sharding)", where[k])
        return self.sharding(attrs["ptir.sharding"], where["ptir.sharding"])

    def sharding(self, value, pos: int):
        """A `ptir.sharding` value as a Spec; its fit to the mesh and type is the verifier's."""
        try:
            return to_spec(value)
        except ValueError as e:
            raise self.s.error(f"ptir.sharding: {e}", pos) from None

    def define(self, name: str, v: Value, pos: int) -> None:
        if name in self.values:
            first = self.values[name][1]
            raise self.s.error(f"redefinition of %{name} (first defined at {first.line}:{first.col})", pos)
        self.values[name] = (v, self.s.loc(pos))

    # --- ops -------------------------------------------------------------------------------------

    def op(self) -> Op:
        s = self.s
        s.skip()
        start = s.pos
        s.expect("%", "an op like '%0 = ptir.add ...' or 'return'")
        result = self.name("result name")
        count = 1
        if s.accept(":"):
            c = s.match(_INT)
            if c is None or int(c) < 1:
                raise s.error("expected a result count after ':'")
            count = int(c)
        s.expect("=")
        s.skip()
        name_pos = s.pos
        opname = s.match(_IDENT)
        if opname is None:
            raise s.error(f"expected an op name, found {s.found()}")
        if s.pos < len(s.text) and not s.text[s.pos].isascii():
            rest = _WORD.match(s.text, s.pos)
            # a look-alike letter (Cyrillic 'о' in "ptir.nоt") ends the ASCII name early: show it whole
            raise s.error(f"unknown op '{opname + rest.group(0)}': op names are ASCII letters, digits, '_' "
                          "and '.'", name_pos)
        if not opname.startswith("ptir."):
            raise s.error(f"unknown op '{opname}' (PTIR ops are written ptir.<name>)", name_pos)
        opdef = registry.lookup(opname)
        if opdef is None:
            raise s.error(f"unknown op '{opname}' (see `ptirc ops`)", name_pos)
        literal_text = None
        if opdef.name == "constant":
            s.skip()
            lit_pos = s.pos
            if not s.keyword("dense"):
                raise s.error(f"expected a dense<...> literal, found {s.found()}")
            literal_text = (self.dense_body(), lit_pos)
            operands = []
        else:
            operands = self.operand_list(stop="{:")
        attrs = self.attr_dict() if s.peek("{") else {}
        s.expect(":", "':' and the result type")
        types = [self.type()]
        while s.accept(","):
            types.append(self.type())
        if len(types) != count:
            raise s.error(f"{opname}: {count} result{'s' if count != 1 else ''} named but "
                          f"{len(types)} result types written", start)
        if literal_text is not None:
            attrs["value"] = self.dense_value(literal_text[0], types[0], literal_text[1])
        op = Op(opdef, operands, attrs, types, s.loc(start), result)
        for i, r in enumerate(op.results):
            self.define(result if count == 1 else f"{result}#{i}", r, start)
        return op

    def operand_list(self, stop: str) -> list[Value]:
        s = self.s
        out: list[Value] = []
        s.skip()
        if s.pos >= len(s.text) or s.text[s.pos] in stop:
            return out
        while True:
            s.skip()
            pos = s.pos
            s.expect("%", "an operand like '%x'")
            n = self.name("value name")
            if s.text.startswith("#", s.pos):
                s.pos += 1
                i = s.match(_INT)
                if i is None:
                    raise s.error("expected a result number after '#'")
                n = f"{n}#{int(i)}"
            if n not in self.values:
                raise s.error(f"use of undefined value %{n}", pos)
            out.append(self.values[n][0])
            if not s.accept(","):
                return out

    # --- types and attributes --------------------------------------------------------------------

    def type(self) -> TensorType:
        s = self.s
        s.skip()
        pos = s.pos
        if not s.keyword("tensor"):
            raise s.error(f"expected a type like 'tensor<4xf32>', found {s.found()}")
        s.expect("<")
        end = s.text.find(">", s.pos)
        if end < 0 or "\n" in s.text[s.pos:end]:   # a tensor type is written on one line
            raise s.error("expected '>' to close the tensor type")
        body = s.text[s.pos:end]
        parts = body.split("x") if body else [""]
        dtype = dt.from_name(parts[-1].strip())
        if dtype is None:
            raise s.error(f"unknown element type '{parts[-1]}' in tensor<{body}> "
                          f"(known: {', '.join(d.name for d in dt.ALL)})", pos)
        shape = []
        for p in parts[:-1]:
            if p == "?":
                shape.append(None)
            elif _INT.fullmatch(p):
                shape.append(int(p))
            else:
                raise s.error(f"bad dimension '{p}' in tensor<{body}> (a dimension is a number or '?')", pos)
        s.pos = end + 1
        return TensorType(tuple(shape), dtype)

    def attr_dict(self, where: dict | None = None) -> dict:
        """`{k = v, ...}`; `where`, if given, receives each key's position."""
        s = self.s
        s.expect("{")
        attrs: dict = {}
        if s.accept("}"):
            return attrs
        while True:
            s.skip()
            pos = s.pos
            key = s.match(_IDENT)
            if key is None:
                raise s.error(f"expected an attribute name, found {s.found()}")
            if key in attrs:
                raise s.error(f"attribute '{key}' is given twice", pos)
            if where is not None:
                where[key] = pos
            s.expect("=", f"'=' after attribute '{key}'")
            attrs[key] = self.attr_value()
            if s.accept("}"):
                return attrs
            s.expect(",", "',' or '}' in the attribute dictionary")

    def rest_of_list(self, item, where: str = "") -> list:
        """The items of a `[a, b, ...]` list whose `[` was just read; lists nest at most
        MAX_NESTING deep (a literal's rank, an attribute's pairs), a located error beyond."""
        if self.depth >= MAX_NESTING:
            raise self.s.error(f"lists nest more than {MAX_NESTING} deep{where}", self.s.pos - 1)
        self.depth += 1
        try:
            items = []
            if self.s.accept("]"):
                return items
            while True:
                items.append(item())
                if self.s.accept("]"):
                    return items
                self.s.expect(",", "',' or ']'" + where)
        finally:
            self.depth -= 1

    def attr_value(self):
        s = self.s
        s.skip()
        if s.accept("["):
            return self.rest_of_list(self.attr_value)
        if s.peek('"'):
            return self.string()
        num = s.match(_NUMBER)
        if num is not None:
            return _number(num)
        pos = s.pos
        word = s.match(_IDENT)
        if word in ("true", "false"):
            return word == "true"
        if word is not None and dt.from_name(word) is not None:
            return dt.from_name(word)
        raise s.error(f"expected an attribute value (number, true/false, string, dtype or [...]), "
                      f"found {s.found() if word is None else repr(word)}", pos)

    def string(self) -> str:
        """A string in the printer's (JSON) escapes: \\n, \\", \\uXXXX, surrogate pairs included."""
        s = self.s
        s.skip()
        pos = s.pos
        m = s.match(_STRING)
        if m is None:
            raise s.error("unterminated string")
        try:
            return json.loads(m, strict=False)
        except ValueError as e:
            raise s.error(f"bad escape in string: {e.msg}", pos + e.pos) from None

    # --- dense literals --------------------------------------------------------------------------

    def dense_body(self):
        """The parsed inside of dense<...>: ("hex", text) or ("elements", nested lists of tokens)."""
        s = self.s
        s.expect("<", "'<' after dense")
        if s.peek('"'):
            pos = s.pos
            text = self.string()
            if not text.startswith("0x"):
                raise s.error('a hex literal is written dense<"0x...">', pos)
            body = ("hex", text[2:], pos)
        else:
            body = ("elements", self.dense_elements(), s.pos)
        s.expect(">", "'>' to close dense<...>")
        return body

    def dense_elements(self):
        s = self.s
        s.skip()
        if s.accept("["):
            return self.rest_of_list(self.dense_elements, " in the literal")
        pos = s.pos
        tok = s.match(_NUMBER) or s.match(_IDENT)
        if tok is None:
            raise s.error(f"expected a literal element, found {s.found()}")
        return (tok, pos)

    def dense_value(self, body, t: TensorType, pos: int) -> np.ndarray:
        s = self.s
        if not t.is_static:
            raise s.error(f"a constant needs a static type, not {t}", pos)
        if body[0] == "hex":
            try:
                return from_hex(body[1], t.dtype, t.shape)
            except ValueError as e:
                raise s.error(f"bad hex literal for {t}: {e}", body[2]) from None
        elements = body[1]
        try:
            if isinstance(elements, tuple):     # a splat keeps one element, whatever the type's size
                return np.array(parse_element(elements[0], t.dtype), dtype=t.dtype.np_dtype)
            shape = _nested_shape(elements)
            if tuple(shape) != t.shape:
                raise s.error(f"literal of shape {'x'.join(map(str, shape))} does not fit {t}", pos)
            flat = [parse_element(tok, t.dtype) for tok, _ in _flatten(elements)]
            return np.array(flat, dtype=t.dtype.np_dtype).reshape(t.shape)
        except ValueError as e:
            raise s.error(f"bad literal element for {t}: {e}", pos) from None


def _number(text: str):
    body = text.lstrip("+-")
    if body.isdigit():
        return int(text)
    return float(text)


def _nested_shape(items) -> list[int]:
    if isinstance(items, tuple):
        return []
    if not items:
        return [0]
    inner = [_nested_shape(i) for i in items]
    if any(x != inner[0] for x in inner):
        raise ValueError("ragged nested literal")
    return [len(items)] + inner[0]


def _flatten(items):
    if isinstance(items, tuple):
        yield items
        return
    for i in items:
        yield from _flatten(i)


def parse(text: str, file: str = "<input>") -> Program:
    """Parse PTIR text into a Program (syntax and SSA checked; see `verify` for types)."""
    return Parser(text, file).parse_program()
