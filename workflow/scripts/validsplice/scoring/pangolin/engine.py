"""The fast exact engine for Pangolin: ``scoring.incremental``'s techniques on Pangolin's windows.

Pangolin's twelve networks are SpliceAI-10k networks (``network.py``), so the same savings apply:
cone cropping (unpadded convolutions), one shared reference pass per cluster of overlapping windows
on a strand, and incremental alternates (``incremental.incremental_alt``: each layer recomputes
only the span whose receptive field holds the allele, on top of the cluster's cached reference
activations). Pangolin reads no transcript padding, so windows of one contig and strand share a
cluster whatever their genes. Its windows differ from SpliceAI's: ref covers pos - 5,000 - d to
pos + len(ref) - 1 + 5,000 + d (2d + len(ref) outputs) and alt 2d + len(alt) outputs, with the
allele at offset 5,000 + d on both strands (network orientation).

Distinct networks run once (the test fixture repeats one file per tissue model). Windows cut short
at a contig end, and any task whose fast path raised, go through the plain path
(``score.PlainPangolinEngine``, full zero-padded passes, the original's computation); fallbacks are
logged and counted (``fallbacks``), and the differential test asserts none occur.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from ...common.sequence import reverse_complement_codes
from ..delta import Reference
from ..incremental import RefCache, _allele_codes, _release_free_memory, incremental_alt
from .score import FLANK, PangolinTask, PlainPangolinEngine, distinct

log = logging.getLogger(__name__)


@dataclass
class Cluster:
    contig: str
    strand: str
    start: int  # 1-based first base of the shared sequence
    end: int
    members: list[int]

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def make_clusters(tasks: list[PangolinTask], indices: list[int], max_span: int) -> list[Cluster]:
    """Chain tasks of one (contig, strand) whose windows overlap, up to ``max_span`` bases."""
    order = sorted(indices, key=lambda i: (tasks[i].contig, tasks[i].strand, tasks[i].start))
    clusters: list[Cluster] = []
    for i in order:
        t = tasks[i]
        last = clusters[-1] if clusters else None
        if (last is not None and (last.contig, last.strand) == (t.contig, t.strand)
                and t.start <= last.end + 1 and t.end - last.start < max_span):
            last.end = max(last.end, t.end)
            last.members.append(i)
        else:
            clusters.append(Cluster(t.contig, t.strand, t.start, t.end, [i]))
    return clusters


class PangolinEngine:
    """Batched, shared, incremental evaluation; same results as ``PlainPangolinEngine``.

    ``run(tasks)`` returns per task (ref tracks (M, 2d + len(ref)), alt tracks (M, 2d + len(alt)))
    in genomic order, M = len(nets), or None where neither path could score it."""

    def __init__(self, nets, reference: Reference, device="cpu", batch_size: int = 0,
                 max_unit_positions: int = 120_000, max_cluster_span: int = 25_000, workers: int = 0):
        self.nets, self.reference, self.device = nets, reference, torch.device(device)
        self.uniq, self.index = distinct(nets)
        self.batch_size = int(batch_size) if batch_size > 0 else (8 if self.device.type == "cpu" else 64)
        self.max_unit_positions, self.max_cluster_span = max_unit_positions, max_cluster_span
        self.workers = workers
        self.plain = PlainPangolinEngine(nets, reference, device)
        self.fallbacks = 0
        self.errors = 0
        if self.device.type == "cuda":  # parity first: TF32 changes results
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False

    def run(self, tasks: list[PangolinTask]):
        out: list = [None] * len(tasks)
        fast = [i for i, t in enumerate(tasks) if not t.truncated]
        for i, t in enumerate(tasks):
            if t.truncated:  # the original's window cut short at the contig end: zero padding matters
                out[i] = self._plain(t, None)
        clusters = make_clusters(tasks, fast, self.max_cluster_span)
        workers = 1 if self.device.type != "cpu" else max(1, int(self.workers or torch.get_num_threads()))
        saved = torch.get_num_threads()
        pool = ThreadPoolExecutor(workers) if workers > 1 else None
        if pool is not None:
            torch.set_num_threads(1)  # one op thread per worker (see scoring.incremental)
        start, done = time.time(), 0
        try:
            for unit in self._units(clusters):
                self._compute_unit(tasks, unit, out, pool)
                _release_free_memory()
                done += sum(len(c.members) for c in unit)
                rate = done / max(time.time() - start, 1e-9)
                log.info("pangolin: %d/%d windows scored (%.2f per s)", done, len(fast), rate)
        finally:
            if pool is not None:
                pool.shutdown()
                torch.set_num_threads(saved)
        return out

    def _units(self, clusters: list[Cluster]):
        unit, size = [], 0
        for c in clusters:
            if unit and size + c.length > self.max_unit_positions:
                yield unit
                unit, size = [], 0
            unit.append(c)
            size += c.length
        if unit:
            yield unit

    def _compute_unit(self, tasks, unit: list[Cluster], out, pool) -> None:
        genomic = [self.reference.codes(c.contig, c.start, c.end) for c in unit]
        seqs = [reverse_complement_codes(g).copy() if c.strand == "-" else g for c, g in zip(unit, genomic)]
        jobs = [(u, ci) for ci in range(len(unit)) for u in range(len(self.uniq))]
        jobs.sort(key=lambda j: -unit[j[1]].length)
        run = lambda j: self._cluster_job(self.uniq[j[0]], tasks, unit[j[1]], seqs[j[1]])  # noqa: E731
        results = dict(zip(jobs, pool.map(run, jobs) if pool is not None else map(run, jobs)))
        for ci, c in enumerate(unit):
            for ti in c.members:
                errors = [results[(u, ci)][1][ti] for u in range(len(self.uniq)) if ti in results[(u, ci)][1]]
                if errors:
                    out[ti] = self._plain(tasks[ti], errors[0])
                    continue
                per_net = [results[(u, ci)][0][ti] for u in range(len(self.uniq))]
                y_ref = np.stack([per_net[k][0] for k in self.index])
                y_alt = np.stack([per_net[k][1] for k in self.index])
                if c.strand == "-":
                    y_ref, y_alt = y_ref[:, ::-1].copy(), y_alt[:, ::-1].copy()
                out[ti] = (y_ref, y_alt)

    def _plain(self, task: PangolinTask, error: str | None):
        name = f"{task.contig}:{task.pos} {task.ref}>{task.alt} (strand {task.strand}, d {task.distance})"
        if error is not None:
            self.fallbacks += 1
            log.warning("fast engine failed on %s: %s; scoring it with the plain exact path", name, error)
        try:
            return self.plain.one(task)
        except Exception as exc:  # noqa: BLE001 - one variant must not stop the run; never a partial score
            self.errors += 1
            log.error("plain path failed on %s (%s: %s); it gets no score", name, type(exc).__name__, exc)
            return None

    def _cluster_job(self, net, tasks, cluster: Cluster, seq: np.ndarray) -> tuple[dict, dict]:
        """One network over one cluster: ({task: (ref track, alt track)} in network orientation,
        {task: error text})."""
        res: dict = {}
        failed: dict = {}
        hc = net.half_context
        with torch.inference_mode():
            try:
                cache = RefCache(net, [seq], self.device)
                probs = cache.probs[0][:, 1].cpu().numpy()
            except Exception as exc:  # noqa: BLE001 - rescored by the plain path
                text = f"{type(exc).__name__}: {exc}"
                return res, {ti: text for ti in cluster.members}
            groups: dict = {}
            for ti in cluster.members:
                t = tasks[ti]
                r, a, d = len(t.ref), len(t.alt), t.distance
                if cluster.strand == "+":
                    first = t.pos - d - cluster.start
                    base = t.start - cluster.start
                else:
                    first = cluster.length - 1 - (t.pos + r - 1 + d - cluster.start)
                    base = cluster.length - (t.pos - cluster.start) - r - FLANK - d
                res[ti] = [probs[first - hc:first - hc + 2 * d + r], None]
                groups.setdefault((r, a, d), []).append((ti, base))
            for (r, a, d), members in groups.items():
                for b in range(0, len(members), self.batch_size):
                    chunk = members[b:b + self.batch_size]
                    try:
                        codes = np.stack([_allele_codes(tasks[ti].alt, cluster.strand) for ti, _ in chunk])
                        p = incremental_alt(net, cache, np.array([bs for _, bs in chunk]), codes, hc + d, r, d,
                                            n_out=2 * d + a)[:, :, 1].cpu().numpy()
                    except Exception as exc:  # noqa: BLE001 - rescored by the plain path
                        for ti, _ in chunk:
                            failed.setdefault(ti, f"{type(exc).__name__}: {exc}")
                        continue
                    for (ti, _), row in zip(chunk, p):
                        res[ti][1] = row
            del cache
        return res, failed
