# tests: tests/unit/test_routing_prefixes.py
"""The literal prefixes a regex forces on what it matches, so a route table can index them.

`literal_prefixes(p)` returns a set S of strings such that `re.match(p, s)` implies
`s.startswith(tuple(S))`, or None when no useful set is known ("" would be in S). It
reads the usual forms of a destination-prefix filter: `^33`, `33`, `^\\+?4420`, `^(33|34)`,
`^(?:33|34)6`, `^3[34]`, `^33|^34`, `^33\\d+$`, `^447[0-9]{9}`.

Rules:
- Sound, not complete: it only ever stops early (a shorter prefix), never guesses.
  Anything it does not read (classes with escapes or negation, lookarounds, flags,
  backreferences, `.`, `\\d`, nested quantifiers) ends the prefix at that point.
- Inline flags (`(?i)` ...) could change what a literal means: no prefixes at all.
- At most MAX_PREFIXES strings; beyond that the prefix ends where it was. A prefix that
  extends another one in the set is dropped (`^(3|33)` gives {"3"}).
"""
from __future__ import annotations

MAX_PREFIXES = 256
_QUANTIFIERS = ("?", "*", "+", "{")
_SPECIAL = ".^$*+?{}[]\\|()"


class _Reader:
    """A recursive-descent reader over the subset above; `stop` ends the literal run."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def alternation(self) -> tuple[set[str], bool]:
        """Branches separated by `|` up to `)` or the end: (prefixes, complete)."""
        out, complete = self.sequence()
        while self.peek() == "|":
            self.i += 1
            more, done = self.sequence()
            out |= more
            complete = complete and done
        return out, complete

    def sequence(self) -> tuple[set[str], bool]:
        """One branch. complete=False once something unread was met; the rest of the
        branch is skipped so that `|` and `)` are still found."""
        if self.peek() == "^":
            self.i += 1
        elif self.peek() == "\\" and self.peek(1) == "A":
            self.i += 2
        acc = {""}
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            if atom is None:
                self.skip_branch()
                return acc, False
            options, atom_complete = atom
            q = self.quantifier()
            if q is None:
                self.skip_branch()
                return acc, False
            low, high_one = q
            if low == 0:
                options = options | {""}
            grown = {a + o for a in acc for o in options}
            if len(grown) > MAX_PREFIXES:
                self.skip_branch()
                return acc, False
            acc = grown
            if not (atom_complete and high_one):
                self.skip_branch()
                return acc, False
        return acc, True

    def atom(self) -> tuple[set[str], bool] | None:
        c = self.peek()
        if c == "\\":
            e = self.peek(1)
            if not e or e.isalnum() or e == "_":
                return None
            self.i += 2
            return {e}, True
        if c == "[":
            return self.char_class()
        if c == "(":
            if self.peek(1) == "?":
                if self.peek(2) != ":":
                    return None
                self.i += 3
            else:
                self.i += 1
            inner, complete = self.alternation()
            if self.peek() != ")":
                return None
            self.i += 1
            return inner, complete
        if c in _SPECIAL:
            return None
        self.i += 1
        return {c}, True

    def class_end(self) -> int:
        """Index of the `]` closing the class opened at self.i (`[]...]`, `[^]...]` and
        escapes included), or -1."""
        j = self.i + 1
        if self.p[j:j + 1] == "^":
            j += 1
        if self.p[j:j + 1] == "]":
            j += 1
        while j < len(self.p):
            if self.p[j] == "\\":
                j += 2
            elif self.p[j] == "]":
                return j
            else:
                j += 1
        return -1

    def char_class(self) -> tuple[set[str], bool] | None:
        """`[34]`, `[3-5]`: plain characters and ranges only."""
        end = self.class_end()
        body = self.p[self.i + 1:end] if end > 0 else ""
        if not body or body[0] == "^" or "\\" in body or "[" in body:
            return None
        chars: set[str] = set()
        k = 0
        while k < len(body):
            if k + 2 < len(body) and body[k + 1] == "-":
                lo, hi = ord(body[k]), ord(body[k + 2])
                if hi < lo or hi - lo > 64:
                    return None
                chars |= {chr(x) for x in range(lo, hi + 1)}
                k += 3
            else:
                chars.add(body[k])
                k += 1
        self.i = end + 1
        return chars, True

    def quantifier(self) -> tuple[int, bool] | None:
        """(least repeats: 0 or 1, at most one repeat?) of the atom just read; None when
        the quantifier is not read. A lazy/possessive suffix changes neither."""
        c = self.peek()
        if c not in _QUANTIFIERS:
            return 1, True
        if c == "{":
            end = self.p.find("}", self.i)
            spec = self.p[self.i + 1:end] if end > 0 else ""
            low_text, _, high_text = spec.partition(",")
            if not low_text.isdigit() or not (high_text.isdigit() or high_text == ""):
                return None
            self.i = end + 1
            low = min(int(low_text), 1)
            high_one = "," not in spec and int(low_text) == 1 or high_text == "1"
        else:
            self.i += 1
            low = 1 if c == "+" else 0
            high_one = c == "?"
        if self.peek() in ("?", "+"):
            self.i += 1
        if self.peek() in _QUANTIFIERS:
            return None
        return low, high_one

    def skip_branch(self) -> None:
        """Move to the `|` or `)` that ends the current branch, honouring groups,
        classes and escapes."""
        depth = 0
        while self.i < len(self.p):
            c = self.p[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "[":
                end = self.class_end()
                self.i = end + 1 if end > 0 else len(self.p)
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    return
                depth -= 1
            elif c == "|" and depth == 0:
                return
            self.i += 1


def literal_prefixes(pattern: str) -> frozenset[str] | None:
    """Strings one of which starts every match of `pattern` (re.match), or None."""
    if pattern.startswith("(?") and not pattern.startswith("(?:"):
        return None
    reader = _Reader(pattern)
    prefixes, _ = reader.alternation()
    if reader.i < len(pattern) or "" in prefixes:
        return None
    return frozenset(p for p in prefixes
                     if not any(p.startswith(q) and p != q for q in prefixes))
