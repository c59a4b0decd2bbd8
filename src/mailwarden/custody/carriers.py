"""Recognise parcel tracking numbers and the carrier that issued them.

The rules are not written here: they are read from the vendored ``tracking_number_data`` set
(``data/tracking_numbers/couriers/*.json``, MIT, see its SOURCE.md), so that updating the carrier
list is a data change. This module interprets every feature those files use:

* ``regex``: a string, or a list of strings that are concatenated. The files use the
  ``(?<Name>...)`` group syntax of Ruby and JavaScript, rewritten here to Python's
  ``(?P<Name>...)``. The patterns tolerate whitespace between characters; we match them against
  the number with all whitespace removed, which is equivalent and keeps backtracking bounded.
* ``validation.checksum``: the schemes ``mod10``, ``mod7``, ``mod_37_36``, ``luhn``, ``s10`` and
  ``sum_product_with_weightings_and_modulo``, with their parameters. A scheme that is not known
  here makes loading fail, so a data update that needs new code cannot pass unnoticed.
* ``validation.serial_number_format.prepend_if``: text put before the serial number, when it
  matches a pattern, before the check digit is computed.
* ``validation.additional.exists``: named ``additional`` lookups that must find an entry.
* ``additional``: lookups from a named group to a description (``matches`` is an exact value,
  ``matches_regex`` a pattern that must match the whole value).

Tie-break: when several types accept a number, :func:`detect_all` orders them by
(1) whether the type has a check digit that validated, since a check digit is evidence and a
bare pattern is not; (2) the number of characters the pattern fixes literally (a ``1Z`` or ``TBA``
prefix), since a more specific pattern is less likely to match by accident; (3) the order of the
courier files by name and of the types within a file, so that the result is deterministic.
:func:`detect` returns the first of that order.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

__all__ = [
    "MAX_LENGTH",
    "CarrierDataError",
    "Detection",
    "InvalidTrackingNumber",
    "TrackingType",
    "carrier_detect_lines",
    "detect",
    "detect_all",
    "normalise",
    "rule_in_words",
    "tracking_types",
    "validate",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "tracking_numbers" / "couriers"

# The longest format in the data set is 41 characters (DHL e-commerce); anything far beyond that
# is not a tracking number and would only cost regex time.
MAX_LENGTH = 64

_WHITESPACE = re.compile(r"\s+")
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")
_CLASS_ESCAPES = frozenset("sSdDwWbBAZ")
_QUANTIFIER = re.compile(r"\{(\d+)(?:,\d*)?\}")
_SERVICE_LOOKUP = "Service Type"


class CarrierDataError(RuntimeError):
    """The vendored carrier data cannot be interpreted."""


class InvalidTrackingNumber(ValueError):
    """A tracking number that no carrier format accepts."""

    field = "tracking_number"

    def __init__(self, number: str, reason: str) -> None:
        # The reason is read by the clerk at the dock, so it carries no field name.
        super().__init__(reason)
        self.number = number
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Detection:
    number: str
    carrier: str
    carrier_name: str
    type: str
    type_name: str
    valid: bool
    service: str | None
    tracking_url: str | None
    # Every ``additional`` lookup that found an entry, as (lookup name, entry name) pairs,
    # e.g. ("Courier", "Royal Mail Group plc") for an S10 number.
    details: tuple[tuple[str, str], ...] = ()


# --- check-digit schemes -------------------------------------------------------------------------


class _Checksum(Protocol):
    def verify(self, serial: str, check_digit: str) -> bool: ...


def _digits(text: str) -> bool:
    # str.isdigit alone would let superscripts and other scripts' digits through to int().
    return text.isascii() and text.isdigit()


def _digit_value(char: str) -> int:
    if _digits(char):
        return int(char)
    # UPS folds letters onto digits cyclically from A=2 (so I=0, J=1, S=0, Z=7); no other
    # mod10 user in the data set has letters in its serial number.
    return (ord(char) - 3) % 10


@dataclass(frozen=True, slots=True)
class _Mod10:
    modulo: int
    evens_multiplier: int
    odds_multiplier: int
    reverse: bool

    def verify(self, serial: str, check_digit: str) -> bool:
        if not _digits(check_digit):
            return False
        chars = serial[::-1] if self.reverse else serial
        total = 0
        for index, char in enumerate(chars):
            # "evens" and "odds" count positions from zero, as the data set's authors do.
            multiplier = self.odds_multiplier if index % 2 else self.evens_multiplier
            total += _digit_value(char) * multiplier
        return (-total) % self.modulo == int(check_digit)


@dataclass(frozen=True, slots=True)
class _Mod7:
    modulo: int

    def verify(self, serial: str, check_digit: str) -> bool:
        if not (_digits(serial) and _digits(check_digit)):
            return False
        return int(serial) % self.modulo == int(check_digit)


@dataclass(frozen=True, slots=True)
class _Luhn:
    modulo: int

    def verify(self, serial: str, check_digit: str) -> bool:
        digits = serial + check_digit
        if not _digits(digits):
            return False
        total = 0
        # The check digit is the rightmost position and is not doubled; every second one is.
        for index, char in enumerate(reversed(digits)):
            value = int(char)
            if index % 2:
                value *= 2
                if value > 9:
                    value -= 9
            total += value
        return total % self.modulo == 0


@dataclass(frozen=True, slots=True)
class _S10:
    weightings: tuple[int, ...]
    modulo: int

    def verify(self, serial: str, check_digit: str) -> bool:
        if not (_digits(serial) and _digits(check_digit)) or len(serial) != len(self.weightings):
            return False
        total = sum(int(d) * w for d, w in zip(serial, self.weightings, strict=True))
        expected = self.modulo - total % self.modulo
        # UPU S10 maps the two results that are not a single digit: 10 to 0 and 11 to 5.
        if expected == 10:
            expected = 0
        elif expected == 11:
            expected = 5
        return expected == int(check_digit)


@dataclass(frozen=True, slots=True)
class _SumProduct:
    weightings: tuple[int, ...]
    modulo1: int
    modulo2: int

    def verify(self, serial: str, check_digit: str) -> bool:
        if not (_digits(serial) and _digits(check_digit)) or len(serial) != len(self.weightings):
            return False
        total = sum(int(d) * w for d, w in zip(serial, self.weightings, strict=True))
        return total % self.modulo1 % self.modulo2 == int(check_digit)


@dataclass(frozen=True, slots=True)
class _Mod37_36:
    """ISO/IEC 7064 hybrid system MOD 37,36 over an alphanumeric alphabet."""

    modulo: int
    alphabet: str

    def verify(self, serial: str, check_digit: str) -> bool:
        if len(check_digit) != 1 or check_digit not in self.alphabet:
            return False
        m = self.modulo
        product = m
        for char in serial:
            value = self.alphabet.find(char)
            if value < 0:
                return False
            total = (product + value) % m or m
            product = (total * 2) % (m + 1)
        return (m + 1 - product) % m == self.alphabet.index(check_digit)


def _checksum_from(spec: Mapping[str, Any], where: str) -> _Checksum:
    name = spec.get("name")
    try:
        if name == "mod10":
            return _Mod10(
                modulo=int(spec.get("modulo", 10)),
                evens_multiplier=int(spec.get("evens_multiplier", 1)),
                odds_multiplier=int(spec.get("odds_multiplier", 1)),
                reverse=bool(spec.get("reverse", False)),
            )
        if name == "mod7":
            return _Mod7(modulo=int(spec.get("modulo", 7)))
        if name == "luhn":
            return _Luhn(modulo=int(spec.get("modulo", 10)))
        if name == "s10":
            return _S10(
                weightings=tuple(int(w) for w in spec["weightings"]),
                modulo=int(spec.get("modulo", 11)),
            )
        if name == "sum_product_with_weightings_and_modulo":
            return _SumProduct(
                weightings=tuple(int(w) for w in spec["weightings"]),
                modulo1=int(spec["modulo1"]),
                modulo2=int(spec["modulo2"]),
            )
        if name == "mod_37_36":
            alphabet = str(spec["alphabet"])
            modulo = int(spec.get("modulo", 36))
            if len(alphabet) != modulo:
                raise CarrierDataError(f"{where}: mod_37_36 alphabet must have {modulo} characters")
            return _Mod37_36(modulo=modulo, alphabet=alphabet)
    except (KeyError, TypeError, ValueError) as exc:
        raise CarrierDataError(f"{where}: checksum {name!r} has bad parameters: {exc}") from exc
    raise CarrierDataError(f"{where}: checksum scheme {name!r} is not implemented")


# --- tracking-number types -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LookupEntry:
    name: str
    exact: str | None
    pattern: re.Pattern[str] | None

    def accepts(self, value: str) -> bool:
        if self.exact is not None:
            return value == self.exact
        return self.pattern is not None and self.pattern.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class _Lookup:
    name: str
    group: str
    entries: tuple[_LookupEntry, ...]

    def find(self, value: str) -> str | None:
        for entry in self.entries:
            if entry.accepts(value):
                return entry.name
        return None


@dataclass(frozen=True, slots=True)
class _PrependIf:
    pattern: re.Pattern[str]
    content: str


@dataclass(frozen=True, slots=True)
class TrackingType:
    """One tracking-number format of one courier, as the data set defines it."""

    carrier: str
    carrier_name: str
    id: str
    name: str
    pattern: re.Pattern[str]
    checksum: _Checksum | None
    prepend_if: _PrependIf | None
    lookups: tuple[_Lookup, ...]
    required_lookups: tuple[str, ...]
    tracking_url: str | None
    specificity: int
    order: int
    valid_examples: tuple[str, ...]
    invalid_examples: tuple[str, ...]


def _join_regex(raw: str | Sequence[str], where: str) -> re.Pattern[str]:
    if isinstance(raw, str):
        source = raw
    elif isinstance(raw, list) and all(isinstance(part, str) for part in raw):
        source = "".join(raw)
    else:
        raise CarrierDataError(f"{where}: regex must be a string or a list of strings")
    source = _NAMED_GROUP.sub("(?P<", source)
    try:
        return re.compile(source)
    except re.error as exc:
        raise CarrierDataError(f"{where}: regex does not compile: {exc}") from exc


def _specificity(pattern: str) -> int:
    """How many characters every match of ``pattern`` spells literally (``1Z``, ``TBA``, ...).

    A small walk over the regex subset the data set uses: an alternation counts its poorest
    branch, a quantifier multiplies by its minimum, and classes, escapes such as ``\\s`` and
    lookarounds count nothing.
    """
    count, _ = _fixed_in_sequence(pattern, 0)
    return count


def _fixed_in_sequence(pattern: str, index: int) -> tuple[int, int]:
    branches: list[int] = []
    current = 0
    while index < len(pattern) and pattern[index] != ")":
        if pattern[index] == "|":
            branches.append(current)
            current = 0
            index += 1
            continue
        atom, index = _fixed_in_atom(pattern, index)
        times, index = _minimum_repeat(pattern, index)
        current += atom * times
    branches.append(current)
    return min(branches), index


def _fixed_in_atom(pattern: str, index: int) -> tuple[int, int]:
    char = pattern[index]
    if char == "\\":
        escaped = pattern[index + 1 : index + 2]
        # \\s, \\d, \\b and the like are classes or anchors, \\1 a back-reference; anything
        # else, such as \\- or \\., is the character itself.
        fixed = 0 if escaped in _CLASS_ESCAPES or _digits(escaped) else 1
        return fixed, index + 2
    if char == "[":
        end = index + 1
        if pattern.startswith("^", end):
            end += 1
        if pattern.startswith("]", end):
            end += 1
        while pattern[end] != "]":
            end += 2 if pattern[end] == "\\" else 1
        return 0, end + 1
    if char == "(":
        start = index + 1
        counts = True
        if pattern.startswith("?P<", start):
            start = pattern.index(">", start) + 1
        elif pattern.startswith("?:", start):
            start += 2
        elif pattern.startswith("?", start):
            # Lookarounds and inline flags consume nothing, so they fix no character.
            counts = False
            start += 1
            while start < len(pattern) and pattern[start] in "<=!aiLmsux-":
                start += 1
        count, end = _fixed_in_sequence(pattern, start)
        return (count if counts else 0), end + 1
    if char in ".^$":
        return 0, index + 1
    return 1, index + 1


def _minimum_repeat(pattern: str, index: int) -> tuple[int, int]:
    if index >= len(pattern):
        return 1, index
    char = pattern[index]
    if char in "*?":
        times, index = 0, index + 1
    elif char == "+":
        times, index = 1, index + 1
    elif char == "{" and (bounds := _QUANTIFIER.match(pattern, index)):
        times, index = int(bounds.group(1)), bounds.end()
    else:
        return 1, index
    if pattern[index : index + 1] in ("?", "+"):
        index += 1
    return times, index


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _lookup_from(spec: Mapping[str, Any], where: str) -> _Lookup:
    try:
        name = str(spec["name"])
        group = str(spec["regex_group_name"])
        raw_entries = spec["lookup"]
    except KeyError as exc:
        raise CarrierDataError(f"{where}: additional lookup lacks {exc}") from exc
    entries = []
    for raw in raw_entries:
        # S10 names its postal operators under "courier" and DPD its countries under "country".
        label = raw.get("name") or raw.get("courier") or raw.get("country")
        if not label:
            raise CarrierDataError(f"{where}: lookup {name!r} has an entry without a name")
        if "matches" in raw:
            entries.append(_LookupEntry(str(label), str(raw["matches"]).upper(), None))
        elif "matches_regex" in raw:
            entries.append(_LookupEntry(str(label), None, re.compile(str(raw["matches_regex"]))))
        else:
            raise CarrierDataError(f"{where}: lookup {name!r} entry {label!r} matches nothing")
    return _Lookup(name=name, group=group, entries=tuple(entries))


def _type_from(
    courier: Mapping[str, Any], spec: Mapping[str, Any], order: int, where: str
) -> TrackingType:
    name = str(spec.get("name") or "")
    if not name:
        raise CarrierDataError(f"{where}: tracking number type has no name")
    # A few types in the data set carry no id; their name, slugged, is unique within the set.
    type_id = str(spec.get("id") or _slug(name))
    where = f"{where} {type_id}"
    if "regex" not in spec:
        raise CarrierDataError(f"{where}: no regex")
    pattern = _join_regex(spec["regex"], where)
    validation = spec.get("validation") or {}
    checksum = None
    if validation.get("checksum"):
        checksum = _checksum_from(validation["checksum"], where)
        missing = {"SerialNumber", "CheckDigit"} - set(pattern.groupindex)
        if missing:
            raise CarrierDataError(f"{where}: a checksum needs the groups {sorted(missing)}")
    prepend_if = None
    rule = (validation.get("serial_number_format") or {}).get("prepend_if")
    if rule:
        prepend_if = _PrependIf(re.compile(str(rule["matches_regex"])), str(rule["content"]))
    lookups = tuple(_lookup_from(item, where) for item in spec.get("additional") or ())
    for lookup in lookups:
        if lookup.group not in pattern.groupindex:
            raise CarrierDataError(f"{where}: lookup {lookup.name!r} names no regex group")
    required = tuple(str(n) for n in (validation.get("additional") or {}).get("exists") or ())
    unknown = set(required) - {lookup.name for lookup in lookups}
    if unknown:
        raise CarrierDataError(f"{where}: required lookups {sorted(unknown)} are not defined")
    tests = spec.get("test_numbers") or {}
    return TrackingType(
        carrier=str(courier["courier_code"]),
        carrier_name=str(courier["name"]),
        id=type_id,
        name=name,
        pattern=pattern,
        checksum=checksum,
        prepend_if=prepend_if,
        lookups=lookups,
        required_lookups=required,
        tracking_url=spec.get("tracking_url") or None,
        specificity=_specificity(pattern.pattern),
        order=order,
        valid_examples=tuple(tests.get("valid") or ()),
        invalid_examples=tuple(tests.get("invalid") or ()),
    )


def load_types(directory: Path = DATA_DIR) -> tuple[TrackingType, ...]:
    """Read and compile every courier file in ``directory``, in file-name order."""
    types: list[TrackingType] = []
    seen: set[str] = set()
    files = sorted(directory.glob("*.json"))
    if not files:
        raise CarrierDataError(f"{directory}: no courier files")
    for path in files:
        try:
            courier = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CarrierDataError(f"{path.name}: cannot be read: {exc}") from exc
        for spec in courier.get("tracking_numbers") or ():
            tracking_type = _type_from(courier, spec, len(types), path.name)
            if tracking_type.id in seen:
                raise CarrierDataError(f"{path.name}: type id {tracking_type.id!r} is not unique")
            seen.add(tracking_type.id)
            types.append(tracking_type)
    return tuple(types)


_types: tuple[TrackingType, ...] | None = None
_types_lock = threading.Lock()


def tracking_types() -> tuple[TrackingType, ...]:
    """All tracking-number types, compiled on first use and then shared."""
    global _types
    if _types is None:
        with _types_lock:
            if _types is None:
                _types = load_types()
    return _types


# --- matching ------------------------------------------------------------------------------------


def normalise(number: str) -> str:
    """The canonical spelling of a tracking number: no whitespace, upper case."""
    return _WHITESPACE.sub("", number).upper()


def _compact(value: str | None) -> str:
    return _WHITESPACE.sub("", value or "")


@dataclass(frozen=True, slots=True)
class _Outcome:
    tracking_type: TrackingType
    detection: Detection | None
    failure: str | None


def _evaluate(tracking_type: TrackingType, number: str) -> _Outcome | None:
    """None when the pattern does not match; otherwise a detection or why it was refused."""
    match = tracking_type.pattern.fullmatch(number)
    if match is None:
        return None
    groups = match.groupdict()
    if tracking_type.checksum is not None:
        serial = _compact(groups.get("SerialNumber"))
        rule = tracking_type.prepend_if
        if rule is not None and rule.pattern.search(serial):
            serial = rule.content + serial
        if not tracking_type.checksum.verify(serial, _compact(groups.get("CheckDigit"))):
            return _Outcome(
                tracking_type,
                None,
                f"its check digit does not match for {tracking_type.name}: "
                f"{rule_in_words(tracking_type)}, and the last character is computed from "
                "the others; look for a mistyped or misread character",
            )
    found: dict[str, str] = {}
    for lookup in tracking_type.lookups:
        value = _compact(groups.get(lookup.group))
        label = lookup.find(value) if value else None
        if label is not None:
            found[lookup.name] = label
    for lookup in tracking_type.lookups:
        if lookup.name in tracking_type.required_lookups and lookup.name not in found:
            value = _compact(groups.get(lookup.group))
            reason = (
                f"it fits the {tracking_type.name} format, but its {_words(lookup.group)} "
                f"{value!r} names no known {lookup.name.lower()}"
            )
            return _Outcome(tracking_type, None, reason)
    url = tracking_type.tracking_url
    return _Outcome(
        tracking_type,
        Detection(
            number=number,
            carrier=tracking_type.carrier,
            carrier_name=tracking_type.carrier_name,
            type=tracking_type.id,
            type_name=tracking_type.name,
            valid=True,
            service=found.get(_SERVICE_LOOKUP),
            tracking_url=url.replace("%s", quote(number, safe="")) if url else None,
            details=tuple(found.items()),
        ),
        None,
    )


def _rank(tracking_type: TrackingType) -> tuple[int, int, int]:
    return (
        0 if tracking_type.checksum is not None else 1,
        -tracking_type.specificity,
        tracking_type.order,
    )


def _outcomes(number: str) -> list[_Outcome]:
    if not number or len(number) > MAX_LENGTH:
        return []
    outcomes = [_evaluate(t, number) for t in tracking_types()]
    return sorted((o for o in outcomes if o is not None), key=lambda o: _rank(o.tracking_type))


def detect_all(number: str) -> list[Detection]:
    """Every type that accepts ``number``, best first (see the module doc for the order)."""
    return [o.detection for o in _outcomes(normalise(number)) if o.detection is not None]


def detect(number: str) -> Detection | None:
    """The most likely carrier and type for ``number``, or None if no format accepts it."""
    found = detect_all(number)
    return found[0] if found else None


def validate(number: str) -> Detection:
    """Like :func:`detect`, but raise :class:`InvalidTrackingNumber` saying why nothing matched."""
    normalised = normalise(number)
    if not normalised:
        raise InvalidTrackingNumber(normalised, "the tracking number is empty")
    if len(normalised) > MAX_LENGTH:
        raise InvalidTrackingNumber(
            normalised,
            f"it has {len(normalised)} characters, more than any carrier's format",
        )
    outcomes = _outcomes(normalised)
    for outcome in outcomes:
        if outcome.detection is not None:
            return outcome.detection
    if not outcomes:
        raise InvalidTrackingNumber(normalised, _no_format_reason(normalised))
    # The best-ranked format it nearly fits is the one the clerk most likely has in hand.
    raise InvalidTrackingNumber(normalised, outcomes[0].failure or "no carrier format matches")


# --- plain words ---------------------------------------------------------------------------------

_LEADING_LITERAL = re.compile(r"(?:\\s\*)?([A-Za-z0-9])(?![*+?{])")


def _leading_literal(pattern: str) -> str:
    """The characters every match starts with (``1Z`` for UPS), read from the pattern."""
    index = 1 if pattern.startswith("^") else 0
    prefix = ""
    while match := _LEADING_LITERAL.match(pattern, index):
        prefix += match.group(1)
        index = match.end()
    return prefix


def _words(group: str) -> str:
    """A regex group name as words: ``CountryCode`` is "country code"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", group).lower()


def _or_list(values: Sequence[int]) -> str:
    texts = [str(v) for v in values]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"


def rule_in_words(tracking_type: TrackingType) -> str:
    """The format's rule as a clerk reads it: "UPS numbers have 18 characters and start with 1Z"."""
    examples = [normalise(e) for e in tracking_type.valid_examples]
    text = f"{tracking_type.name} numbers"
    if examples:
        lengths = sorted({len(e) for e in examples})
        unit = "digits" if all(_digits(e) for e in examples) else "characters"
        text += f" have {_or_list(lengths)} {unit}"
    prefix = _leading_literal(tracking_type.pattern.pattern)
    if prefix:
        text += f"{' and' if examples else ''} start with {prefix}"
    return text


def _no_format_reason(number: str) -> str:
    near = [
        t
        for t in tracking_types()
        if len(_leading_literal(t.pattern.pattern)) >= 2
        and number.startswith(_leading_literal(t.pattern.pattern))
    ]
    if near:
        best = max(near, key=lambda t: len(_leading_literal(t.pattern.pattern)))
        return (
            f"it matches no carrier's format: {rule_in_words(best)}, and this one has "
            f"{len(number)} characters"
        )
    return "it matches no carrier's format; check that it was scanned or typed in full"


def carrier_detect_lines(lines: Iterable[str]) -> Iterator[dict[str, object]]:
    """One result per non-blank line, for ``mailwarden carrier detect``; an invalid number
    carries the reason, so a clerk can tell a mistyped digit from an unknown format."""
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        found = detect(stripped)
        if found is None:
            yield {
                "number": stripped,
                "valid": False,
                "carrier": None,
                "type": None,
                "reason": _why_invalid(stripped),
            }
        else:
            yield {
                "number": found.number,
                "valid": True,
                "carrier": found.carrier,
                "type": found.type,
            }


def _why_invalid(number: str) -> str:
    try:
        validate(number)
    except InvalidTrackingNumber as exc:
        return exc.reason
    return "no carrier format matches"
