"""Fast evaluation of ref/alt probabilities, numerically the same as the plain computation.

Three independent savings, each switchable for the exactness tests and the benchmark:

1. Cone cropping (always): unpadded convolutions compute only positions that feed the 2D+1
   outputs (``SpliceAINet.forward_valid``); the receptive-field radius is exactly 5,000, so no
   zero padding ever reaches them.
2. Shared references (``share``): tasks with the same (contig, gene, strand) whose windows overlap
   form a cluster. The cluster's reference is one long sequence, N outside the gene's transcript
   (and outside the contig): every member's padded window is a slice of it, because the original
   pads exactly the positions beyond tx_start/tx_end. One valid pass over the long sequence gives
   every member's reference outputs; for minus-strand genes the long sequence is reverse
   complemented, which maps each window onto the reverse complement of that window.
3. Incremental alternates (``incremental``): only positions whose receptive field holds the
   alt allele differ from the reference. Each conv recomputes just that span, intersected with the
   output cone, on top of the cached reference activations of the cluster. This covers indels too:
   right of the allele the alt sequence is the reference shifted by len(ref) - len(alt), so the
   reference activations are gathered with that shift (``incremental_alt``). Variants with the same
   (allele offset, ref length, alt length, D) share one batch.

CPU parallelism: jobs are (model, cluster) pairs run by ``workers`` Python threads (default
``torch.get_num_threads()``), each op on one thread. On a 2-core machine shared with other jobs,
two OpenMP threads per conv spend most of their time at barriers (a cone pass measured 10x slower
than on one thread); independent single-threaded jobs degrade gracefully. Sums over the five models
run in model order afterwards, so results do not depend on scheduling.

Work proceeds in units of clusters bounded by ``max_unit_positions`` and batches of ``batch_size``
alternates. Memory: each running job holds its cluster's cached activations (33 tensors of 32
channels, ~4.2 kB per position: ~150 MB for a cluster of the maximum span, 25,000 + 10,000
positions) and one batch's (~1.2 MB per alternate per tensor, a handful alive); ``workers`` jobs
run at a time. 60,000 spans and batches of 64 peaked at ~1.8 GB with two workers; a cluster of
25,000 still spends 70% of its reference pass on its own positions, not on the 10,000 of context,
and the reference is the smaller share of a dense cluster's time (bench/README.md). Memory freed
by a unit goes back to the OS before the next (``_release_free_memory``), so the peak does not
creep up over a long VCF.

Fallback: an error in the fast path (a cluster's reference pass or one batch of alternates) must
not stop a run of tens of thousands of variants, nor may it leave a partial score. The variants
it touched are scored again by the exact plain path (``scoring.PlainEngine``: full padded
passes, batch 1), each logged as a WARNING naming it, counted in ``fallbacks`` and listed in
``last_fallbacks``. ``score_records`` flags their rows ``fallback``; the differential test asserts
none occur. Should the plain path fail too, the task's result is ``None`` (a skip with a reason,
never a score).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from ..common.sequence import N_CODE, encode, one_hot, reverse_complement_codes
from .delta import PlainEngine, Reference, ScoreTask, window_codes
from .network import SpliceAINet

log = logging.getLogger(__name__)


@dataclass
class Cluster:
    contig: str
    strand: str
    tx: tuple[int, int] | None
    start: int  # 1-based genomic first position of the long sequence
    end: int
    members: list[int]  # task indices

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def make_clusters(tasks: list[ScoreTask], share: bool = True, max_span: int = 25_000) -> list[Cluster]:
    """Sort tasks by (key, pos) and chain those whose windows overlap into clusters."""
    order = sorted(range(len(tasks)), key=lambda i: (str(tasks[i].cluster_key), tasks[i].pos))
    clusters: list[Cluster] = []
    for i in order:
        t = tasks[i]
        half = (t.context + 2 * t.distance + 1) // 2
        lo, hi = t.pos - half, t.pos + half
        last = clusters[-1] if clusters else None
        if (share and last is not None and tasks[last.members[0]].cluster_key == t.cluster_key
                and lo <= last.end + 1 and hi - last.start < max_span):
            last.end = max(last.end, hi)
            last.members.append(i)
        else:
            clusters.append(Cluster(t.chrom, t.strand, t.tx, lo, hi, [i]))
    return clusters


def _one_hot(codes: np.ndarray, device) -> torch.Tensor:
    """(B, L) codes -> (B, 4, L) float32 on device."""
    return torch.from_numpy(one_hot(np.ascontiguousarray(codes))).permute(0, 2, 1).contiguous().to(device)


class RefCache:
    """Reference activations of one model over one or more clusters' sequences, concatenated per
    layer (the engine builds one per (model, cluster) job, so nothing is copied)."""

    @torch.inference_mode()
    def __init__(self, net: SpliceAINet, seqs: list[np.ndarray], device):
        self.net = net
        n_units = len(net.units)
        trunks: list[list[torch.Tensor]] = [[] for _ in range(n_units + 1)]
        hidden: list[list[torch.Tensor]] = [[] for _ in range(n_units)]
        self.probs = []
        for codes in seqs:
            x = _one_hot(codes[None], device)
            t = net.initial(x)
            trunks[0].append(t[0])
            n_out = x.shape[-1] - net.context
            taps = dict(zip(net.skip_taps, net.skips))
            consumed = 0
            s = taps[0](t[:, :, net.half_context:net.half_context + n_out]) if 0 in taps else 0
            for k, unit in enumerate(net.units, start=1):
                r = unit.shape.radius
                h = unit.branch_first(unit.pre(t))
                hidden[k - 1].append(h[0])
                t = unit.branch_second(h) + t[:, :, 2 * r:t.shape[-1] - 2 * r]
                consumed += 2 * r
                trunks[k].append(t[0])
                if k in taps:
                    off = net.half_context - consumed
                    s = s + taps[k](t[:, :, off:off + n_out])
            self.probs.append(net.head(s)[0])
        # radius already consumed at each trunk tensor / hidden tensor
        self.trunk_radius, self.hidden_radius, acc = [0], [], 0
        for unit in net.units:
            self.hidden_radius.append(acc + unit.shape.radius)
            acc += 2 * unit.shape.radius
            self.trunk_radius.append(acc)
        self.trunk_off = [np.cumsum([0] + [z.shape[-1] for z in layer[:-1]]) for layer in trunks]
        self.hidden_off = [np.cumsum([0] + [z.shape[-1] for z in layer[:-1]]) for layer in hidden]
        self.trunks = [layer[0] if len(layer) == 1 else torch.cat(layer, dim=-1) for layer in trunks]
        self.hidden = [layer[0] if len(layer) == 1 else torch.cat(layer, dim=-1) for layer in hidden]

    def trunk_index(self, k: int, cluster: np.ndarray, centre: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.trunk_off[k][cluster] + centre - self.trunk_radius[k])

    def hidden_index(self, k: int, cluster: np.ndarray, centre: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.hidden_off[k][cluster] + centre - self.hidden_radius[k])


def incremental_snv(net: SpliceAINet, cache: RefCache, cluster: np.ndarray, centre: np.ndarray,
                    alt_codes: np.ndarray, distance: int) -> torch.Tensor:
    """Alt probabilities (B, 2D+1, 3) of SNVs at sequence positions ``centre`` of their clusters
    (network orientation): ``incremental_alt`` with a one-base allele."""
    hc, D = net.half_context, distance
    return incremental_alt(net, cache, np.asarray(centre) - D - hc, np.asarray(alt_codes)[:, None], hc + D, 1, D,
                           cluster=np.asarray(cluster))


@torch.inference_mode()
def incremental_alt(net: SpliceAINet, cache: RefCache, base: np.ndarray, alt_codes: np.ndarray,
                    v: int, ref_len: int, distance: int, cluster: np.ndarray | None = None,
                    n_out: int | None = None) -> torch.Tensor:
    """Alt probabilities (B, 2D+1-ref_len+alt_len, 3) of variants that replace ``ref_len`` bases by
    the ``alt_codes`` (B, alt_len) (SNVs, deletions, insertions), in network orientation.

    Coordinates are local to each variant's alt window (length context + 2D+1 - ref_len + alt_len):
    local j is sequence position ``base + j`` of the cached reference left of the alt allele (which
    starts at local ``v``), and ``base + j + ref_len - alt_len`` right of it (the shift of an indel).
    A position whose receptive field misses the allele equals the reference there, so each layer
    recomputes only the span whose receptive field holds the allele, intersected with the output
    cone, on top of the gathered reference activations. Exact: no zero padding is ever involved.
    ``base`` (B,) is each variant's local 0 in its cluster's sequence; ``cluster`` (B,) which of the
    cache's clusters it belongs to (default: the first). ``n_out``: the number of outputs when the
    alt window is not SpliceAI's (Pangolin's windows run from pos - D to pos + len(ref) - 1 + D, so
    its alt has 2D + alt_len outputs); the window is then context + n_out long.
    """
    hc, D = net.half_context, distance
    a = alt_codes.shape[1]
    d = ref_len - a
    if n_out is None:
        n_out = 2 * D + 1 - d
    wlen = net.context + n_out
    out_lo, out_hi = hc, hc + n_out - 1  # local positions of the outputs
    device = cache.trunks[0].device
    base_t = torch.from_numpy(np.asarray(base, dtype=np.int64)).to(device)

    def span(R: int) -> tuple[int, int]:
        """Local positions at radius R whose receptive field holds the allele (within the cone)."""
        return max(R, v - R, out_lo - (hc - R)), min(wlen - 1 - R, v + a - 1 + R, out_hi + (hc - R))

    cl = np.zeros(len(base), dtype=np.int64) if cluster is None else np.asarray(cluster, dtype=np.int64)

    def gathered(bank: torch.Tensor, bank_radius: int, offsets: np.ndarray, x0: int, x1: int,
                 part: torch.Tensor, part_lo: int) -> torch.Tensor:
        """Local window [x0, x1] at one layer: ``part`` (recomputed, local ``part_lo`` on) inside,
        reference values from ``bank`` elsewhere.

        Only positions outside ``part`` are read from the bank. Positions inside the alt allele have
        no reference counterpart (reading one there ran past the bank for long insertions), so the
        allele must lie inside ``part``; both invariants are checked, since a violation would
        otherwise read wrong activations (negative indices wrap) instead of failing."""
        part_hi = part_lo + part.shape[-1] - 1
        a_lo, a_hi = max(v, x0), min(v + a - 1, x1)
        if part_lo < x0 or part_hi > x1 or (a_lo <= a_hi and not part_lo <= a_lo <= a_hi <= part_hi):
            raise RuntimeError(f"incremental_alt: recomputed span [{part_lo}, {part_hi}] does not fit window "
                               f"[{x0}, {x1}] or misses the allele [{v}, {v + a - 1}]")
        j = torch.cat([torch.arange(x0, part_lo), torch.arange(part_hi + 1, x1 + 1)]).to(device)
        seq = j + torch.where(j >= v + a, d, 0) - bank_radius
        idx = (base_t + torch.from_numpy(offsets[cl].astype(np.int64)).to(device))[:, None] + seq[None]
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= bank.shape[-1]):
            raise RuntimeError(f"incremental_alt: reference index outside the cached cluster "
                               f"[{int(idx.min())}, {int(idx.max())}] vs {bank.shape[-1]}")
        # gathered and joined position-major ((B, L, C) memory): the channels-last convolutions
        # (network.ResidualUnit._conv) then read the result without another copy
        ref = bank.t()[idx]
        n_left = part_lo - x0
        return torch.cat([ref[:, :n_left], part.transpose(1, 2), ref[:, n_left:]], dim=1).transpose(1, 2)

    taps = dict(zip(net.skip_taps, net.skips))

    def tap(k: int, t: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        """Skip conv k over the outputs [out_lo, out_hi] from ``t`` (recomputed span [lo, hi]).

        The span is the allele's receptive field within the cone, so below the last tap it can
        overhang the outputs on one side and not the other (a deletion's outputs are shorter
        than the cone's reach right of the allele; a long minus-strand deletion's allele lies left
        of them): only its intersection with the outputs is written over the reference."""
        c_lo, c_hi = max(lo, out_lo), min(hi, out_hi)
        if c_lo == out_lo and c_hi == out_hi:
            part = t[:, :, out_lo - lo:out_hi - lo + 1]
        else:
            if c_lo > c_hi:  # no overlap: the outputs read only the reference
                c_lo, c_hi = out_lo, out_lo - 1
            part = gathered(cache.trunks[k], cache.trunk_radius[k], cache.trunk_off[k], out_lo, out_hi,
                            t[:, :, c_lo - lo:c_hi - lo + 1], c_lo)
        return taps[k](part)

    x = _one_hot(alt_codes, device)  # (B, 4, a)
    t, R = net.initial(x), 0
    lo, hi = v, v + a - 1  # span of t (radius 0)
    s = tap(0, t, lo, hi) if 0 in taps else 0
    for k, unit in enumerate(net.units):
        r = unit.shape.radius
        h_lo, h_hi = span(R + r)
        o_lo, o_hi = span(R + 2 * r)
        t_in = gathered(cache.trunks[k], cache.trunk_radius[k], cache.trunk_off[k], h_lo - r, h_hi + r, t, lo)
        h = unit.branch_first(unit.pre(t_in))
        h_in = gathered(cache.hidden[k], cache.hidden_radius[k], cache.hidden_off[k], o_lo - r, o_hi + r, h,
                        h_lo)
        t = unit.branch_second(h_in) + t_in[:, :, o_lo - (h_lo - r):o_hi - (h_lo - r) + 1]
        lo, hi, R = o_lo, o_hi, R + 2 * r
        if k + 1 in taps:
            s = s + tap(k + 1, t, lo, hi)
    return net.head(s)


class IncrementalEngine:
    """Batched, shared, incremental evaluation; same interface as ``scoring.PlainEngine``."""

    def __init__(self, nets: list[SpliceAINet], reference: Reference, device="cpu", batch_size: int = 0,
                 share: bool = True, incremental: bool = True, max_unit_positions: int = 120_000,
                 max_cluster_span: int = 25_000, workers: int = 0):
        self.workers = workers  # 0: torch.get_num_threads()
        self.nets, self.reference, self.device = nets, reference, torch.device(device)
        # 0: 8 alternates per batch on CPU (as fast as 16 or 64 there, bench/README.md, and an eighth
        # of the memory of 64: each alternate holds ~1.2 MB per activation tensor), 64 on a GPU
        # (bigger kernels pay there)
        self.batch_size = int(batch_size) if batch_size > 0 else (8 if self.device.type == "cpu" else 64)
        self.share, self.incremental = share, incremental
        self.max_unit_positions, self.max_cluster_span = max_unit_positions, max_cluster_span
        self.context = nets[0].context
        self.fallbacks = 0  # tasks scored by the plain path after a fast-path error, all calls
        self.errors = 0  # tasks neither path could score (result None), all calls
        self.last_fallbacks: list[int] = []  # task indices of the last ``compute`` that fell back
        if self.device.type == "cuda":
            # parity first: TF32 convolutions change results beyond the 1e-5 tolerance budget
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.benchmark = True

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

    def run(self, tasks: list[ScoreTask]):
        results = self.compute(tasks)
        for r in results:
            yield r

    def compute(self, tasks: list[ScoreTask]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """(ref probs, alt probs) per task in genomic order; ``None`` only where neither the fast
        nor the plain path could score the task (see the module docstring, "Fallback")."""
        out: list = [None] * len(tasks)
        self.last_fallbacks = []
        if not tasks:
            return out
        clusters = make_clusters(tasks, self.share, self.max_cluster_span)
        start, done = time.time(), 0
        workers = self._workers()
        saved = torch.get_num_threads()
        pool = ThreadPoolExecutor(workers) if workers > 1 else None
        if pool is not None:
            torch.set_num_threads(1)  # one op thread per worker: no OpenMP barriers between cores
        try:
            for unit in self._units(clusters):
                try:
                    self._compute_unit(tasks, unit, out, pool)
                except Exception as exc:  # noqa: BLE001 - outside the guarded jobs (e.g. reading the unit)
                    text = f"{type(exc).__name__}: {exc}"
                    for ti in sorted(ti for c in unit for ti in c.members):
                        if out[ti] is None and ti not in self.last_fallbacks:
                            out[ti] = self._fallback(tasks[ti], text)
                            self.last_fallbacks.append(ti)
                _release_free_memory()
                done += sum(len(c.members) for c in unit)
                rate = done / max(time.time() - start, 1e-9)
                log.info("base model: %d/%d scored (%.2f per s, ETA %.0f s)", done, len(tasks), rate,
                         (len(tasks) - done) / rate)
        finally:
            if pool is not None:
                pool.shutdown()
                torch.set_num_threads(saved)
        if self.last_fallbacks:
            log.warning("base model: %d of %d tasks scored by the plain exact path after fast-engine errors",
                        len(self.last_fallbacks), len(tasks))
        return out

    def _workers(self) -> int:
        """Worker threads over (model, cluster) jobs on CPU; GPU work stays in one thread."""
        if self.device.type != "cpu":
            return 1
        return max(1, int(self.workers or torch.get_num_threads()))

    def _compute_unit(self, tasks, unit: list[Cluster], out, pool=None) -> None:
        genomic = [self.reference.codes(c.contig, c.start, c.end, c.tx) for c in unit]
        seqs = [reverse_complement_codes(g).copy() if c.strand == "-" else g for c, g in zip(unit, genomic)]
        jobs = [(m, ci) for ci in range(len(unit)) for m in range(len(self.nets))]
        # largest clusters first so the worker threads finish together
        jobs.sort(key=lambda j: -unit[j[1]].length)
        run = lambda j: self._cluster_job(self.nets[j[0]], tasks, unit[j[1]], seqs[j[1]])  # noqa: E731
        results = dict(zip(jobs, pool.map(run, jobs) if pool is not None else map(run, jobs)))
        n = len(self.nets)
        for ci, c in enumerate(unit):
            for ti in c.members:
                errors = [results[(m, ci)][1][ti] for m in range(n) if ti in results[(m, ci)][1]]
                if errors:
                    out[ti] = self._fallback(tasks[ti], errors[0])
                    self.last_fallbacks.append(ti)
                    continue
                # sum in model order, as ensemble_mean does, whatever order the jobs ran in
                y_ref = results[(0, ci)][0][ti][0].clone()
                y_alt = results[(0, ci)][0][ti][1].clone()
                for m in range(1, n):
                    y_ref += results[(m, ci)][0][ti][0]
                    y_alt += results[(m, ci)][0][ti][1]
                y_ref, y_alt = (y_ref / n).cpu().numpy(), (y_alt / n).cpu().numpy()
                if c.strand == "-":
                    y_ref, y_alt = y_ref[::-1].copy(), y_alt[::-1].copy()
                out[ti] = (y_ref, y_alt)

    def _fallback(self, task: ScoreTask, error: str):
        """Score one task with the exact plain path after a fast-path error (see "Fallback")."""
        name = f"{task.chrom}:{task.pos} {task.ref}>{task.alt} (strand {task.strand}, D {task.distance})"
        self.fallbacks += 1
        log.warning("fast engine failed on %s: %s; scoring it with the plain exact path", name, error)
        try:
            return next(iter(PlainEngine(self.nets, self.reference, self.device).run([task])))
        except Exception as exc:  # noqa: BLE001 - one variant must not stop the run; never a partial score
            self.errors += 1
            log.error("plain path failed on %s too (%s: %s); it gets no score", name, type(exc).__name__, exc)
            return None

    def _cluster_job(self, net: SpliceAINet, tasks, cluster: Cluster, seq: np.ndarray) -> tuple[dict, dict]:
        """One model over one cluster: ({task: (ref probs, alt probs)} in network orientation,
        {task: error text} for tasks whose reference pass or alternate batch raised)."""
        res: dict = {}
        failed: dict = {}

        def fail(members, exc: Exception) -> None:
            text = f"{type(exc).__name__}: {exc}"
            log.debug("fast engine error on %d task(s)", len(members), exc_info=exc)
            for ti in members:
                failed.setdefault(ti, text)

        with torch.inference_mode():
            try:
                cache = RefCache(net, [seq], self.device)
            except Exception as exc:  # noqa: BLE001 - rescored by the plain path (_fallback)
                fail(cluster.members, exc)
                return res, failed
            groups: dict = {}  # (v, ref_len, alt_len, D) -> [(task, base)]: incremental alternates
            full = []  # (task,): full cone pass over the alt window
            for ti in cluster.members:
                t = tasks[ti]
                centre = t.pos - cluster.start
                if cluster.strand == "-":
                    centre = cluster.length - 1 - centre
                hc, D = net.half_context, t.distance
                if self.incremental:
                    v = hc + D if cluster.strand == "+" else hc + D - len(t.ref) + 1
                    groups.setdefault((v, len(t.ref), len(t.alt), D), []).append((ti, centre - D - hc))
                else:
                    full.append(ti)
                res[ti] = [cache.probs[0][centre - hc - D:centre - hc + D + 1], None]
            for (v, r, _alt_len, D), members in groups.items():
                for b in range(0, len(members), self.batch_size):
                    chunk = members[b:b + self.batch_size]
                    try:
                        codes = np.stack([_allele_codes(tasks[ti].alt, cluster.strand) for ti, _ in chunk])
                        probs = incremental_alt(net, cache, np.array([bs for _, bs in chunk]), codes, v, r, D)
                    except Exception as exc:  # noqa: BLE001 - rescored by the plain path (_fallback)
                        fail([ti for ti, _ in chunk], exc)
                        continue
                    for (ti, _), p in zip(chunk, probs):
                        res[ti][1] = p
            del cache
            for b in range(0, len(full), self.batch_size):
                chunk = full[b:b + self.batch_size]
                try:
                    windows = []
                    for ti in chunk:
                        _, x_alt = window_codes(self.reference, tasks[ti])
                        windows.append(reverse_complement_codes(x_alt) if cluster.strand == "-" else x_alt)
                    width = max(len(w) for w in windows)
                    batch = np.full((len(windows), width), N_CODE, dtype=np.uint8)
                    for i, w in enumerate(windows):
                        batch[i, :len(w)] = w
                    probs = net.forward_valid(_one_hot(batch, self.device))
                except Exception as exc:  # noqa: BLE001 - rescored by the plain path (_fallback)
                    fail(chunk, exc)
                    continue
                for ti, w, p in zip(chunk, windows, probs):
                    res[ti][1] = p[:len(w) - net.context]
            return res, failed


def _libc_malloc_trim():
    """glibc's ``malloc_trim``, or None (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_malloc_trim()


def _release_free_memory() -> None:
    """Hand memory freed by a unit back to the OS. glibc keeps freed tensor memory in its heaps
    (its mmap threshold rises to the largest tensor freed), so without this the peak RSS of a long
    VCF crept up with every dense unit (bench/README.md, bench_cli_memory.py). Once per unit it
    cost nothing measurable on the speed sets; once per (model, cluster) job it made spread
    variants 40% slower (every re-allocation faults its pages in again)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _allele_codes(allele: str, strand: str) -> np.ndarray:
    """Allele codes in network orientation (reverse complemented for minus-strand clusters)."""
    codes = encode(allele)
    return reverse_complement_codes(codes).copy() if strand == "-" else codes
