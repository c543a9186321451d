"""Parameter names, shell quoting and the parameters cell (pure core)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reifier.core.params import (
    INJECTED_TAG,
    as_text,
    inject_parameters,
    parse_parameters_cell,
    render_parameters_cell,
    shell_quote,
    validate_name,
)
from reifier.errors import BadInput

PWNED = "$(touch /tmp/pwned); rm -rf ~"
texts = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z")


@pytest.mark.parametrize("name", ["DIR", "_x", "a1", "LOG_DIR", "A" * 64])
def test_valid_names_pass(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["X;rm", "1A", "", "A-B", "a b", "$(id)", "ÄB", "A\n"])
def test_bad_names_are_bad_input(name: str) -> None:
    with pytest.raises(BadInput, match="bad parameter name"):
        validate_name(name)


@pytest.mark.parametrize("value", [PWNED, "it's", "'", "''", "a\nb", "`id`", "*", "", "é ü"])
def test_quoted_value_is_one_literal_word(value: str) -> None:
    quoted = shell_quote(value)
    assert quoted.startswith("'") and quoted.endswith("'")
    assert shlex.split(quoted) == [value]


@given(texts)
def test_quoting_round_trips_any_text(value: str) -> None:
    assert shlex.split(shell_quote(value)) == [value]


def test_nul_is_refused() -> None:
    with pytest.raises(BadInput, match="NUL"):
        shell_quote("a\x00b")


def test_render_then_parse_gives_the_values_back() -> None:
    values = {"DIR": "/tmp/x y", "MSG": PWNED, "Q": "it's", "ML": "one\ntwo", "E": "", "CR": "a\r\nb\r"}
    source = render_parameters_cell(values)
    assert source.startswith("# Parameters\n")
    assert "MSG='$(touch /tmp/pwned); rm -rf ~'" in source
    assert parse_parameters_cell(source) == values


@given(st.dictionaries(names, texts, max_size=5))
def test_render_parse_round_trip_property(values: dict[str, str]) -> None:
    assert parse_parameters_cell(render_parameters_cell(values)) == values


def test_render_refuses_bad_names() -> None:
    with pytest.raises(BadInput):
        render_parameters_cell({"X;rm": "1"})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("A='single quoted'", {"A": "single quoted"}),
        ('A="double quoted"', {"A": "double quoted"}),
        ("A=plain", {"A": "plain"}),
        ("A=", {"A": ""}),
        ("export A=1", {"A": "1"}),
        ("# A=commented\nB=2", {"B": "2"}),
        ("echo hi\nA=1  \n\n", {"A": "1"}),
        ("A=$(hostname) y", {"A": "$(hostname) y"}),  # not one literal word: kept as written
        ("A='multi\nline'\nB=2", {"A": "multi\nline", "B": "2"}),
        ("A='unterminated", {"A": "'unterminated"}),
    ],
)
def test_parse_forms(source: str, expected: dict[str, str]) -> None:
    assert parse_parameters_cell(source) == expected


@pytest.mark.parametrize(("value", "text"), [(None, ""), (True, "true"), (False, "false"),
                                             (5, "5"), (1.5, "1.5"), ("x", "x")])
def test_as_text(value: object, text: str) -> None:
    assert as_text(value) == text


def test_as_text_refuses_structures() -> None:
    with pytest.raises(BadInput):
        as_text(["a"])


def _nb(*cells: dict[str, object]) -> dict[str, object]:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_inject_goes_right_after_the_parameters_cell() -> None:
    nb = _nb({"cell_type": "markdown", "source": "# t", "metadata": {}},
             {"cell_type": "code", "source": "A=1", "metadata": {"tags": ["parameters"]}},
             {"cell_type": "code", "source": "echo $A", "metadata": {}})
    out = inject_parameters(nb, {"A": "2"})
    cells = out["cells"]
    assert [c["source"] for c in cells][:2] == ["# t", "A=1"]
    assert cells[2]["metadata"]["tags"] == [INJECTED_TAG]
    assert cells[2]["source"] == "# Parameters\nA='2'\n"
    assert len(nb["cells"]) == 3  # the input is not modified


def test_inject_nothing_without_values() -> None:
    nb = _nb({"cell_type": "code", "source": "A=1", "metadata": {"tags": ["parameters"]}})
    assert inject_parameters(nb, {}) == nb
