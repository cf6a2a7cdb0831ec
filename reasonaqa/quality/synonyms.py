"""Canonical wording of short options, so that paraphrased options compare equal.

"thrice" and "three times", "quite loud" and "rather loud", "a motorbike" and "a
motorcycle", "a puppy" and "a young dog": each pair reads the same after ``canonical``,
which maps number words to digits, strips simple inflections ("barks", "barking",
"barked" → "bark") and replaces the words and phrases of a small table of common sound
sources and descriptors by one canonical form each.

The table is strict on purpose: a check rejects an item whose options are equal after this
mapping, so two entries in one group must mean the same thing in any audio question. Words
that only sometimes do are left out: "fall" and "drop" (rain falls; a pitch drops),
"crowd" (a crowd is not a busy place), "many" (graded against "several"), "huge" (graded
against "large").
"""

from __future__ import annotations

# Canonical word → the words and phrases that mean it. Every entry is stemmed on loading,
# so "motorbikes" and "young dogs" match too.
_GROUPS: dict[str, tuple[str, ...]] = {
    # counts and frequency
    "1 time": ("once", "a single time"),
    "2 time": ("twice", "a couple of times"),
    "3 time": ("thrice",),
    "1": ("single",),
    "2": ("a couple", "a pair", "a couple of"),
    "several": ("multiple", "numerous", "a number of"),
    "repeatedly": (
        "repeated",
        "several times",
        "multiple times",
        "numerous times",
        "over and over",
        "again and again",
    ),
    "intermittent": (
        "intermittently",
        "sporadic",
        "sporadically",
        "occasional",
        "occasionally",
        "on and off",
        "off and on",
        "now and then",
        "every now and then",
        "from time to time",
    ),
    "periodic": ("periodically", "at regular intervals", "regularly"),
    "simultaneous": ("simultaneously", "at the same time", "at once"),
    # degree: three levels kept apart, so a graded scale ("loud", "very loud",
    # "extremely loud") stays four distinct options
    "fairly": ("quite", "rather", "pretty", "somewhat", "moderately", "reasonably"),
    "very": ("really",),
    "extremely": ("incredibly", "exceptionally", "tremendously"),
    "slightly": ("a bit", "a little", "a little bit", "mildly"),
    # loudness, pitch, speed, change
    "loud": ("loudly", "noisy", "noisily"),
    "quiet": ("quietly", "soft", "softly", "faint", "faintly", "hushed", "low volume"),
    "high pitch": ("high pitched", "highpitched", "shrill"),
    "low pitch": ("low pitched", "lowpitched", "deep"),
    "fast": ("quick", "quickly", "rapid", "rapidly", "swift", "swiftly", "speedy"),
    "slow": ("slowly", "gradual", "gradually"),
    "sudden": ("suddenly", "abrupt", "abruptly", "all of a sudden"),
    "increase": ("rise", "grow", "swell", "build up", "go up"),
    "decrease": ("decline", "diminish", "lessen", "reduce"),
    "steady": (
        "constant",
        "constantly",
        "continuous",
        "continuously",
        "steadily",
        "stable",
        "unchanging",
        "unchanged",
        "uninterrupted",
        "nonstop",
        "non stop",
    ),
    "stay steady": (
        "stay the same",
        "remain the same",
        "does not change",
        "doesn t change",
        "do not change",
        "don t change",
    ),
    "stay": ("remain",),
    "start": ("begin", "beginning", "outset"),
    "end": ("finish", "ending", "conclusion"),
    # place and distance
    "distant": ("far away", "far off", "faraway", "in the distance", "far"),
    "near": ("nearby", "close by", "up close"),
    "indoor": ("indoors", "inside"),
    "outdoor": ("outdoors", "outside", "in the open air", "open air"),
    # sound sources
    "motorcycle": ("motorbike", "motor bike", "motor cycle"),
    "car": ("automobile",),
    "truck": ("lorry",),
    "airplane": ("aeroplane", "plane", "airliner", "aircraft"),
    "phone": ("telephone",),
    "mobile phone": ("cellphone", "cell phone", "smartphone"),
    "vacuum": ("vacuum cleaner", "hoover"),
    "mower": ("lawn mower", "lawnmower"),
    "puppy": ("young dog", "pup"),
    "kitten": ("young cat",),
    "dog": ("canine", "doggy", "hound"),
    "cat": ("feline", "kitty"),
    "baby": ("infant", "newborn"),
    "child": ("children", "kid", "youngster"),
    "man": ("men", "male", "gentleman", "guy", "male speaker", "male voice"),
    "woman": ("women", "female", "lady", "ladies", "female speaker", "female voice"),
    "person": ("individual", "someone", "somebody"),
    "rooster": ("cockerel",),
    "stream": ("brook", "creek"),
    "sea": ("ocean",),
    "rain": ("rainfall",),
    "horn": ("honk",),
    "applause": ("clapping",),
    # what sources do
    "speak": ("talk", "speech"),
    "shout": ("yell", "holler"),
    "laugh": ("giggle", "chuckle", "laughter"),
    "cry": ("sob", "weep"),
    "bark": ("yap", "woof"),
    "meow": ("mew", "miaow"),
    "chirp": ("tweet", "twitter", "warble"),
    # mood and scene
    "calm": ("peaceful", "tranquil", "serene", "relaxing", "relaxed", "restful"),
    "tense": ("anxious", "nervous", "uneasy", "stressful"),
    "happy": ("joyful", "cheerful", "joyous", "glad"),
    "sad": ("sorrowful", "melancholy", "melancholic", "gloomy", "mournful", "somber", "sombre"),
    "scary": ("frightening", "creepy", "eerie", "spooky", "terrifying"),
    "busy": ("bustling", "hectic"),
    "angry": ("furious", "irate"),
    "big": ("large",),
    "small": ("little",),
}

# Number words, each at the index of its value.
_NUMBERS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)

# Not stemmed: short words, and negations, which must survive for the checks to read them.
_UNSTEMMED = frozenset({"not", "no", "nor", "none", "nothing", "neither", "never", "without"})
_VOWELS = frozenset("aeiouy")


def stem(word: str) -> str:
    """A crude suffix stripper: "barking", "barks", "barked" → "bark"; "cries" → "cry".

    Only consistency matters: two forms of a word must meet, and two different words should
    rarely do. So it strips one suffix, keeps at least three letters with a vowel, undoes
    a doubled final consonant ("running" → "run", but "buzzing" → "buzz") and a silent
    final "e" ("closes", "closed", "close" → "clos").
    """
    if len(word) <= 3 or word in _UNSTEMMED or not word.isalpha():
        return word
    base = _strip_suffix(word)
    if len(base) >= 4 and base[-1] == "e" and base[-2] not in _VOWELS:
        base = base[:-1]
    return word if base in _UNSTEMMED else base  # "notes" must not read as "not"


def _strip_suffix(word: str) -> str:
    if word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix):
            base = word[: -len(suffix)]
            if len(base) < 3 or _VOWELS.isdisjoint(base) or base.endswith("e"):
                return word  # "string", "bring", "speed", "freed"
            if base[-1] == base[-2] and base[-1] not in "lsz":
                return base[:-1]  # "running" → "run"; "rolling", "hissing" keep theirs
            return base
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in text.split())


def _load() -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, ...], tuple[str, ...]]]:
    """Single-word and multi-word tables, keyed by stems; a key in two groups is an error."""
    words: dict[str, tuple[str, ...]] = {stem(w): (str(i),) for i, w in enumerate(_NUMBERS)}
    phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
    for target, variants in _GROUPS.items():
        form = _stems(target)
        for variant in (target, *variants):
            key = _stems(variant)
            previous = words.get(key[0]) if len(key) == 1 else phrases.get(key)
            if previous not in (None, form):
                raise ValueError(f"synonym table: {variant!r} is in two groups")
            if len(key) == 1:
                words[key[0]] = form
            else:
                phrases[key] = form
    return words, phrases


_WORDS, _PHRASES = _load()
_TIME = stem("time")
_LONGEST_PHRASE = max(map(len, _PHRASES))


def canonical(normalized: str) -> tuple[str, ...]:
    """Stems of ``normalized`` (see ``text.normalize``) with table entries replaced.

    Not cached here: the checks call it once per option text and keep the result.
    """
    stems = _stems(normalized)
    out: list[str] = []
    i = 0
    while i < len(stems):
        for length in range(min(_LONGEST_PHRASE, len(stems) - i), 1, -1):
            replacement = _PHRASES.get(stems[i : i + length])
            if replacement is not None:
                out.extend(replacement)
                i += length
                break
        else:
            out.extend(_WORDS.get(stems[i], (stems[i],)))
            i += 1
    # "7 times" answers "how many times" as "seven" does: a count's "time" adds nothing.
    return tuple(w for i, w in enumerate(out) if not (w == _TIME and i and out[i - 1].isdigit()))
