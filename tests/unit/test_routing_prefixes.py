"""Literal prefixes of destination regexes: the usual forms, and soundness on random regexes."""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.prefixes import literal_prefixes


@pytest.mark.parametrize("pattern,prefixes", [
    ("^33", {"33"}),
    ("33", {"33"}),
    (r"^\+?4420", {"4420", "+4420"}),
    ("^(33|34)", {"33", "34"}),
    ("^(?:33|34)6", {"336", "346"}),
    ("^3[34]", {"33", "34"}),
    ("^3[3-5]1", {"331", "341", "351"}),
    ("^33|^34", {"33", "34"}),
    (r"^33\d+$", {"33"}),
    (r"\A49", {"49"}),
    ("^33?4", {"334", "34"}),
    ("^(33)?4", {"334", "4"}),
    ("^3+4", {"3"}),
    ("^3{2}", {"3"}),
    ("^3{1}4", {"34"}),
    ("^(3|33)", {"3"}),
    ("^33.*", {"33"}),
    ("^a(?i:b)", {"a"}),
])
def test_reads_the_usual_forms(pattern: str, prefixes: set[str]) -> None:
    assert literal_prefixes(pattern) == prefixes


@pytest.mark.parametrize("pattern", [
    "", ".*", r"^\d+", "^3*4", "(?i)ab", "^(?=33)33", "^[^3]", "^33|.", "^(3|.)", "^3{0,2}",
    "^[]3]?4|",
])
def test_no_prefix_when_a_match_could_start_anywhere(pattern: str) -> None:
    """None means 'unindexable': the table evaluates such a route for every message."""
    assert literal_prefixes(pattern) is None


ATOMS = st.sampled_from(["3", "4", "3", "4", "+", r"\+", "[34]", "[3-5]", r"\d", ".", "a",
                         "[]3]", "[^3]", r"[\]3]", "$"])
QUANTS = st.sampled_from(["", "", "?", "*", "+", "{2}", "{0,1}", "{1}", "{1,3}", "??", "*?",
                          "{0}"])


def regexes() -> st.SearchStrategy[str]:
    def seq(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.lists(st.tuples(inner, QUANTS).map("".join), max_size=5).map("".join)

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        alt = st.lists(seq(inner), min_size=1, max_size=3).map("|".join)
        return st.one_of(alt.map(lambda a: f"({a})"), alt.map(lambda a: f"(?:{a})"))

    element = st.recursive(ATOMS, grow, max_leaves=6)
    branch = st.tuples(st.sampled_from(["", "^"]), seq(element)).map("".join)
    return st.lists(branch, min_size=1, max_size=3).map("|".join)


def compiles(p: str) -> bool:
    try:
        re.compile(p)
    except re.error:
        return False
    return True


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much,
                                                   HealthCheck.too_slow])
@given(st.data(), regexes().filter(compiles))
def test_every_match_starts_with_a_prefix(data: st.DataObject, pattern: str) -> None:
    """Soundness: a prefix set that missed a match would make the index skip a route."""
    prefixes = literal_prefixes(pattern)
    if prefixes is None:
        return
    s = data.draw(st.from_regex(pattern, fullmatch=True))
    assert re.match(pattern, s)
    assert s.startswith(tuple(prefixes)), (pattern, s, prefixes)
