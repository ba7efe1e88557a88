"""Text pieces the detectors compare: sentences, claims, content words, numbers, negations, dates.

Plain regular expressions (no model): a claim is a sentence, or a clause of a sentence that packs
several facts ("…, and …", "…; …", "…, while …"). Numbers are normalised to floats so "1.5 million",
"1,500,000" and "one and a half million"-like forms compare equal, and a rounded number ("about 180
million") is supported by a precise one (181,674,817).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "vs", "No", "Inc", "Co", "Jr", "Sr", "Gen", "Gov", "Sen", "Rep", "Prof", "[A-Z]")
_ABBREV = "".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS)
_SENTENCE_END = re.compile(r"(?<=[.!?])" + _ABBREV + r"[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_CLAUSE_SPLIT = re.compile(
    r"\s*;\s+|,\s+(?:and|but|while|whereas|although|which)\s+"
    r"|\s+(?:and|but)\s+(?=(?:it|he|she|they|the|its|their|this)\b)"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
MIN_CLAUSE_WORDS = 4

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into onto over under about after before
    between during through up down out off than then so such that this these those there here it its it's
    he she they them his her their our we you your i me my is are was were be been being am do does did
    has have had having will would shall should can could may might must also just only very more most
    which who whom whose what when where why how all any both each few other some own same too not no nor
    s t said says say according one while upon within without against again further once per via""".split()
)
NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor without cannot n't isn't wasn't aren't weren't "
    "don't doesn't didn't won't wouldn't can't couldn't shouldn't hasn't haven't hadn't".split()
)
MONTHS = (
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday"
).split()

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {
    "decade": 10,
    "decades": 10,
    "hundred": 100,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
    "k": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "bn": 1e9,
    "b": 1e9,
}
_NUM_WORD = "|".join([*_UNITS, *_TENS, "decades?", "hundred", "thousand", "million", "billion", "trillion", "half", "dozen"])
_ACRONYM = re.compile(r"[A-Z]{2,3}s?")
_TITLES = frozenset("Mr Mrs Ms Miss Dr Prof Sir Dame Mx Sr Jr UNK".split())  # UNK: a corpus placeholder, not a name
_NOT_CONTENT = STOPWORDS | NEGATIONS | set(_UNITS) | set(_TENS) | set(_SCALES) | {"half", "dozen", "hundred"}
_NUMBER = re.compile(
    r"(?P<digits>\d+(?:,\d{3})*(?:\.\d+)?)(?:\s*(?P<scale>thousand|million|billion|trillion|bn|mn|[kmb])\b)?"
    rf"|(?P<words>\b(?:{_NUM_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_NUM_WORD}))*\b)",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    """Sentences of a text (newlines and sentence punctuation end one), stripped, non-empty."""
    out: list[str] = []
    for block in re.split(r"\n\s*", text.strip()):
        out.extend(s.strip() for s in _SENTENCE_END.split(block) if s.strip())
    return out


def claims(text: str) -> list[str]:
    """Sentences, split further into clauses where each side has enough words to state a fact of its own."""
    out: list[str] = []
    for sentence in sentences(text):
        parts = [p.strip(" ,;") for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip(" ,;")]
        if len(parts) > 1 and all(len(p.split()) >= MIN_CLAUSE_WORDS for p in parts):
            out.extend(parts)
        else:
            out.append(sentence)
    return out


_IRREGULAR = dict(
    pair.split(":")
    for pair in """fell:fall fallen:fall rose:rise risen:rise won:win began:begin begun:begin grew:grow grown:grow
    built:build bought:buy sold:sell paid:pay made:make took:take taken:take gave:give given:give found:find left:leave
    lost:lose met:meet ran:run saw:see seen:see spent:spend went:go gone:go drew:draw drawn:draw broke:break
    broken:break held:hold led:lead told:tell brought:bring kept:keep chose:choose chosen:choose wrote:write
    written:write struck:strike hit:hit children:child people:person men:man women:woman""".split()
)


def stem(word: str) -> str:
    """A crude stemmer (suffixes, a few irregular forms), so "repairs"/"repaired"/"repairing" compare equal."""
    w = word.lower().replace("’", "'").strip("'-")
    w = re.sub(r"'s$", "", w)
    w = _IRREGULAR.get(w, w)
    for suffix in ("ment", "ing", "edly", "ed", "ies", "es", "ly", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:-1] if w.endswith(("y", "e")) and len(w) > 4 else w


def content_words(text: str) -> set[str]:
    """Stems of the words that carry content: no stopwords, no numbers (digits or words), no negations."""
    words = (w for w in _WORD.findall(text) if not w[0].isdigit())
    return {stem(w) for w in words if w.lower() not in _NOT_CONTENT and len(w) > 1}


def entities(text: str) -> set[str]:
    """Capitalised words inside a sentence (names, places, organisations), as stems.

    Short acronyms (UK, TV, CEO) are left out: they have too many spellings (U.K., United Kingdom) to check."""
    found = set()
    for sentence in sentences(text):
        for w in _WORD.findall(sentence)[1:]:
            if _is_name(w):
                found.add(stem(w))
    return found


_DOC = r"(?:the |this )?(?:provided |given |above |original )?(?:passage|article|text|document|story|source|excerpt|summary)"
_META = re.compile(
    r"^(?:(?:however|overall|in summary|in short|additionally|also|notably),? |it'?s (?:important|worth) to note that )?"
    rf"(?:(?:here is|here's|below is)\b[^:]*(?::|$)"  # "Here is a concise summary:"
    rf"|based (?:solely |only |entirely )?on (?:the information (?:provided |given )?in )?{_DOC}[^,]*,"
    rf"|{_DOC} (?:\w+ ){{0,3}}?(?:(?:describe|mention|discuss|state|say|report|note|explain|highlight|cover|contain|"
    rf"provide|present|give)s?|is about|talks? about|focus(?:es)? on)(?: (?:that|how))?)\s*",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s*")


def _is_name(word: str) -> bool:
    lowered = word.lower()
    plain = lowered in _NOT_CONTENT or lowered in MONTHS or word in _TITLES or _ACRONYM.fullmatch(word) is not None
    return word[:1].isupper() and len(word) > 1 and not plain


def factual(claim: str) -> str:
    """The claim without a lead-in about the text itself ("Here is a summary:", "The passage describes ...")."""
    if claim.rstrip().endswith(":"):
        return ""  # a heading ("Key points include:"), not a claim
    return _META.sub("", _LIST_MARK.sub("", claim, count=1), count=1).strip()


def small_count(value: float, claim: str) -> bool:
    """A number word up to ten ("two separate pieces"): a summary's own counting more often than a source fact."""
    words = {w for w, v in _UNITS.items() if v == value and 0 < v <= 10}
    as_word = any(re.search(rf"\b{w}\b", claim, re.IGNORECASE) for w in words)
    return as_word and not re.search(rf"(?<![\d.,]){int(value)}(?![\d.,]\d)", claim)


def has_negation(text: str) -> bool:
    return any(w.lower().replace("’", "'") in NEGATIONS for w in re.findall(r"[A-Za-z'’]+", text))


def dates(text: str) -> set[str]:
    """Month and weekday names in the text (their numbers are compared as numbers)."""
    words = (w[:-1] if w.endswith("s") and w[:-1] in MONTHS else w for w in re.findall(r"[a-z]+", text.lower()))
    return {w for w in words if w in MONTHS}


def numbers(text: str) -> list[float]:
    """Every number in the text as a float: digits, scales ("1.5 million", "$2bn") and number words."""
    found: list[float] = []
    for match in _NUMBER.finditer(text):
        if match.group("digits"):
            value = float(match.group("digits").replace(",", ""))
            scale = (match.group("scale") or "").lower()
            found.append(value * _SCALES.get(scale, 1))
        else:
            value_or_none = _words_value(match.group("words").lower())
            if value_or_none is not None:
                found.append(value_or_none)
    return found


@lru_cache(maxsize=4096)
def _words_value(phrase: str) -> float | None:
    """ "twelve thousand" -> 12000; a lone "one" is a pronoun more often than a number, so it is skipped."""
    words = [w for w in re.split(r"[\s-]+", phrase) if w and w != "and"]
    if words in (["one"], ["half"]):
        return None
    total, current = 0.0, 0.0
    for w in words:
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "half":
            current += 0.5
        elif w == "dozen":
            current = max(current, 1) * 12
        elif w in ("decade", "decades"):
            current = max(current, 1) * 10
        elif w == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[w]
            current = 0.0
    return total + current


def number_supported(claimed: float, source: list[float]) -> bool:
    """Equal, or the claim is a rounding of a source number (180 million for 181,674,817; 1.5 million for 1,52x,xxx)."""
    for value in source:
        if math.isclose(claimed, value, rel_tol=1e-9, abs_tol=1e-9):
            return True
        if claimed and value and not _is_year(claimed) and _rounds_to(value, claimed):
            return True
    return False


def _is_year(value: float) -> bool:
    return float(value).is_integer() and 1800 <= value <= 2100


def _rounds_to(precise: float, rounded: float) -> bool:
    """Whether `rounded` is `precise` rounded at the precision its own digits show (two significant digits at least)."""
    digits = f"{rounded:.10g}".replace(".", "").replace("-", "").rstrip("0").lstrip("0")
    magnitude = math.floor(math.log10(abs(rounded)))
    step = 10 ** (magnitude - max(len(digits), 2) + 1)
    return abs(precise - rounded) <= step / 2 + 1e-9 and precise != 0 and abs(precise - rounded) / abs(precise) < 0.05
