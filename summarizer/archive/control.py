"""``archive status`` and ``archive cancel``: reading the state, and stopping what is in flight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from summarizer.archive.endpoint import BatchEndpoint
from summarizer.archive.run import work_dir
from summarizer.archive.state import CREATING, DOWNLOADED, IMPORTED, IMPORTING, SUBMITTED, ArchiveState
from summarizer.errors import InputError


def _open(out: Path) -> ArchiveState:
    path = work_dir(out) / "state.db"
    if not path.is_file():
        raise InputError(
            f"no archive for {out}: {path} does not exist (start one with `summarizer archive run`)"
        )
    return ArchiveState.open(path)


def status_lines(out: Path) -> Iterator[str]:
    state = _open(out)
    try:
        parts = state.parts()
        yield f"archive {state.get('tag')} for {state.get('identity', {}).get('input')} -> {out}"
        yield f"{'round':>5} {'part':>5} {'requests':>9} {'MB':>7}  {'state':<10} {'batch':<22} {'provider':<28} {'ok':>7} {'failed':>6} {'re-ask':>6} {'resend':>6} {'spent $':>9}"
        for p in parts:
            provider = f"{p.provider_status or '-'} {p.provider_counts or ''}".strip()
            yield (
                f"{p.round:>5} {p.number:>5} {p.requests:>9,} {p.bytes / 1e6:>7.1f}  {p.status:<10} "
                f"{p.batch_id or '-':<22} {provider[:28]:<28} {p.ok:>7,} {p.failed:>6,} {p.reasked:>6,} "
                f"{p.resent:>6,} {p.spent_usd:>9.4f}"
            )
        imported = [p for p in parts if p.status == IMPORTED]
        in_flight = [p for p in parts if p.status in (CREATING, SUBMITTED, DOWNLOADED, IMPORTING)]
        waiting = [p for p in parts if p.status not in (IMPORTED, CREATING, SUBMITTED, DOWNLOADED, IMPORTING)]
        yield (
            f"total: {sum(p.ok for p in parts):,} ok, {sum(p.failed for p in parts):,} failed; "
            f"{len(imported)} file(s) imported, {len(in_flight)} in flight, {len(waiting)} not submitted; "
            f"tokens {sum(p.prompt_tokens for p in parts):,} in, {sum(p.completion_tokens for p in parts):,} out; "
            f"spent ${sum(p.spent_usd for p in parts):.4f} at Batch API prices"
        )
        if state.get("stop_requested"):
            yield "cancel requested: no new batches until the next `summarizer archive run`"
    finally:
        state.close()


def cancel(out: Path, endpoint: BatchEndpoint) -> Iterator[str]:
    """Ask the provider to cancel every batch in flight; the next run imports what they finished."""
    state = _open(out)
    try:
        with state.transaction():
            state.put("stop_requested", True)
        for part in state.parts():
            batch_id = part.batch_id
            if part.status == CREATING and batch_id is None:
                found = endpoint.find_batch(part.tag, part.intent_at or 0)
                batch_id = found.id if found is not None else None
            if part.status in (CREATING, SUBMITTED) and batch_id is not None:
                view = endpoint.cancel(batch_id)
                yield f"{part.label}: {batch_id} {view.status}"
        yield f"no new batches will be submitted; `summarizer archive run ... -o {out}` imports what finished"
    finally:
        state.close()
