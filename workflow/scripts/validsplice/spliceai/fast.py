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
3. Incremental alternates (``incremental``): for an SNV only positions whose receptive field holds
   the variant differ from the reference. Each conv recomputes just that span, intersected with
   the variant's output cone (both centred on the variant, so every variant in a batch has the same
   widths), on top of the cached reference activations of the cluster. Indels shift positions and
   take a full cone pass on their own alt window instead.

Work proceeds in units of clusters bounded by ``max_unit_positions`` (memory of the cached
activations, ~4.4 kB per position per model) and batches of ``batch_size`` alternates.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..sequence import N_CODE, encode, one_hot, reverse_complement_codes
from .network import CONTEXT, SpliceAINet
from .scoring import Reference, ScoreTask, window_codes

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


def make_clusters(tasks: list[ScoreTask], share: bool = True, max_span: int = 60_000) -> list[Cluster]:
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
    """Reference activations of one model over a unit of clusters, concatenated per layer."""

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
        self.trunks = [torch.cat(layer, dim=-1) for layer in trunks]
        self.hidden = [torch.cat(layer, dim=-1) for layer in hidden]

    def trunk_index(self, k: int, cluster: np.ndarray, centre: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.trunk_off[k][cluster] + centre - self.trunk_radius[k])

    def hidden_index(self, k: int, cluster: np.ndarray, centre: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.hidden_off[k][cluster] + centre - self.hidden_radius[k])


def _gather(bank: torch.Tensor, centres: torch.Tensor, half: int) -> torch.Tensor:
    """(C, N) bank, (B,) centre indices -> (B, C, 2*half+1)."""
    idx = centres.to(bank.device)[:, None] + torch.arange(-half, half + 1, device=bank.device)
    return bank[:, idx].permute(1, 0, 2).contiguous()


def _overlay(base: torch.Tensor, centre_part: torch.Tensor) -> torch.Tensor:
    """Write ``centre_part`` (B, C, w) into the middle of ``base`` (B, C, W)."""
    w, W = centre_part.shape[-1], base.shape[-1]
    lo = (W - w) // 2
    base[:, :, lo:lo + w] = centre_part
    return base


@torch.no_grad()
def incremental_snv(net: SpliceAINet, cache: RefCache, cluster: np.ndarray, centre: np.ndarray,
                    alt_codes: np.ndarray, distance: int) -> torch.Tensor:
    """Alt probabilities (B, 2D+1, 3) of SNVs at sequence positions ``centre`` of their clusters
    (network orientation), computed only where they differ from the cached reference."""
    hc, D = net.half_context, distance
    device = cache.trunks[0].device
    x = _one_hot(alt_codes[:, None], device)  # (B, 4, 1)
    t, a_t, R = net.initial(x), 0, 0
    taps = dict(zip(net.skip_taps, net.skips))

    def tap(k, t, a_t):
        if a_t >= D:
            part = t[:, :, a_t - D:a_t + D + 1]
        else:
            part = _overlay(_gather(cache.trunks[k], cache.trunk_index(k, cluster, centre), D), t)
        return taps[k](part)

    s = tap(0, t, a_t) if 0 in taps else 0
    for k, unit in enumerate(net.units):
        r = unit.shape.radius
        a_h = min(R + r, D + hc - R - r)
        w_in = a_h + r
        t_in = _overlay(_gather(cache.trunks[k], cache.trunk_index(k, cluster, centre), w_in), t)
        h = unit.branch_first(unit.pre(t_in))
        a_o = min(R + 2 * r, D + hc - R - 2 * r)
        w_h = a_o + r
        h_in = _overlay(_gather(cache.hidden[k], cache.hidden_index(k, cluster, centre), w_h), h)
        t = unit.branch_second(h_in) + t_in[:, :, w_in - a_o:w_in + a_o + 1]
        a_t, R = a_o, R + 2 * r
        if k + 1 in taps:
            s = s + tap(k + 1, t, a_t)
    return net.head(s)


class FastEngine:
    """Batched, shared, incremental evaluation; same interface as ``scoring.PlainEngine``."""

    def __init__(self, nets: list[SpliceAINet], reference: Reference, device="cpu", batch_size: int = 64,
                 share: bool = True, incremental: bool = True, max_unit_positions: int = 120_000,
                 max_cluster_span: int = 60_000):
        self.nets, self.reference, self.device = nets, reference, torch.device(device)
        self.batch_size, self.share, self.incremental = max(1, int(batch_size)), share, incremental
        self.max_unit_positions, self.max_cluster_span = max_unit_positions, max_cluster_span
        self.context = nets[0].context
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

    @torch.no_grad()
    def compute(self, tasks: list[ScoreTask]) -> list[tuple[np.ndarray, np.ndarray]]:
        out: list = [None] * len(tasks)
        if not tasks:
            return out
        clusters = make_clusters(tasks, self.share, self.max_cluster_span)
        start, done = time.time(), 0
        for unit in self._units(clusters):
            self._compute_unit(tasks, unit, out)
            done += sum(len(c.members) for c in unit)
            rate = done / max(time.time() - start, 1e-9)
            log.info("base model: %d/%d scored (%.2f per s, ETA %.0f s)", done, len(tasks), rate,
                     (len(tasks) - done) / rate)
        return out

    def _compute_unit(self, tasks, unit: list[Cluster], out) -> None:
        genomic = [self.reference.codes(c.contig, c.start, c.end, c.tx) for c in unit]
        seqs = [reverse_complement_codes(g).copy() if c.strand == "-" else g for c, g in zip(unit, genomic)]
        snv, indel = [], []  # (task, cluster number, centre in network orientation)
        for ci, c in enumerate(unit):
            for ti in c.members:
                t = tasks[ti]
                centre = t.pos - c.start
                if c.strand == "-":
                    centre = c.length - 1 - centre
                is_snv = len(t.ref) == 1 and len(t.alt) == 1
                (snv if is_snv and self.incremental else indel).append((ti, ci, centre))
        ref_sum, alt_sum = {}, {}
        for net in self.nets:
            cache = RefCache(net, seqs, self.device)
            for ti, ci, centre in snv + indel:
                D = tasks[ti].distance
                lo = centre - net.half_context - D
                _accumulate(ref_sum, ti, cache.probs[ci][lo:lo + 2 * D + 1])
            for b in range(0, len(snv), self.batch_size):
                chunk = snv[b:b + self.batch_size]
                D = tasks[chunk[0][0]].distance
                cl = np.array([ci for _, ci, _ in chunk])
                codes = _strand_codes(tasks, chunk, unit)
                probs = incremental_snv(net, cache, cl, np.array([c for _, _, c in chunk]), codes, D)
                for (ti, _, _), p in zip(chunk, probs):
                    _accumulate(alt_sum, ti, p)
            del cache
            for b in range(0, len(indel), self.batch_size):
                chunk = indel[b:b + self.batch_size]
                windows = []
                for ti, ci, _ in chunk:
                    _, x_alt = window_codes(self.reference, tasks[ti])
                    windows.append(reverse_complement_codes(x_alt) if unit[ci].strand == "-" else x_alt)
                width = max(len(w) for w in windows)
                batch = np.full((len(windows), width), N_CODE, dtype=np.uint8)
                for i, w in enumerate(windows):
                    batch[i, :len(w)] = w
                probs = net.forward_valid(_one_hot(batch, self.device))
                for (ti, _, _), w, p in zip(chunk, windows, probs):
                    _accumulate(alt_sum, ti, p[:len(w) - net.context])
        n = len(self.nets)
        for c in unit:
            for ti in c.members:
                y_ref = (ref_sum[ti] / n).cpu().numpy()
                y_alt = (alt_sum[ti] / n).cpu().numpy()
                if c.strand == "-":
                    y_ref, y_alt = y_ref[::-1].copy(), y_alt[::-1].copy()
                out[ti] = (y_ref, y_alt)


def _strand_codes(tasks, chunk, unit) -> np.ndarray:
    """Alt base codes in network orientation (complemented for minus-strand clusters)."""
    codes = np.array([encode(tasks[ti].alt)[0] for ti, _, _ in chunk], dtype=np.uint8)
    minus = np.array([unit[ci].strand == "-" for _, ci, _ in chunk])
    comp = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)[codes]
    return np.where(minus, comp, codes).astype(np.uint8)


def _accumulate(store: dict, key: int, value: torch.Tensor) -> None:
    if key in store:
        store[key] += value
    else:
        store[key] = value.clone()
