"""Find the intended recipient from what a mailroom clerk types or reads off a parcel.

Labels carry names in every shape: misspelt ("Jonh Smiht"), by nickname ("Bob" for Robert),
by initial ("J. Smith"), family name first ("Smith, John"), or not as a name at all but a mail
stop ("B4-217") or an email address. :class:`RecipientIndex` scores each candidate from 0 to 100
through several channels and keeps the best:

* names: the query is split into a given part and a family part at every token boundary, in
  both orders (family first costs a little unless a comma says so). The given part is compared
  with the first name, the preferred name and their nicknames, or, if it is one letter, with
  their initials; the family part with the whole last name, its letters alone, and each of its
  words. Given and family similarities are weighted 45:55, since family names are the more
  distinctive.
* one word alone: the first or last name, the initials ("JS"), the email local part.
* the whole query with everything but letters and digits removed: the mail stop.

Similarity is the optimal-string-alignment ratio, which counts a swap of neighbouring letters as
one slip: the commonest typing error.

Speed: each query is compared once with each distinct name form in the index (in rapidfuzz's C
loop), and candidates then only look their forms up, so 10,000 candidates cost a few hundredths of
a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = ["MIN_SCORE", "NICKNAMES", "Candidate", "Match", "RecipientIndex", "equivalent_names"]

# Below this a suggestion is more likely a coincidence than the person: one slip in a four-letter
# given name and one in the family name still score about 78; unrelated names land under 50.
MIN_SCORE = 65.0

_GIVEN_WEIGHT = 0.45
_FAMILY_WEIGHT = 0.55
_NICKNAME_FACTOR = 0.95  # a nickname is good evidence, the name itself slightly better
_INITIAL_FACTOR = 0.9  # an initial fits everyone who shares it
_REVERSED_FACTOR = 0.97  # "Smith John" is less usual than "John Smith"
_FAMILY_WORD_FACTOR = 0.92  # "Whitfield" for "O'Connell-Whitfield"
_LAST_NAME_ALONE = 0.9
_FIRST_NAME_ALONE = 0.8
_INITIALS_ALONE = 0.72
_FUZZY_KEY_FACTOR = 0.9  # a mail stop or email typed with a slip
_MAX_TOKENS = 6
_CUTOFF = 0.3

# Groups of given names that stand for one another. A name in two groups ("pat", "alex") is
# equivalent to the members of both, but the groups are not merged through it.
NICKNAMES: tuple[tuple[str, ...], ...] = (
    ("abigail", "abby", "abbie"),
    ("albert", "al", "bert"),
    ("alexander", "alex", "alec", "sandy", "xander"),
    ("alexandra", "alex", "lexi", "sandra"),
    ("andrew", "andy", "drew"),
    ("anthony", "tony"),
    ("barbara", "barb", "babs"),
    ("benjamin", "ben", "benny"),
    ("catherine", "katherine", "kathryn", "kate", "katie", "kathy", "cathy", "kat", "kit"),
    ("charles", "charlie", "chuck", "chas"),
    ("christopher", "chris", "topher", "kit"),
    ("christine", "christina", "chris", "tina"),
    ("daniel", "dan", "danny"),
    ("david", "dave", "davy"),
    ("deborah", "debra", "deb", "debbie"),
    ("donald", "don", "donnie"),
    ("dorothy", "dot", "dottie"),
    ("douglas", "doug"),
    ("edward", "ed", "eddie", "ted", "ned"),
    ("eleanor", "ellie", "nell"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "libby"),
    ("frederick", "fred", "freddie"),
    ("gerald", "gerry", "jerry"),
    ("gregory", "greg"),
    ("henry", "harry", "hank"),
    ("jacqueline", "jackie"),
    ("james", "jim", "jimmy", "jamie"),
    ("jennifer", "jen", "jenny"),
    ("john", "jack", "johnny"),
    ("jonathan", "jon", "jonny"),
    ("joseph", "joe", "joey"),
    ("judith", "judy"),
    ("kenneth", "ken", "kenny"),
    ("lawrence", "laurence", "larry"),
    ("margaret", "peggy", "maggie", "meg", "marge", "margie", "greta"),
    ("matthew", "matt"),
    ("michael", "mike", "mick", "mikey"),
    ("nathaniel", "nathan", "nate", "nat"),
    ("nicholas", "nick", "nicky"),
    ("pamela", "pam"),
    ("patricia", "pat", "patty", "trish", "tricia"),
    ("patrick", "pat", "paddy"),
    ("peter", "pete"),
    ("philip", "phillip", "phil"),
    ("raymond", "ray"),
    ("rebecca", "becky", "becca"),
    ("richard", "rich", "rick", "ricky", "dick"),
    ("robert", "rob", "robbie", "bob", "bobby", "bert"),
    ("ronald", "ron", "ronnie"),
    ("samantha", "sam"),
    ("samuel", "sam", "sammy"),
    ("stephen", "steven", "steve", "stevie"),
    ("susan", "sue", "susie", "suzy"),
    ("teresa", "theresa", "terry", "tess"),
    ("theodore", "theo", "ted"),
    ("thomas", "tom", "tommy"),
    ("timothy", "tim", "timmy"),
    ("victoria", "vicky", "tori"),
    ("william", "will", "bill", "billy", "willy", "liam"),
    ("zachary", "zach", "zack"),
)


def _build_equivalents(groups: Iterable[tuple[str, ...]]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for group in groups:
        for name in group:
            found.setdefault(name, set()).update(other for other in group if other != name)
    return {name: frozenset(others) for name, others in found.items()}


_EQUIVALENTS: Mapping[str, frozenset[str]] = _build_equivalents(NICKNAMES)


def equivalent_names(name: str) -> frozenset[str]:
    """The names that may stand for ``name`` (its nicknames, or the names it is short for)."""
    return _EQUIVALENTS.get(_fold(name), frozenset())


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    first_name: str
    last_name: str
    preferred_name: str = ""
    department: str = ""
    mail_stop: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    candidate: Candidate
    score: float


_APOSTROPHES = re.compile(r"['\u2019`]")
# Letters and digits of any script are kept: names are not all written in Latin letters.
_SEPARATORS = re.compile(r"[^\w,]+|_")
_NOT_ALNUM = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """Lower case without accents or apostrophes: "O'Brien" and "Ó Briain" compare as letters."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _APOSTROPHES.sub("", plain)


def _words(text: str) -> list[str]:
    return _NOT_ALNUM.sub(" ", _fold(text)).split()


def _compact(text: str) -> str:
    return _NOT_ALNUM.sub("", _fold(text))


@dataclass(frozen=True, slots=True)
class _Entry:
    candidate: Candidate
    given: tuple[tuple[str, float], ...]  # (form, factor): names and nicknames
    initials: frozenset[str]  # first letters of the given names
    family: str
    family_compact: str
    family_words: tuple[str, ...]
    monograms: frozenset[str]  # "js" for John Smith
    email: str
    email_local: str
    mail_stop: str


def _entry(candidate: Candidate) -> _Entry:
    given: dict[str, float] = {}
    for raw in (candidate.first_name, candidate.preferred_name):
        words = _words(raw)
        if not words:
            continue
        for form in {" ".join(words), words[0]}:
            given[form] = 1.0
            for nickname in equivalent_names(form):
                given.setdefault(nickname, _NICKNAME_FACTOR)
    family_words = tuple(_words(candidate.last_name))
    initials = frozenset(form[0] for form, factor in given.items() if factor == 1.0)
    email = candidate.email.strip().casefold()
    return _Entry(
        candidate=candidate,
        given=tuple(given.items()),
        initials=initials,
        family=" ".join(family_words),
        family_compact="".join(family_words),
        family_words=family_words if len(family_words) > 1 else (),
        monograms=frozenset(i + w[0] for i in initials for w in family_words[:1]),
        email=email,
        email_local=_compact(email.partition("@")[0]),
        mail_stop=_compact(candidate.mail_stop),
    )


class _Similarities:
    """Query strings compared with every distinct form of one kind, each pair once."""

    def __init__(self, forms: list[str]) -> None:
        self._forms = forms
        self._cache: dict[str, dict[str, float]] = {}

    def of(self, query: str) -> dict[str, float]:
        scores = self._cache.get(query)
        if scores is None:
            found = process.extract(
                query,
                self._forms,
                scorer=OSA.normalized_similarity,
                limit=None,
                score_cutoff=_CUTOFF,
            )
            scores = {form: score for form, score, _ in found}
            self._cache[query] = scores
        return scores


class RecipientIndex:
    """Candidates prepared for repeated fuzzy lookups. Build once, query many times."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._entries = tuple(_entry(c) for c in candidates)
        entries = self._entries
        self._given_forms = _distinct(form for e in entries for form, _ in e.given)
        self._family_forms = _distinct(
            form for e in entries for form in (e.family, e.family_compact, *e.family_words)
        )
        self._key_forms = _distinct(form for e in entries for form in (e.email_local, e.mail_stop))

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, query: str, limit: int = 5, min_score: float = MIN_SCORE) -> list[Match]:
        """The best ``limit`` candidates scoring at least ``min_score``, best first.

        Equal scores are ordered by last name, first name and id, so results are stable.
        """
        if limit <= 0:
            raise ValueError(f"limit: must be positive, not {limit}")
        scorer = _QueryScorer(
            query,
            given=_Similarities(self._given_forms),
            family=_Similarities(self._family_forms),
            keys=_Similarities(self._key_forms),
        )
        if scorer.empty:
            return []
        scored = []
        for entry in self._entries:
            score = scorer.score(entry)
            if score >= min_score:
                scored.append((score, entry.candidate))
        scored.sort(key=lambda pair: (-pair[0], *_tie_break(pair[1])))
        return [Match(candidate, round(score, 2)) for score, candidate in scored[:limit]]


def _distinct(forms: Iterable[str]) -> list[str]:
    return sorted({form for form in forms if form})


def _tie_break(candidate: Candidate) -> tuple[str, str, int]:
    return _fold(candidate.last_name), _fold(candidate.first_name), candidate.id


class _QueryScorer:
    """One query, interpreted every way it can be, scored against one entry at a time."""

    def __init__(
        self, query: str, given: _Similarities, family: _Similarities, keys: _Similarities
    ) -> None:
        folded = _fold(query).strip()
        self._whole = _compact(folded)
        self.empty = not self._whole
        # A query with no spaces might be an email address or local part.
        single_word = len(folded.split()) == 1
        self._email = folded if "@" in folded and single_word else ""
        self._local = _compact(folded.partition("@")[0]) if single_word else ""
        self._given, self._family, self._keys = given, family, keys
        self._words = words = _words(folded)[:_MAX_TOKENS]
        # (given words, family words, factor) for every reading of the query as a name.
        self._readings: list[tuple[list[str], list[str], float]] = []
        before, comma, after = _SEPARATORS.sub(" ", folded).partition(",")
        family_first, given_last = before.split()[:_MAX_TOKENS], after.split()[:_MAX_TOKENS]
        if comma and family_first and given_last:
            # "Smith, John": the comma settles the order.
            self._readings.append((given_last, family_first, 1.0))
        else:
            for cut in range(1, len(words)):
                head, tail = words[:cut], words[cut:]
                self._readings.append((head, tail, 1.0))
                self._readings.append((tail, head, _REVERSED_FACTOR))

    def score(self, entry: _Entry) -> float:
        best = self._key_score(entry)
        for given_words, family_words, factor in self._readings:
            given = self._given_score(entry, given_words)
            family = self._family_score(entry, " ".join(family_words))
            best = max(best, factor * (_GIVEN_WEIGHT * given + _FAMILY_WEIGHT * family))
        if self._words:
            # Family names may be several words ("van der Berg"); given names typed alone are
            # taken as one word only, or "John Doe" would suggest every John on file.
            best = max(best, _LAST_NAME_ALONE * self._family_score(entry, " ".join(self._words)))
        if len(self._words) == 1:
            word = self._words[0]
            best = max(
                best,
                _FIRST_NAME_ALONE * self._given_score(entry, [word]),
                _INITIALS_ALONE if word in entry.monograms else 0.0,
            )
        return 100.0 * best

    def _key_score(self, entry: _Entry) -> float:
        best = 0.0
        if entry.mail_stop:
            best = self._exact_or_fuzzy(self._whole, entry.mail_stop)
        if self._email and self._email == entry.email:
            return 1.0
        if self._local and entry.email_local:
            best = max(best, self._exact_or_fuzzy(self._local, entry.email_local))
        return best

    def _exact_or_fuzzy(self, query: str, key: str) -> float:
        if query == key:
            return 1.0
        return _FUZZY_KEY_FACTOR * self._keys.of(query).get(key, 0.0)

    def _given_score(self, entry: _Entry, words: list[str]) -> float:
        if len(words) == 1 and len(words[0]) == 1:
            return _INITIAL_FACTOR if words[0] in entry.initials else 0.0
        whole = self._given.of(" ".join(words))
        first = self._given.of(words[0]) if len(words) > 1 else {}
        best = 0.0
        for form, factor in entry.given:
            # With a middle name or initial, the first word alone is nearly as good.
            similarity = max(whole.get(form, 0.0), _NICKNAME_FACTOR * first.get(form, 0.0))
            best = max(best, factor * similarity)
        return best

    def _family_score(self, entry: _Entry, text: str) -> float:
        if not entry.family:
            return 0.0
        plain = self._family.of(text)
        joined = self._family.of(text.replace(" ", ""))
        best = max(plain.get(entry.family, 0.0), joined.get(entry.family_compact, 0.0))
        for word in entry.family_words:
            best = max(best, _FAMILY_WORD_FACTOR * plain.get(word, 0.0))
        return best
