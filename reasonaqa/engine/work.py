"""Work items: one per (clip, caption, task, sample), with a deterministic id, focus and seed;
and work groups: the items one generation request serves.

A clip with five captions and ``per_caption=N`` gives 5·N items per task. Focus areas rotate
over the items of a clip so that every clip is asked about all six areas. With
``per_request=K`` the samples of a (clip, caption, task) are served K consecutive ones per
request (the last request of a caption may serve fewer): consecutive samples have
consecutive focus areas, so the K questions of a request each get their own area. A record
id names the sample, not the request, so it means the same for every K. Record ids hash the
clip's identity (``sources.identity``: Clotho split folder + file name, AudioCaps YouTube id +
start time), so two Clotho recordings that share a file name never share a record id.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from reasonaqa.config import GenerateConfig
from reasonaqa.schemas import FOCUS_AREAS, Clip
from reasonaqa.sources.identity import clip_identity

FOCUS_DESCRIPTIONS: dict[str, str] = {
    "sound_events": "the sound events: what happens in the clip and in which order",
    "sources": "the sound sources: which objects, animals, people or machines make the sounds",
    "scene": "the acoustic scene: where the recording was made and what the surroundings are like",
    "signal": "signal properties: loudness, pitch, duration, rhythm, distance or timing",
    "semantics": "semantics: what is happening and why, what the sounds mean together",
    "emotion": "listener emotion: the mood of the clip and how it would make a listener feel",
}
TASK_FOCUS_OFFSET = {"mcq": 0, "detail": 3}
SOURCE_NAMES = {
    ("audiocaps", "mcq"): "AudioCaps-MCQ",
    ("audiocaps", "detail"): "AudioCaps-Detail",
    ("clotho", "mcq"): "Clotho-MCQ",
    ("clotho", "detail"): "Clotho-Detail",
}


@dataclass(slots=True)  # one per request: slots make it cheap to build
class WorkItem:
    record_id: str
    clip: Clip
    caption_index: int
    sample_index: int
    task: str
    template_id: str
    focus: str
    seed: int

    @property
    def caption(self) -> str:
        return self.clip.captions[self.caption_index]

    @property
    def clip_key(self) -> str:
        """The clip's identity: duplicates are removed among the questions of one clip."""
        return clip_identity(self.clip)

    @property
    def source(self) -> str:
        return SOURCE_NAMES[(self.clip.dataset, self.task)]


@dataclass(slots=True)
class WorkGroup:
    """The items one generation request serves, and those of them still to be done.

    The request is built from all of ``items`` (so it is the same request, hence the same
    cache key, on every resume); only the ``pending`` ones (not yet committed) become records.
    """

    items: list[WorkItem]
    pending: list[WorkItem]

    @property
    def first(self) -> WorkItem:
        """The item whose seed and caption the request uses."""
        return self.items[0]


def make_record_id(clip: str, caption_index: int, template_id: str, sample: int) -> str:
    """The id of one work item; ``clip`` is the clip's identity key (``clip_identity``).

    Changing this formula changes every record id: bump ``FINGERPRINT_VERSION`` with it.
    """
    key = f"{clip}\x1f{caption_index}\x1f{template_id}\x1f{sample}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def derive_seed(run_seed: int, *parts: str) -> int:
    """A 31-bit seed from the run seed and a record id (plus a pass name for second passes)."""
    key = "\x1f".join([str(run_seed), *parts])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


def template_id_for(task: str, variant: str) -> str:
    return f"{task}_{variant}"


def iter_work(
    config: GenerateConfig, clips: Iterable[Clip], reseeds: Mapping[str, int] | None = None
) -> Iterator[WorkItem]:
    """Every work item in manifest order; ``reseeds`` (record id -> generation, from
    ``retry-failed --reseed``) gives those items a seed of their own generation."""
    items = _all_items(config, clips, reseeds or {})
    return itertools.islice(items, config.limit) if config.limit else items


def item_seed(run_seed: int, record_id: str, generation: int = 0) -> int:
    """An item's seed; a reseeded item (generation > 0) draws from another stream, keeping
    its record id, so it still lands exactly once."""
    if generation:
        return derive_seed(run_seed, record_id, f"reseed-{generation}")
    return derive_seed(run_seed, record_id)


def _all_items(
    config: GenerateConfig, clips: Iterable[Clip], reseeds: Mapping[str, int]
) -> Iterator[WorkItem]:
    k = config.per_caption
    for clip in clips:
        identity = clip_identity(clip)
        for task in config.tasks:
            template_id = template_id_for(task, config.variant)
            for caption_index in range(len(clip.captions)):
                for sample in range(k):
                    rid = make_record_id(identity, caption_index, template_id, sample)
                    turn = caption_index * k + sample + TASK_FOCUS_OFFSET[task]
                    yield WorkItem(
                        record_id=rid,
                        clip=clip,
                        caption_index=caption_index,
                        sample_index=sample,
                        task=task,
                        template_id=template_id,
                        focus=FOCUS_AREAS[turn % len(FOCUS_AREAS)],
                        seed=item_seed(config.seed, rid, reseeds.get(rid, 0)),
                    )


def iter_groups(
    config: GenerateConfig, clips: Iterable[Clip], reseeds: Mapping[str, int] | None = None
) -> Iterator[WorkGroup]:
    """The work items (after ``--limit``) cut into request groups, every item pending."""
    k = config.per_request

    def request_of(item: WorkItem) -> tuple[int, str, int, int]:
        # The clip object, not its key: a manifest that repeats a clip gets no merged groups.
        return (id(item.clip), item.task, item.caption_index, item.sample_index // k)

    for _, group in itertools.groupby(iter_work(config, clips, reseeds), key=request_of):
        items = list(group)
        yield WorkGroup(items, items)


def count_work(config: GenerateConfig, clips: Iterable[Clip]) -> int:
    per_caption = config.per_caption * len(config.tasks)
    total = sum(len(clip.captions) * per_caption for clip in clips)
    return min(total, config.limit) if config.limit else total
