"""Azure ABAC role assignment conditions (conditionVersion 2.0): parse, validate, evaluate.

The grammar is Azure's "condition format and syntax" (MicrosoftDocs/azure-docs,
``articles/role-based-access-control/conditions-format.md``)::

    condition  := or
    or         := and (('OR' | '||') and)*
    and        := unary (('AND' | '&&') unary)*
    unary      := ('!' | 'NOT') unary | '(' or ')' | ActionMatches{'…'} | SubOperationMatches{'…'} | comparison
    comparison := operand [quantifier ':'] operator operand
    operand    := @Request[…] | @Resource[…] | @Principal[…] | @Environment[…] | value | '{' value, … '}'

with the string, GUID and numeric operators (``StringEquals``, ``StringLike``, ``GuidNotEquals``,
``NumericLessThan``, their negations and ``IgnoreCase`` forms) and the four cross-product quantifiers
(``ForAnyOfAnyValues``, ``ForAllOfAnyValues``, ``ForAnyOfAllValues``, ``ForAllOfAllValues``).

It fails closed. A condition that does not parse is refused when an assignment is made (ARM's
``InvalidRoleAssignmentCondition``); parsing is bounded in length and nesting, so no input costs more
than a few milliseconds or overflows the stack. At evaluation, an attribute the request does not carry
is an error, not an empty value: ``!(@Request[…:PrincipalId] GuidEquals {x})`` never holds merely
because the principal was not supplied. Any evaluation error denies the grant (see `rbac`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from functools import lru_cache

from ...permissions import action_matches

MAX_LENGTH = 8192  # a local bound, far above any real condition (Azure's own limit is not documented)
MAX_NESTING = 32  # parentheses and negations; real conditions nest five or six deep
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
SOURCES = ("Request", "Resource", "Principal", "Environment")


class ConditionError(ValueError):
    """A condition that does not parse, or cannot be evaluated for this request."""


# -- tokens --------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lparen>\() | (?P<rparen>\)) | (?P<lbrace>\{) | (?P<rbrace>\}) | (?P<comma>,)
    | (?P<and>&&) | (?P<or>\|\|) | (?P<bang>!)
    | (?P<matches>ActionMatches|SubOperationMatches)\s*\{\s*'(?P<pattern>[^']*)'\s*\}
    | @(?P<source>[A-Za-z]+)\[(?P<attribute>[^\]\[]+)\]
    | '(?P<string>[^']*)'
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<number>-?\d+(?![\w-]))
    | (?P<word>[A-Za-z]+(?::[A-Za-z]+)?)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_KEYWORDS = {"and": "and", "or": "or", "not": "bang"}


def _tokens(text: str) -> list[tuple[str, object]]:
    tokens, position, end = [], 0, len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"unreadable condition near {text[position : position + 30]!r}")
        position, kind = match.end(), match.lastgroup
        if kind == "pattern":
            tokens.append(("matches", (match["matches"].lower(), match["pattern"])))
        elif kind == "attribute":
            source = next((s for s in SOURCES if s.lower() == match["source"].lower()), None)
            if source is None or not match["attribute"].strip():
                raise ConditionError(f"unknown attribute source @{match['source']}")
            tokens.append(("attribute", attribute_key(source, match["attribute"])))
        elif kind in ("string", "guid", "number"):
            tokens.append(("value", (kind, match[kind])))
        elif kind == "word" and match["word"].lower() in _KEYWORDS:
            tokens.append((_KEYWORDS[match["word"].lower()], None))
        else:
            tokens.append((kind, match[kind]))
    return tokens


def attribute_key(source: str, attribute: str) -> str:
    """How attributes are named in an evaluation context: ``@request[microsoft.…:principalid]``."""
    return f"@{source}[{attribute.strip()}]".lower()


# -- operators ------------------------------------------------------------------------------------------
_QUANTIFIERS = ("foranyofanyvalues", "forallofanyvalues", "foranyofallvalues", "forallofallvalues")


def _like(pattern: str, fold: bool) -> re.Pattern:
    # `*` any run, `?` one character; `\*` and `\?` are the characters themselves.
    parts = re.split(r"(\\[*?]|[*?])", pattern)
    regex = "".join(
        ".*" if p == "*" else "." if p == "?" else re.escape(p[-1] if p in ("\\*", "\\?") else p) for p in parts
    )
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if fold else 0))


def _string_operators() -> dict:
    tests = {
        "equals": lambda a, b, fold: a.casefold() == b.casefold() if fold else a == b,
        "startswith": lambda a, b, fold: a.casefold().startswith(b.casefold()) if fold else a.startswith(b),
        "like": lambda a, b, fold: _like(b, fold).fullmatch(a) is not None,
    }
    table = {}
    for name, test in tests.items():
        for negated in (False, True):
            for fold in (False, True):
                key = f"string{'not' if negated else ''}{name}{'ignorecase' if fold else ''}"
                table[key] = ("string", lambda a, b, t=test, n=negated, f=fold: t(a, b, f) != n)
    return table


_OPERATORS = {
    **_string_operators(),
    "guidequals": ("guid", lambda a, b: a == b),
    "guidnotequals": ("guid", lambda a, b: a != b),
    "numericequals": ("number", lambda a, b: a == b),
    "numericnotequals": ("number", lambda a, b: a != b),
    "numericlessthan": ("number", lambda a, b: a < b),
    "numericlessthanequals": ("number", lambda a, b: a <= b),
    "numericgreaterthan": ("number", lambda a, b: a > b),
    "numericgreaterthanequals": ("number", lambda a, b: a >= b),
}


def _typed(kind: str, value: str) -> object:
    """A literal or attribute value as the operator compares it; ConditionError when it is not one."""
    if kind == "guid":
        try:  # a role definition id counts by its trailing GUID, as ARM compares them
            return str(uuid.UUID(value.rstrip("/").rsplit("/", 1)[-1]))
        except ValueError:
            raise ConditionError(f"{value[:40]!r} is not a GUID") from None
    if kind == "number":
        if not re.fullmatch(r"-?\d{1,18}", value.strip()):
            raise ConditionError(f"{value[:40]!r} is not an integer")
        return int(value)
    return value


# -- the parser -----------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str):
        if not text or not text.strip():
            raise ConditionError("the condition is empty")
        if len(text) > MAX_LENGTH:
            raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters")
        self.tokens, self.position, self.depth = _tokens(text), 0, 0

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def take(self, kind: str):
        if self.peek() != kind:
            raise ConditionError(f"expected {kind} in the condition, found {self.peek() or 'its end'}")
        self.position += 1
        return self.tokens[self.position - 1][1]

    def parse(self):
        tree = self.either()
        if self.position != len(self.tokens):
            raise ConditionError(f"unexpected {self.peek()} after the end of an expression")
        return tree

    def either(self):
        node = self.both()
        while self.peek() == "or":
            self.take("or")
            node = ("or", node, self.both())
        return node

    def both(self):
        node = self.unary()
        while self.peek() == "and":
            self.take("and")
            node = ("and", node, self.unary())
        return node

    def unary(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ConditionError(f"the condition nests deeper than {MAX_NESTING} levels")
        try:
            if self.peek() == "bang":
                self.take("bang")
                return ("not", self.unary())
            if self.peek() == "lparen":
                self.take("lparen")
                node = self.either()
                self.take("rparen")
                return node
            if self.peek() == "matches":
                return ("matches",) + self.take("matches")
            return self.comparison()
        finally:
            self.depth -= 1

    def operand(self):
        if self.peek() == "attribute":
            return ("attribute", self.take("attribute"))
        if self.peek() == "value":
            return ("values", (self.take("value"),))
        self.take("lbrace")
        values = [self.take("value")]
        while self.peek() == "comma":
            self.take("comma")
            values.append(self.take("value"))
        self.take("rbrace")
        return ("values", tuple(values))

    def comparison(self):
        left = self.operand()
        quantifier, _, name = str(self.take("word")).lower().rpartition(":")
        if name not in _OPERATORS or (quantifier and quantifier not in _QUANTIFIERS):
            raise ConditionError(f"unknown condition operator {(quantifier + ':' if quantifier else '') + name!r}")
        right = self.operand()
        kind = _OPERATORS[name][0]
        sides = []
        for side in (left, right):
            if side[0] == "values":
                if not quantifier and len(side[1]) != 1:
                    raise ConditionError("a list of values needs a ForAnyOf…/ForAllOf… operator")
                side = ("values", tuple(_typed(kind, text) for _, text in side[1]))
                if kind == "string" and name.endswith("like"):
                    for pattern in side[1]:
                        _like(pattern, False)
            sides.append(side)
        return ("compare", quantifier, name, sides[0], sides[1])


@lru_cache(maxsize=512)
def _parsed(text: str):
    try:
        return _Parser(text).parse()
    except ConditionError as exc:
        return exc  # cached too: a stored bad condition is not re-parsed on every request


def parse_condition(text: str):
    """The condition's syntax tree; ConditionError when it is not a condition this grammar reads."""
    tree = _parsed(text if isinstance(text, str) else "")
    if isinstance(tree, ConditionError):
        raise tree
    return tree


# -- evaluation -----------------------------------------------------------------------------------------
def _values(side, kind: str, attributes: Mapping[str, object]) -> tuple:
    if side[0] == "values":
        return side[1]
    if side[1] not in attributes:
        raise ConditionError(f"this request has no attribute {side[1]}")
    raw = attributes[side[1]]
    raw = (raw,) if isinstance(raw, str) else tuple(raw)
    return tuple(_typed(kind, str(value)) for value in raw)


def _compare(node, attributes: Mapping[str, object]) -> bool:
    _, quantifier, name, left, right = node
    kind, test = _OPERATORS[name]
    lefts, rights = _values(left, kind, attributes), _values(right, kind, attributes)
    if not quantifier:
        if len(lefts) != 1 or len(rights) != 1:
            raise ConditionError(f"{name} compares one value with one value; use a ForAnyOf…/ForAllOf… operator")
        return test(lefts[0], rights[0])
    outer = any if quantifier.startswith("forany") else all
    inner = any if quantifier.endswith("anyvalues") else all
    return outer(inner(test(a, b) for b in rights) for a in lefts)


def _evaluate(node, action: str, attributes: Mapping[str, object]) -> bool:
    kind = node[0]
    if kind == "or":
        return _evaluate(node[1], action, attributes) or _evaluate(node[2], action, attributes)
    if kind == "and":
        return _evaluate(node[1], action, attributes) and _evaluate(node[2], action, attributes)
    if kind == "not":
        return not _evaluate(node[1], action, attributes)
    if kind == "matches":
        # Key Vault's and ARM's actions have no sub-operations, so SubOperationMatches never holds.
        return node[1] == "actionmatches" and action_matches(node[2], action)
    return _compare(node, attributes)


def condition_holds(condition: str, action: str, attributes: Mapping[str, object]) -> bool:
    """Whether *condition* allows *action* for a request with these *attributes* (see `attribute_key`).

    Raises ConditionError when the condition does not parse or reads an attribute the request lacks.
    """
    return _evaluate(parse_condition(condition), action, {k.lower(): v for k, v in attributes.items()})


def role_assignment_attributes(
    source: str, role_definition_id: str, principal_id: str, principal_type: str | None
) -> dict[str, str]:
    """The attributes of a role assignment write (``Request``) or of the one being deleted (``Resource``)."""
    found = {
        attribute_key(source, f"{ROLE_ASSIGNMENTS}:RoleDefinitionId"): role_definition_id,
        attribute_key(source, f"{ROLE_ASSIGNMENTS}:PrincipalId"): principal_id,
    }
    if principal_type:
        found[attribute_key(source, f"{ROLE_ASSIGNMENTS}:PrincipalType")] = principal_type
    return found
