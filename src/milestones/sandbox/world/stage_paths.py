"""How a world's deals moved through their pipeline: one entry time per stage passed.

A real deal opens in the pipeline's first stage and moves on over weeks: each stage it
passed keeps its entry date (HubSpot ``hs_v2_date_entered_<stage>``, Salesforce
OpportunityHistory rows). A closed deal passed some of the open stages before its close
(a lost one rarely got far), an open deal walked up to its current stage. A few deals
skip the walk as real ones do: created already won (a self-serve order logged after the
fact), or moved straight to their current stage.

Drawn from a random stream of its own, so the rest of the world is the same with or
without stage paths.
"""

from __future__ import annotations

import random

from milestones.sandbox.world.records import Pipeline

DAY = 86_400_000
STEP_MEAN_DAYS = 12  # mean time in an open stage before the next
CREATED_WON_SHARE = 0.05  # won deals logged already won
LOST_REACH = 2  # open stages a lost deal passes at most


def walk_stages(
    rng: random.Random, pipeline: Pipeline, final: str, created: int, closed: int | None, now: int
) -> dict[str, int]:
    """Stage id -> epoch ms entered, for a deal created at ``created`` now in ``final``.

    ``closed``: when a closed deal closed (its final entry); open deals reach their stage
    a few weeks after creation, never after ``now``.
    """
    stage_ids = [s.id for s in pipeline.stages if not s.is_closed]
    target = next(s for s in pipeline.stages if s.id == final)
    if target.is_closed:
        end = closed if closed is not None else created
        if target.is_won and rng.random() < CREATED_WON_SHARE:
            return {final: end}  # the caller dates its creation to the close
        passed = stage_ids if target.is_won else stage_ids[: rng.randint(1, LOST_REACH)]
        path = [s for s in passed if rng.random() < 0.8 or s == passed[0]]
        times = sorted(created + int(rng.random() * (end - created)) for _ in path[1:])
        entered = dict(zip(path, [created, *times], strict=True))
        entered[final] = end
        return entered
    path = stage_ids[: stage_ids.index(final) + 1]
    entered, at = {}, created
    for n, stage in enumerate(path):
        if n:
            at = min(now, at + int(rng.expovariate(1 / STEP_MEAN_DAYS) * DAY) + DAY)
        entered[stage] = at
    return entered
