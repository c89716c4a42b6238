"""ABAC conditions on role assignments and roles: the subset built-in roles and delegation conditions use.

A condition that uses syntax or an operator this module does not read raises `ConditionError`; the
authorizer then grants nothing (fail closed).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping

from ...permissions import action_matches
from .roles import role_guid


class ConditionError(ValueError):
    """A condition uses syntax or an operator this evaluator does not support."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lparen>\() | (?P<rparen>\)) | (?P<bang>!)
    | (?P<matches>ActionMatches|SubOperationMatches)\s*\{\s*'(?P<pattern>[^']*)'\s*\}
    | @(?P<source>Request|Resource|Principal|Environment)\[(?P<attribute>[^\]]+)\]
    | \{(?P<set>[^}]*)\}
    | '(?P<string>[^']*)'
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<word>[A-Za-z]+(?::[A-Za-z]+)?)
    )""",
    re.VERBOSE,
)
_QUANTIFIERS = {"foranyofanyvalues", "forallofanyvalues", "foranyofallvalues", "forallofallvalues"}
_OPERATORS = {  # name → (how values compare, negated)
    "guidequals": ("guid", False), "guidnotequals": ("guid", True),
    "stringequals": ("exact", False), "stringnotequals": ("exact", True),
    "stringequalsignorecase": ("fold", False), "stringnotequalsignorecase": ("fold", True),
}


def _tokens(text: str) -> list[tuple[str, object]]:
    tokens, position, end = [], 0, len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"unreadable condition near {text[position:position + 30]!r}")
        position, kind = match.end(), match.lastgroup
        if kind == "pattern":
            tokens.append(("matches", (match["matches"], match["pattern"])))
        elif kind == "attribute":
            tokens.append(("attribute", (match["source"], match["attribute"])))
        elif kind == "set":
            tokens.append(("values", tuple(v.strip().strip("'") for v in match["set"].split(",") if v.strip())))
        elif kind in ("string", "guid"):
            tokens.append(("values", (match[kind],)))
        elif kind == "word" and match["word"].upper() in ("AND", "OR", "NOT"):
            tokens.append((match["word"].upper(), None))
        else:
            tokens.append((kind, match[kind]))
    return tokens


@lru_cache(maxsize=256)
def _parse(text: str):
    tokens, position = _tokens(text), 0

    def peek():
        return tokens[position][0] if position < len(tokens) else None

    def take(kind):
        nonlocal position
        if peek() != kind:
            raise ConditionError(f"expected {kind} in condition, found {peek()}")
        position += 1
        return tokens[position - 1][1]

    def expression(operator="OR"):
        inner = "AND" if operator == "OR" else None
        node = expression(inner) if inner else factor()
        while peek() == operator:
            take(operator)
            node = (operator, node, expression(inner) if inner else factor())
        return node

    def factor():
        if peek() in ("bang", "NOT"):
            take(peek())
            return ("NOT", factor())
        if peek() == "lparen":
            take("lparen")
            node = expression()
            take("rparen")
            return node
        if peek() == "matches":
            return ("matches",) + take("matches")
        source, attribute = take("attribute")
        operator = take("word").lower()
        quantifier, _, base = operator.rpartition(":")
        if base not in _OPERATORS or (quantifier and quantifier not in _QUANTIFIERS):
            raise ConditionError(f"unsupported condition operator {operator!r}")
        return ("compare", source, attribute, quantifier, base, take("values"))

    tree = expression()
    if position != len(tokens):
        raise ConditionError("unexpected text after the end of the condition")
    return tree


def _attribute_key(attribute: str) -> str:
    # "Microsoft.Authorization/roleAssignments:RoleDefinitionId" → "role_definition_id"
    name = attribute.rsplit(":", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _evaluate(node, action: str, context: Mapping[str, str]) -> bool:
    kind = node[0]
    if kind == "OR":
        return _evaluate(node[1], action, context) or _evaluate(node[2], action, context)
    if kind == "AND":
        return _evaluate(node[1], action, context) and _evaluate(node[2], action, context)
    if kind == "NOT":
        return not _evaluate(node[1], action, context)
    if kind == "matches":
        # Nothing here has sub-operations, so SubOperationMatches never holds.
        return node[1] == "ActionMatches" and action_matches(node[2], action)
    _, _source, attribute, quantifier, operator, values = node
    actual = context.get(_attribute_key(attribute))
    if actual is None:
        return False  # a missing attribute satisfies no comparison
    how, negated = _OPERATORS[operator]
    if how == "guid":
        actual, values = role_guid(actual), tuple(role_guid(v) for v in values)
    elif how == "fold":
        actual, values = actual.casefold(), tuple(v.casefold() for v in values)
    outcomes = [(actual == value) != negated for value in values]
    # The attribute has one value, so only "any/all of the listed values" distinguishes quantifiers.
    return any(outcomes) if quantifier.endswith("anyvalues") else all(outcomes) and bool(outcomes)


def condition_holds(condition: str, action: str, context: Mapping[str, str]) -> bool:
    """Evaluate an ABAC condition (the subset built-in roles and delegation conditions use)."""
    return _evaluate(_parse(condition), action, context)
