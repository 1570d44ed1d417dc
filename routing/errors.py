# tests: tests/unit/test_routing_filters.py
"""The one error routing rules raise when they are built from bad input.

Every rule (filter, route, table) is validated when it is built, never when a message
is routed: a rule that exists is usable. `problems` lists every problem found, each
naming where it is (`destination_addr: ...`, `mt_routes[3].filters[1]: no filter 'x'`),
so an operator fixes a whole profile at once.
"""
from __future__ import annotations


class RuleError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def under(self, path: str) -> RuleError:
        """The same problems, each prefixed with `path` (where the rule sits)."""
        return RuleError([f"{path}.{p}" if p[:1].isalpha() else f"{path}{p}"
                          for p in self.problems])
