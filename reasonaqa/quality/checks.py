"""Deterministic checks on LLM-written items: each failure is a reason code from ``REASONS``.

``check_mcq`` and ``check_detail`` return every code that fires, in ``REASONS`` order (the
first is the main one); an empty list means the item passes. They target the failure modes
of earlier audio-QA sets (SPEC §5): refusals, caption leaks, questions only sight or world
knowledge can answer, broken or paraphrased options, give-aways and distractors that are
also right. All rules are cheap string rules; none calls a model. README's "Quality checks"
lists every code with an example; ``tests/data/quality_labeled.jsonl`` is the hand-labeled
set that measures them.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from dataclasses import dataclass

from reasonaqa.quality.synonyms import canonical, stem
from reasonaqa.quality.text import normalize, words
from reasonaqa.schemas import DetailItem, McqItem

REASONS: dict[str, str] = {
    "empty": "question, answer or an option has no letters or digits",
    "garbage": "markup, template leftovers, runaway repetition or mostly symbols",
    "non_english": "text in another script or language",
    "refusal": "a refusal or hedge ('cannot be determined', 'it is unclear', 'I'm sorry')",
    "text_leak": "mentions the text source ('caption', 'the summary', 'the given sentences', "
    "'as the notes say')",
    "visual": "the question asks what only sight can tell (colour, clothing, logo, light, shape)",
    "world_knowledge": "the question is answerable without the clip ('which country ... come "
    "from', 'usually made of', 'invented')",
    "meta_option": "an option that refers to other options ('all of the above')",
    "too_short": "question, option or answer shorter than the task's bound (LENGTH_BOUNDS)",
    "too_long": "question, option or answer longer than the task's bound (LENGTH_BOUNDS)",
    "options_count": "an MCQ without exactly four options",
    "options_duplicate": "two options equal after normalizing case, spaces and punctuation",
    "options_paraphrase": "two options equal after number words, inflections and synonyms "
    "('thrice' / 'three times', 'quite loud' / 'rather loud')",
    "answer_not_in_options": "the answer is not exactly one of the options",
    "answer_in_question": "the question contains the answer and no distractor",
    "answer_much_longer": "the answer is much longer than every distractor (a length give-away)",
    "distractor_also_correct": "a distractor's content words, after synonyms, are a subset of "
    "the answer's or the reverse ('a motorbike' / 'a motorcycle'), so both can be right",
    "copies_caption": "the question copies a caption",
}


@dataclass(frozen=True)
class Bounds:
    """Inclusive word-count bounds of one field."""

    low: int
    high: int


LENGTH_BOUNDS: dict[str, dict[str, Bounds]] = {
    "mcq": {"question": Bounds(4, 40), "option": Bounds(1, 20)},
    "detail": {"question": Bounds(4, 40), "answer": Bounds(5, 150)},
}

# Answer much longer: longer than the longest distractor by both this ratio and this many
# characters. Catches "a dog barking loudly in a park" against "cat" / "car" / "rain".
LONGER_RATIO = 1.3
LONGER_MIN_CHARS = 5


class _PhraseRule:
    """Regex alternatives, each listed with literals that every match of it contains.

    Python's ``re`` tries each alternative at each position, a few microseconds per field;
    a substring search for the literals is a hundred times cheaper and rules most texts out,
    so the regex only runs on the few that contain one. Searched in lowercased text (three
    times faster than IGNORECASE). ``tests/quality/test_checks.py`` has Hypothesis write
    texts that match each alternative and checks that they contain one of its literals.
    """

    def __init__(self, alternatives: dict[str, tuple[str, ...]]) -> None:
        self.alternatives = alternatives
        self.pattern = re.compile("|".join(f"(?:{p})" for p in alternatives))
        self.literals = tuple(sorted({word for words in alternatives.values() for word in words}))

    def search(self, lowered: str) -> bool:
        for literal in self.literals:
            if literal in lowered:
                return self.pattern.search(lowered) is not None
        return False


_FIRST_FOUR = operator.itemgetter(slice(4))


def word_keys(tokens: list[str]) -> frozenset[str]:
    """A text's words cut to their first four letters: what ``_WordRule`` looks up."""
    return frozenset(map(_FIRST_FOUR, tokens))


class _WordRule:
    """Regex alternatives, each listed with word keys that every match of it contains.

    For rules with many alternatives (text leaks, and the question rules, which meet a new
    question every time, so no cache helps): a substring search per literal would cost more
    than all the other checks. Instead one set lookup against the field's words, cut once
    per field: a key is a word's first four letters (the whole word when shorter), so
    "colo" stands for colour, colours, coloured. The tests check, as for ``_PhraseRule``,
    that every match has a key.
    """

    def __init__(self, alternatives: dict[str, tuple[str, ...]]) -> None:
        self.alternatives = alternatives
        self.pattern = re.compile("|".join(f"(?:{p})" for p in alternatives))
        self.keys = frozenset(key for keys in alternatives.values() for key in keys)

    def search(self, text: str, keys: frozenset[str]) -> bool:
        """Whether ``text`` matches; lowercased only when one of its ``keys`` is a rule key."""
        return not self.keys.isdisjoint(keys) and self.pattern.search(text.lower()) is not None


_REFUSAL = _PhraseRule(
    {
        r"\bi'?m sorry\b": ("sorry",),
        r"\bi apologi[sz]e\b": ("apologi",),
        r"\bas an ai\b": ("as an ai",),
        r"\bi (?:cannot|can ?not|can't|am unable to|don't know)\b": ("i can", "i am", "i don"),
        r"\b(?:cannot|can ?not|can't) be (?:determined|known|inferred|answered)\b": (
            "not be",
            "can't be",
        ),
        r"\b(?:not possible|impossible|difficult|hard) to (?:determine|tell|know|say|infer)\b": (
            "possible",
            "difficult",
            "hard",
        ),
        r"\b(?:it|this) is (?:unclear|unknown|uncertain)\b": ("unclear", "unknown", "uncertain"),
        r"\b(?:is|are|remains?) (?:unclear|unknown) (?:whether|what|if|who|why|how|which)\b": (
            "unclear",
            "unknown",
        ),
        r"\bnot (?:enough|sufficient) information\b": ("information",),
        r"\binsufficient information\b": ("information",),
        r"\bnot specified\b": ("not specified",),
        r"\bthere is no way to\b": ("no way",),
    }
)

_TEXT_LEAK = _WordRule(
    {
        r"\bcaption(?:s|ed)?\b": ("capt",),
        r"\bmention(?:s|ed|ing)?\b": ("ment",),
        r"\bthe descriptions?\b": ("desc",),
        r"\b(?:as|is|are|was|were) described\b": ("desc",),
        r"\bdescribed (?:in|by|above|here)\b": ("desc",),
        r"\bthe text\b(?! messages?\b)": ("text",),  # a text message alert is a sound
        r"\bthe (?:transcript|prompt|summary|summaries)\b": ("tran", "prom", "summ"),
        r"\bannotat(?:ion|ions|or|ors|ed)\b": ("anno",),
        r"\bmetadata\b": ("meta",),
        r"\bas summari[sz]ed\b": ("summ",),
        r"\b(?:texts?|passages?|sentences?|summary|summaries|descriptions?|annotations?) "
        r"(?:says?|states?|indicates?|suggests?|mentions?|describes?|lists?|reports?)\b": (
            "text",
            "pass",
            "sent",
            "summ",
            "desc",
            "anno",
        ),
        # "notes" alone is music: only notes that say something, or a listener's, leak.
        r"\bnotes? (?:say|says|state|states|mention|mentions|read|reads|report|reports)\b": (
            "note",
        ),
        r"\blisten(?:er|ers|ing)?(?:'s|’s|s'|s’)? notes?\b": ("list",),
        r"\baccording to the (?:text|information|given|provided|description|passage|notes|"
        r"summary|annotations?|sentences?|source|details|data|labels?)\b": ("acco",),
        r"\bthe (?:given|provided) (?:information|text|context|details|sentences?|"
        r"descriptions?|notes|summary|passages?|data|statements?|labels?)\b": ("give", "prov"),
        r"\b(?:information|details|text|context|sentences?|notes|summary|description|data) "
        r"(?:given|provided|above|below)\b": ("give", "prov", "abov", "belo"),
        r"\bthe (?:above|following|source|input|original|reference) (?:texts?|sentences?|"
        r"descriptions?|notes|summary|summaries|passages?)\b": (
            "abov",
            "foll",
            "sour",
            "inpu",
            "orig",
            "refe",
        ),
        r"\bas (?:noted|stated|written|listed)\b": ("note", "stat", "writ", "list"),
        r"\b(?:we are|we're|we were|you are|you're) told\b": ("told",),
    }
)

# Questions only sight can answer. Searched in the question only: an answer may well say a
# tone is "bright" or a bell "bell-shaped". Size and material are left out on purpose: a
# bark tells a big dog from a small one, footsteps tell wood from gravel.
_VISUAL = _WordRule(
    {
        r"\bcolou?r(?:s|ed|ful|ing)?\b": ("colo",),
        # Clothes as such rustle and flap: only clothes someone has on are visual.
        r"\b(?:clothes|clothing|outfits?|costumes?|attire) (?:of|worn by)\b": (
            "clot",
            "outf",
            "cost",
            "atti",
        ),
        r"\b(?:logos?|trademarks?)\b": ("logo", "trad"),
        r"\b(?:what|which) brands?\b|\bbrand (?:name|of)\b": ("bran",),
        r"\b(?:look|looks|looked|looking) like\b": ("look",),
        r"\b(?:physical|visual|outward|his|her|their|its) appearance\b": ("appe",),
        r"\b(?:describes?|describing) the appearance\b": ("appe",),
        r"\b(?:what|which) shapes?\b|\bshaped like\b|\bin the shape of\b": ("shap",),
        # Asked about, not set as a scene ("birds sing on a sunny day" is a caption's premise).
        r"\bhow (?:sunny|cloudy|overcast)\b": ("sunn", "clou", "over"),
        r"\b(?:is|was|are|were) (?:it|the (?:sky|day|weather)) (?:sunny|cloudy|overcast)\b": (
            "sunn",
            "clou",
            "over",
        ),
        r"\b(?:sunlight|sunshine|moonlight|daylight)\b": ("sunl", "suns", "moon", "dayl"),
        r"\b(?:brightly|dimly|well|poorly|badly) lit\b": ("lit",),
        # The light, not the act: "the lighting of a stove" is heard.
        r"\blighting conditions?\b|\b(?:what|how) (?:is|was) the lighting\b|"
        r"\bthe lighting (?:in|of) the (?:room|scene|place|area|street|stage|hall)\b": ("ligh",),
        r"\bhow (?:bright|dark) (?:is|was|are|were) (?:it|the (?:room|sky|day|night|place|"
        r"area|scene|street|light|lights|sun))\b": ("brig", "dark"),
        r"\bvisibl[ey]\b": ("visi",),
        r"\b(?:can|could|is|are|was|were|be) (?:seen|spotted)\b": ("seen", "spot"),
        r"\b(?:you|we|one) (?:can |could )?see\b": ("see",),
        r"\b(?:the|this|that) (?:picture|image|photo|photograph|painting)\b": (
            "pict",
            "imag",
            "phot",
            "pain",
        ),
        r"\bfacial\b|\bon (?:his|her|their) faces?\b": ("faci", "face"),
        r"\bhow tall\b": ("tall",),
        r"\b(?:tattoos?|tattooed|beards?|bearded|hairstyle|haircut|hair colou?r)\b": (
            "tatt",
            "bear",
            "hair",
        ),
        r"\b(?:gestures?|gesturing|nods|nodding|frowns|frowning|winks|winking)\b": (
            "gest",
            "nods",
            "nodd",
            "frow",
            "wink",
        ),
        # What is written, not what is being written on (paper and chalk are heard).
        r"\b(?:what|which [a-z]+) (?:is|are|was|were) (?:written|printed|painted|displayed|"
        r"shown) on\b": ("writ", "prin", "pain", "disp", "show"),
        r"\bsigns? (?:say|says|read|reads)\b": ("sign",),
    }
)
# What someone wears is visual, except what is heard: heels, boots and slippers in the steps,
# keys and bells that jingle, or anything the question says makes a sound.
_WEARING = _WordRule({r"\b(?:wear|wears|wearing|wore|dressed)\b": ("wear", "wore", "dres")})
_HEARD_WORN = frozenset(
    {"shoe", "heel", "boot", "sand", "slip", "foot", "flip", "feet"}
    | {"key", "keys", "bell", "chai", "jing", "jang", "clin", "ratt", "tink", "soun", "nois"}
)

# Questions that name their subject and ask what an encyclopedia knows about it. Narrow on
# purpose: "where does the sound come from" and "what is the floor made of" need the clip.
_WORLD_KNOWLEDGE = _WordRule(
    {
        r"\b(?:country|countries|nation|continent|culture) (?:do|does|did) (?:the |a |an )?"
        r"[a-z]+(?: [a-z]+){0,5} (?:traditionally |originally |first )?"
        r"(?:come from|originate)\b": ("coun", "nati", "cont", "cult"),
        r"\boriginat(?:e|es|ed|ing) (?:in|from) (?:which|what) "
        r"(?:country|nation|continent|culture|century)\b": ("orig",),
        r"\b(?:which|what) (?:country|continent|region|part of the world) (?:is|are|was|were) "
        r"(?:[a-z,']+ ){1,10}(?:native|indigenous|endemic) to\b": ("nati", "indi", "ende"),
        r"\b(?:usually|typically|normally|commonly|traditionally|generally|mostly|often) "
        r"(?:made|built|constructed|manufactured|cast) (?:of|from|out of|with|in)\b": (
            "made",
            "buil",
            "cons",
            "manu",
            "cast",
        ),
        r"\b(?:invent(?:ed|or|ors|ion)|patented)\b": ("inve", "pate"),
        r"\bnamed (?:after|for)\b": ("name",),
        r"\b(?:which|what) (?:century|decade)\b": ("cent", "deca"),
        r"\bin (?:which|what) year\b": ("year",),
        r"\b(?:scientific|latin|botanical|binomial) names?\b": ("scie", "lati", "bota", "bino"),
        r"\bcapital (?:city )?of\b": ("capi",),
        r"\b(?:lifespan|life span|life expectancy)\b": ("life",),
        r"\bhow long (?:do|does|can) (?:[a-z]+ ){1,8}(?:usually |typically |normally )?live\?": (
            "live",
        ),
        r"\b(?:usually|typically|normally|mainly|mostly|generally) "
        r"(?:eat|eats|feed on|feeds on)\b": ("eat", "eats", "feed"),
        r"\b(?:boiling|melting|freezing) point\b|\bspeed of (?:sound|light)\b": ("poin", "spee"),
        r"\boriginally (?:used|designed|invented|built|made|developed|intended|meant)\b": ("orig",),
        r"\bhistorically\b|\bhistory of\b": ("hist",),
        r"\bhow many [a-z]+ (?:does|do) (?:a|an|the) (?:[a-z]+ ){1,6}"
        r"(?:usually|typically|normally|generally|traditionally) have\b": (
            "usua",
            "typi",
            "norm",
            "gene",
            "trad",
        ),
        r"\bnational (?:instrument|animal|bird|flower|dish|sport)\b|\bofficial language\b": (
            "nati",
            "offi",
        ),
    }
)

_META_OPTION = _PhraseRule(
    {
        r"\b(?:all|none|both|neither) of (?:the above|these|them|the options)\b": (" of ",),
        r"\b(?:options?|answers?) [abcd]\b": ("option", "answer"),
        r"\b(?:both|either) [abcd] (?:and|or) [abcd]\b": ("both", "either"),
    }
)

# Chat-template or JSON leftovers, escaped newlines, tags: each contains one of the literals.
_MARKUP = re.compile(r"<\|.*?\|>|\{\{|\}\}|\[/?INST\]|```|</?s>|\{\s*\"|\\n|<[a-z]+>")
_MARKUP_LITERALS = ("<", "{", "}", "[", "```", "\\n")
# One character six times over ("aaaaaa", "!!!!!!"); spelled out, which ``re`` runs faster.
_CHARACTER_RUN = re.compile(r"(\S)\1\1\1\1\1")
_NOT_ALNUM = re.compile(r"[\W_]+")
# ASCII bytes that ``[\W_]`` matches: deleting them counts an ASCII text's letters and digits.
_NOT_ALNUM_ASCII = bytes(b for b in range(128) if not chr(b).isalnum()) + bytes(range(128, 256))
# Rules that read the question only.
_QUESTION_RULES = {
    "visual": _VISUAL,
    "world_knowledge": _WORLD_KNOWLEDGE,
}


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words: English texts use the first set; Spanish, French, German and Italian
# ones the second (words that are also common English words are left out of it).
_ENGLISH_FUNCTION_WORDS = _word_set(
    "a an the is are was were be been what which who whom whose how why where when does do "
    "did of in on at to from with and or but if than then there this that these those it "
    "its you your can could would should will might may has have had heard hear sound "
    "sounds"
)
_FOREIGN_FUNCTION_WORDS = _word_set(
    "el la los las del que y en una un es por para con se lo le les des du est une et qui "
    "dans sur au aux der das und ist nicht ein eine mit auf von zu dem il di che per sono "
    "gli della qué cómo dónde cuál où quel quelle wie wo welche"
)


# Words that do not change what an option claims; negations do, so they are not here.
_FILLER_WORDS = _word_set(
    "a an the some of is are being be by from with in on at to sound sounds noise "
    "noises audio clip heard can"
)
_NEGATIONS = _word_set("not no without never none nothing neither nor absent silent")
# Option comparison also drops "it" ("it barks" / "barking") and possessive "s" ("a man's");
# it compares stems, so the fillers are stemmed too.
_CANONICAL_FILLERS = frozenset(map(stem, _FILLER_WORDS | _word_set("it s there")))


def check_mcq(item: McqItem, captions: list[str]) -> list[str]:
    """Reason codes for a multiple-choice item; empty when it passes."""
    options = item.options
    fields = [_field(text) for text in (item.question, item.answer, *options)]
    question, option_fields = fields[0], fields[2:]
    found = _text_codes(fields)
    found |= _question_codes(question)
    found |= _length_codes(LENGTH_BOUNDS["mcq"]["question"], [question])
    found |= _length_codes(LENGTH_BOUNDS["mcq"]["option"], option_fields)
    if _META_OPTION.search("\n".join(options).lower()):
        found.add("meta_option")
    found |= _option_codes(question, fields[1], option_fields)
    if _copies_caption(question.tokens, captions):
        found.add("copies_caption")
    return [code for code in REASONS if code in found]


def check_detail(item: DetailItem, captions: list[str]) -> list[str]:
    """Reason codes for an open question with a detailed answer; empty when it passes."""
    question, answer = _field(item.question), _field(item.answer)
    found = _text_codes([question, answer])
    found |= _question_codes(question)
    found |= _length_codes(LENGTH_BOUNDS["detail"]["question"], [question])
    found |= _length_codes(LENGTH_BOUNDS["detail"]["answer"], [answer])
    if answer.content and _contains(question, answer):
        found.add("answer_in_question")
    if _copies_caption(question.tokens, captions):
        found.add("copies_caption")
    return [code for code in REASONS if code in found]


class _Field:
    """One text field, normalized and split once, with the codes of the per-field rules."""

    __slots__ = ("_meaning", "codes", "content", "keys", "normalized", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.normalized = normalize(text)
        self.tokens = self.normalized.split()
        self.content = [w for w in self.tokens if w not in _FILLER_WORDS]
        self.keys = word_keys(self.tokens)
        self.codes = _field_codes(self)
        self._meaning: tuple[str, ...] | None = None

    def meaning(self) -> tuple[str, ...]:
        """Canonical content words (``synonyms.canonical`` less fillers); options only."""
        if self._meaning is None:
            canonical_words = canonical(self.normalized)
            self._meaning = tuple(w for w in canonical_words if w not in _CANONICAL_FILLERS)
        return self._meaning


# Options repeat across items ("a dog barking"), so a field is analysed once per text.
@functools.lru_cache(maxsize=1 << 14)
def _field(text: str) -> _Field:
    return _Field(text)


# --- rules over any text ------------------------------------------------------------------


def _text_codes(fields: list[_Field]) -> set[str]:
    found: set[str] = set()
    for field in fields:
        found |= field.codes
    # Markup such as '{\n"' may span two fields: searched in all of them joined.
    if _is_markup("\n".join(f.text for f in fields)):
        found.add("garbage")
    return found


def _question_codes(question: _Field) -> set[str]:
    """Codes of the rules that read the question only."""
    text, keys = question.text, question.keys
    found = {code for code, rule in _QUESTION_RULES.items() if rule.search(text, keys)}
    if _HEARD_WORN.isdisjoint(keys) and _WEARING.search(text, keys):
        found.add("visual")
    return found


def _field_codes(field: _Field) -> frozenset[str]:
    """Codes of the rules that read one field at a time (no match spans a line break)."""
    lowered = field.text.lower()
    found: set[str] = set()
    if _REFUSAL.search(lowered):
        found.add("refusal")
    if _TEXT_LEAK.search(field.text, field.keys):
        found.add("text_leak")
    if _CHARACTER_RUN.search(field.text):
        found.add("garbage")
    if not field.tokens:
        found.add("empty")
        return frozenset(found)
    distinct = set(field.tokens)
    if _is_garbage(field, distinct):
        found.add("garbage")
    if _is_non_english(field, distinct):
        found.add("non_english")
    return frozenset(found)


def _is_markup(text: str) -> bool:
    return any(literal in text for literal in _MARKUP_LITERALS) and bool(_MARKUP.search(text))


def _alnum_count(text: str) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(None, _NOT_ALNUM_ASCII))
    return len(_NOT_ALNUM.sub("", text))


def _is_garbage(field: _Field, distinct: set[str]) -> bool:
    """Shape rules of one field (markup and character runs are regex rules, checked apart)."""
    tokens, text = field.tokens, field.text
    if _alnum_count(text) / len("".join(text.split())) < 0.6:
        return True  # mostly symbols
    # A phrase said over and over: "motorboat engine. motorboat engine. motorboat engine."
    if len(tokens) >= 8 and len(distinct) / len(tokens) < 0.4:
        return True
    if len(field.normalized) > 30 and max(map(len, tokens)) > 30:
        return True  # a "word" no language has
    return len(distinct) < len(tokens) and _longest_run(tokens) >= 4


def _longest_run(tokens: list[str]) -> int:
    """Length of the longest run of one repeated word ("dog dog dog dog")."""
    longest = run = 0
    previous = None
    for token in tokens:  # a plain loop: this runs on every field of every item
        run = run + 1 if token == previous else 1
        longest = max(longest, run)
        previous = token
    return longest


def _is_non_english(field: _Field, distinct: set[str]) -> bool:
    text = field.text
    if not text.isascii():
        letters = [c for c in text if c.isalpha()]
        other_script = sum(not unicodedata.name(c, "").startswith("LATIN") for c in letters)
        if letters and other_script / len(letters) > 0.2:
            return True
    if distinct.isdisjoint(_FOREIGN_FUNCTION_WORDS):
        return False  # the common case: no foreign function word at all
    tokens = field.tokens
    foreign = sum(map(_FOREIGN_FUNCTION_WORDS.__contains__, tokens))
    english = sum(map(_ENGLISH_FUNCTION_WORDS.__contains__, tokens))
    # Headline-style English ("Quiet ambiance without any machinery") has few function
    # words of either kind, so only a clear foreign majority counts.
    return foreign >= 2 and foreign > english


def _length_codes(bounds: Bounds, fields: list[_Field]) -> set[str]:
    found: set[str] = set()
    for field in fields:
        count = len(field.tokens)
        if count < bounds.low:
            found.add("too_short")
        elif count > bounds.high:
            found.add("too_long")
    return found


# --- rules over MCQ options ---------------------------------------------------------------


def _option_codes(question: _Field, answer: _Field, options: list[_Field]) -> set[str]:
    found: set[str] = set()
    if len(options) != 4:
        found.add("options_count")
    normalized = [o.normalized for o in options]
    if len(set(normalized)) != len(normalized):
        found.add("options_duplicate")
        return found
    meanings = [o.meaning() for o in options]
    stated = [m for m in meanings if m]
    if len(set(stated)) != len(stated):
        found.add("options_paraphrase")
    hits = [i for i, n in enumerate(normalized) if n == answer.normalized]
    if len(hits) != 1:
        found.add("answer_not_in_options")
        return found
    hit = hits[0]
    correct = options[hit]
    distractors = options[:hit] + options[hit + 1 :]
    if _gives_answer_away(question, correct, distractors):
        found.add("answer_in_question")
    if _much_longer(correct.text, [d.text for d in distractors]):
        found.add("answer_much_longer")
    if any(_also_correct(meanings[hit], m) for m in meanings[:hit] + meanings[hit + 1 :]):
        found.add("distractor_also_correct")
    return found


def _contains(haystack: _Field, needle: _Field) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as whole words, after normalizing both."""
    return bool(needle.normalized) and f" {needle.normalized} " in f" {haystack.normalized} "


def _gives_answer_away(question: _Field, answer: _Field, distractors: list[_Field]) -> bool:
    if not answer.content or not _contains(question, answer):
        return False
    # "How fast is the drumming?" asks for a degree; "fast" answers it without a give-away.
    if f"how {answer.normalized} " in f"{question.normalized} ":
        return False
    # "Is it a dog or a cat?" names several options: that is a choice, not a give-away.
    return not any(_contains(question, d) for d in distractors)


def _much_longer(answer: str, distractors: list[str]) -> bool:
    longest = max(len(d.strip()) for d in distractors)
    length = len(answer.strip())
    return length > longest * LONGER_RATIO and length - longest >= LONGER_MIN_CHARS


def _also_correct(a_words: tuple[str, ...], d_words: tuple[str, ...]) -> bool:
    """Both can be right when one option's canonical words contain the other's.

    "dog" against "a barking dog", "birds" against "birds and wind", "a motorbike" against
    "a motorcycle" (the same words after synonyms): choosing either is defensible. An extra
    negation ("not increasing" against "increasing") makes them opposites, as does an extra
    count ("a dog" against "two dogs"); the same words in another order ("dog then car"
    against "car then dog") are a different claim. None of these fires.
    """
    a_set, d_set = set(a_words), set(d_words)
    if not a_set or not d_set:
        return False
    if a_set == d_set:
        return a_words == d_words
    if not (a_set < d_set or d_set < a_set):
        return False
    extra = a_set ^ d_set
    # A count is a claim too: "an hour" is not right when "two hours" is.
    return not extra & _NEGATIONS and not any(word.isdigit() for word in extra)


# --- rules against the captions -----------------------------------------------------------

CAPTION_TRIGRAM_SHARE = 0.6


def _copies_caption(question_tokens: list[str], captions: list[str]) -> bool:
    """The question quotes a caption: the caption's word trigrams mostly reappear in it."""
    question_trigrams = _trigrams(question_tokens)
    for caption in captions:
        caption_trigrams = _caption_trigrams(caption)
        if len(caption_trigrams) < 2:
            continue
        shared = len(caption_trigrams & question_trigrams) / len(caption_trigrams)
        if shared >= CAPTION_TRIGRAM_SHARE:
            return True
    return False


# Every item of a clip is checked against the same captions.
@functools.lru_cache(maxsize=1 << 12)
def _caption_trigrams(caption: str) -> frozenset[tuple[str, str, str]]:
    return frozenset(_trigrams(words(caption)))


def _trigrams(tokens: list[str]) -> set[tuple[str, str, str]]:
    return set(zip(tokens, tokens[1:], tokens[2:], strict=False))
