"""The sandbox's CQL subset: parsing, matching, ordering, and its error messages.

Unit tests on `kit.sandbox.confluence.cql`, plus a property test: no string, however
odd, makes the parser or the matcher raise anything but `CqlError`.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.sandbox.confluence.cql import (
    FIELDS,
    Clause,
    CqlError,
    Entity,
    Junction,
    Not,
    Query,
    Value,
    matches,
    parse,
    tokenize,
)

ADA = "712020:ada"
PAGE = Entity(
    type="page",
    id="131076",
    space_key="ENG",
    title="Setting up your workstation",
    text="Install the toolchain with the bootstrap script.",
    labels=("onboarding", "python"),
    creator=ADA,
    created="2024-01-12T08:00:00.000Z",
    lastmodified="2024-02-17T15:00:00.000Z",
    ancestors=("131073", "131074"),
    parent="131074",
)
SPACE = Entity(
    type="space",
    id="98306",
    space_key="ENG",
    title="Engineering Handbook",
    text="How Pinecone Labs builds Scout.",
    labels=("handbook",),
    creator="712020:priya",
    created="2024-01-09T04:00:00.000Z",
    lastmodified="2024-01-09T04:00:00.000Z",
)


def hit(cql: str, entity: Entity = PAGE) -> bool:
    return matches(parse(cql).where, entity, ADA)


# Parsing


def test_a_single_clause_parses_to_a_clause() -> None:
    query = parse("type = page")

    assert query == Query(Clause("type", "=", (Value("page"),)), ())


def test_and_binds_tighter_than_or() -> None:
    query = parse("type = page OR space = ENG AND label = x")

    assert isinstance(query.where, Junction)
    assert query.where.kind == "or"
    assert isinstance(query.where.items[1], Junction)
    assert query.where.items[1].kind == "and"


def test_keywords_and_fields_ignore_case() -> None:
    query = parse("TYPE = page and Space IN (ENG, OPS) order by Title desc")

    assert query.fields() == {"type", "space"}
    assert query.order == (("title", True),)


def test_not_and_parentheses_nest() -> None:
    query = parse("NOT (space = ENG OR space = OPS)")

    assert isinstance(query.where, Not)
    assert isinstance(query.where.item, Junction)


def test_quoted_strings_keep_spaces_and_escaped_quotes() -> None:
    query = parse(r'title = "Say \"hi\" to Scout"')

    assert query.where == Clause("title", "=", (Value('Say "hi" to Scout'),))


def test_single_quotes_work_like_double_quotes() -> None:
    assert parse("title = 'a b'") == parse('title = "a b"')


def test_order_by_alone_is_a_query_that_matches_everything() -> None:
    query = parse("ORDER BY created ASC, title DESC")

    assert query.where is None
    assert query.order == (("created", False), ("title", True))


def test_space_key_and_lastmodified_aliases_are_understood() -> None:
    query = parse("space.key = ENG AND lastModified > 2024-01-01")

    assert query.fields() == {"space", "lastmodified"}


def test_tokens_record_where_they_start() -> None:
    tokens = tokenize('title ~ "x"')

    assert [(t.kind, t.position) for t in tokens] == [
        ("word", 0),
        ("op", 6),
        ("string", 8),
        ("end", 11),
    ]


# Errors


@pytest.mark.parametrize(
    ("cql", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("status = current", "valid fields are"),
        ("type", "Expected an operator"),
        ("type =", "Expected a value"),
        ("type = page AND", "Expected a field name"),
        ("(type = page", "Expected ')'"),
        ("type = page)", "Unexpected ')'"),
        ("space ~ ENG", "does not work on the field `space`"),
        ("text = robot", "does not work on the field `text`"),
        ("space in ENG", "Expected '('"),
        ("created > yesterday", "not a date"),
        ('created > "2024-02-30"', "not a valid date"),
        ("created > now()", "not supported"),
        ("creator = someoneElse()", "knows `creator = currentUser()` only"),
        ('text ~ "***"', "no word"),
        ("type = page ORDER BY score", "Cannot order by"),
        ('title = "open', "Unexpected character"),
        ("type = page ! space = ENG", "Unexpected character '!'"),
        ("NOT " * 50 + "type = page", "nests deeper"),
        ("x" * 5000, "longer than"),
    ],
)
def test_a_bad_query_raises_cql_error_saying_what_was_wrong(
    cql: str, message: str
) -> None:
    with pytest.raises(CqlError, match=re.escape(message)):
        parse(cql)


def test_an_unknown_field_error_lists_every_valid_field() -> None:
    with pytest.raises(CqlError) as caught:
        parse("colour = blue")

    assert all(field in str(caught.value) for field in FIELDS)


# Matching


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("type = page", True),
        ("type = PAGE", True),
        ("type = space", False),
        ("type != space", True),
        ("space = eng", True),
        ("space in (OPS, ENG)", True),
        ("space not in (OPS, ENG)", False),
        ('title = "setting up your workstation"', True),
        ('title = "Setting up"', False),
        ('title ~ "workstation"', True),
        ('title ~ "work*"', True),
        ('title ~ "bootstrap"', False),
        ('text ~ "bootstrap"', True),
        ('text ~ "workstation"', True),
        ('text ~ "bootstrap kubernetes"', False),
        ('text !~ "kubernetes"', True),
        ("label = python", True),
        ("label in (rust, go)", False),
        ("creator = currentUser()", True),
        ('creator = "712020:priya"', False),
        ("id = 131076", True),
        ("ancestor = 131073", True),
        ("parent = 131074", True),
        ("parent = 131073", False),
        ('created >= "2024-01-12"', True),
        ('created > "2024-01-12"', True),
        ('created < "2024-01-12"', False),
        ('created = "2024/01/12"', True),
        ('created = "2024-01-12 08:00"', True),
        ('created != "2024-01-12"', False),
        ('lastmodified <= "2024-02-17 15:00"', True),
        ('lastmodified < "2024-02-17 15:00"', False),
        ("type = page AND NOT space = OPS", True),
        ("space = OPS OR label = python", True),
        ("NOT (space = OPS OR label = python)", False),
    ],
)
def test_a_page_matches_as_cql_says(cql: str, expected: bool) -> None:
    assert hit(cql) is expected


def test_a_space_matches_by_its_own_key_name_and_labels() -> None:
    assert hit("type = space AND space = ENG", SPACE)
    assert hit('title ~ "handbook"', SPACE)
    assert hit("label = handbook", SPACE)
    assert not hit("parent = 1", SPACE)


def test_no_condition_matches_everything() -> None:
    assert matches(None, PAGE, ADA)
    assert matches(None, SPACE, ADA)


# Properties

_CQL_PIECES = st.sampled_from(
    [
        "type",
        "space",
        "title",
        "text",
        "label",
        "created",
        "creator",
        "=",
        "!=",
        "~",
        "!~",
        "<",
        ">=",
        "in",
        "not",
        "NOT",
        "AND",
        "OR",
        "ORDER BY",
        "ASC",
        "(",
        ")",
        ",",
        '"',
        "'",
        "\\",
        "page",
        "ENG",
        '"2024-01-01"',
        "2024/13/40",
        "currentUser()",
        "now()",
        '"a b"',
        "*",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_raises_anything_but_cql_error(text: str) -> None:
    try:
        query = parse(text)
    except CqlError:
        return

    matches(query.where, PAGE, ADA)
    matches(query.where, SPACE, ADA)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CQL_PIECES, max_size=14).map(" ".join))
def test_random_cql_shaped_text_never_raises_anything_but_cql_error(text: str) -> None:
    try:
        query = parse(text)
    except CqlError:
        return

    assert isinstance(matches(query.where, PAGE, ADA), bool)
    assert isinstance(matches(query.where, SPACE, ADA), bool)
