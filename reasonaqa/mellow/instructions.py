"""The instructions caption and difference rows train on, and the fixed ones they are scored on.

The released rows carry trigger inputs (``caption first audio``, ``explain the difference in
detail``, ...) that the trainer rewrites into a natural instruction. The authors draw from
about 100 paraphrases per trigger; these lists are ours, of the same size, built as every
pairing of a phrasing with a way of naming the audio (10 x 10 per trigger), so each list is
easy to read, to extend, and has no duplicates. Evaluation uses one fixed instruction per
trigger, so scores do not depend on a random draw.
"""

from __future__ import annotations

from itertools import product

CAPTION_FIRST_TRIGGER = "caption first audio"
CAPTION_SECOND_TRIGGER = "caption second audio"
CAPTION_BOTH_TRIGGER = "caption both audios"
WORDS_TRIGGER = "explain the difference in few words"
SENTENCE_TRIGGER = "explain the difference in a sentence"
DETAIL_TRIGGER = "explain the difference in detail"
DIFFERENCE_TRIGGERS = (WORDS_TRIGGER, SENTENCE_TRIGGER, DETAIL_TRIGGER)

_ONE_AUDIO = (
    "Describe {0}.",
    "Caption {0}.",
    "Write a caption for {0}.",
    "What can be heard in {0}?",
    "What do you hear in {0}?",
    "Give a one-sentence description of {0}.",
    "Tell me what happens in {0}.",
    "Which sounds are present in {0}?",
    "Summarize the content of {0}.",
    "Provide a short caption of {0}.",
)
_FIRST = (
    "the first audio",
    "audio 1",
    "audio one",
    "the first clip",
    "clip 1",
    "the first recording",
    "recording 1",
    "the first sound clip",
    "the first audio file",
    "the audio that comes first",
)
_SECOND = (
    "the second audio",
    "audio 2",
    "audio two",
    "the second clip",
    "clip 2",
    "the second recording",
    "recording 2",
    "the second sound clip",
    "the second audio file",
    "the audio that comes second",
)
_BOTH = (
    "both audios",
    "the two audios",
    "audio 1 and audio 2",
    "each of the two clips",
    "both recordings",
    "the two recordings",
    "both clips",
    "each audio",
    "the first and the second audio",
    "the pair of audios",
)
_PAIR = (
    "the two audios",
    "audio 1 and audio 2",
    "the two clips",
    "the two recordings",
    "the first and the second audio",
    "these two audios",
    "the two sound clips",
    "clip 1 and clip 2",
    "the pair of audios",
    "the two audio files",
)
_IN_WORDS = (
    "In a few words, how do {0} differ?",
    "Briefly, what sets {0} apart?",
    "Name the difference between {0} in a few words.",
    "Sum up how {0} differ using only a few words.",
    "Give a short phrase for the difference between {0}.",
    "In a couple of words, what distinguishes {0}?",
    "Using few words, contrast {0}.",
    "Tell me in a few words how {0} are different.",
    "What differs between {0}? Answer with a few words.",
    "State the main difference between {0} in few words.",
)
_IN_SENTENCE = (
    "In one sentence, explain how {0} differ.",
    "Describe the difference between {0} in a sentence.",
    "Write a single sentence on how {0} are different.",
    "How do {0} differ? Answer in one sentence.",
    "Explain in a sentence what distinguishes {0}.",
    "Use one sentence to contrast {0}.",
    "What is the difference between {0}? Reply with one sentence.",
    "Summarize in a sentence how {0} differ from each other.",
    "Give a one-sentence comparison of {0}.",
    "Tell me, in a sentence, what separates {0}.",
)
_IN_DETAIL = (
    "Explain in detail how {0} differ.",
    "Compare {0} in detail.",
    "Describe thoroughly the differences between {0}.",
    "Give a detailed account of how {0} are different.",
    "What are all the ways in which {0} differ? Explain in detail.",
    "Write a detailed comparison of {0}.",
    "Analyse the differences between {0} in depth.",
    "Discuss at length what distinguishes {0}.",
    "Elaborate on the differences between {0}.",
    "Contrast {0} and explain every difference you hear.",
)


def _pairings(phrasings: tuple[str, ...], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(phrasing.format(name) for phrasing, name in product(phrasings, names))


PARAPHRASES: dict[str, tuple[str, ...]] = {
    CAPTION_FIRST_TRIGGER: _pairings(_ONE_AUDIO, _FIRST),
    CAPTION_SECOND_TRIGGER: _pairings(_ONE_AUDIO, _SECOND),
    CAPTION_BOTH_TRIGGER: _pairings(_ONE_AUDIO, _BOTH),
    WORDS_TRIGGER: _pairings(_IN_WORDS, _PAIR),
    SENTENCE_TRIGGER: _pairings(_IN_SENTENCE, _PAIR),
    DETAIL_TRIGGER: _pairings(_IN_DETAIL, _PAIR),
}

# Evaluation: one instruction per trigger, as the authors score with fixed prompts.
EVALUATION_PROMPTS: dict[str, str] = {
    CAPTION_FIRST_TRIGGER: "Caption the audio.",
    CAPTION_SECOND_TRIGGER: "Caption the second audio.",
    CAPTION_BOTH_TRIGGER: "Caption both audios.",
    WORDS_TRIGGER: "Explain the difference between the two audios in a few words.",
    SENTENCE_TRIGGER: "Explain the difference between the two audios in a sentence.",
    DETAIL_TRIGGER: "Explain the difference between the two audios in detail.",
}
