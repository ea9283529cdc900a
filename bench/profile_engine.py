"""Where the fast engine's CPU time goes: per layer group, reference vs alternate passes.

Runs ``IncrementalEngine`` (one SpliceAI model, one worker, one thread, so times add up) on a VCF and
times every convolution and elementwise op by wrapping ``F.conv1d``, ``F.conv2d``, ``torch.addcmul`` and
``torch.relu``. Each op is attributed to the phase it runs in (reference pass = ``RefCache``,
alternates = ``incremental_alt``) and to its layer group (kernel/dilation 11/1, 11/4, 21/10,
41/25; the 1x1 convs apart). Convolutions report GFLOP/s (2 x B x Cout x Cin x k x Lout per
call). What is left of each phase's wall time is memory traffic and Python: the gathers and
``torch.cat`` of ``incremental_alt``, index arithmetic, one-hot, the head, and interpreter
overhead. ``--ops`` adds the op counts, the number behind the Python share.

    python bench/profile_engine.py --vcf /tmp/spread.vcf
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

import pysam  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import validsplice.scoring.incremental as fast  # noqa: E402
from validsplice.io.annotation import GeneAnnotation  # noqa: E402
from validsplice.scoring.delta import Reference, VariantRecord, score_records  # noqa: E402
from validsplice.scoring.weights import load_ensemble  # noqa: E402

GROUPS = {(11, 1): "11/1", (11, 4): "11/4", (21, 10): "21/10", (41, 25): "41/25", (1, 1): "1x1"}
phase = ["other"]
seconds: dict = defaultdict(float)
flops: dict = defaultdict(float)
calls: dict = defaultdict(int)
group_of_op = ["1x1"]  # the group of the last conv: the elementwise op that follows belongs to it


def timed_conv(original):
    def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        group = GROUPS.get((weight.shape[-1], dilation if isinstance(dilation, int) else dilation[-1]), "?")
        group_of_op[0] = group if group != "1x1" else group_of_op[0]
        start = time.perf_counter()
        y = original(x, weight, bias, stride, padding, dilation, groups)
        key = (phase[0], group, "conv")
        seconds[key] += time.perf_counter() - start
        flops[key] += 2.0 * y.shape[0] * y.shape[1] * weight.shape[1] * weight.shape[-1] * y.shape[-1]
        calls[key] += 1
        return y
    return conv


def timed_elementwise(original):
    def op(*args, **kwargs):
        start = time.perf_counter()
        y = original(*args, **kwargs)
        key = (phase[0], group_of_op[0], "elementwise")
        seconds[key] += time.perf_counter() - start
        calls[key] += 1
        return y
    return op


def in_phase(name, fn):
    def wrapped(*args, **kwargs):
        phase[0], group_of_op[0] = name, "1x1"
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[(name, "total", "")] += time.perf_counter() - start
            phase[0] = "other"
    return wrapped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcf", default=str(ROOT / "tests/data/spliceai/spliceai_cli_input.vcf"))
    ap.add_argument("--fasta", default=str(ROOT / "resources/demo/chr2_1-2333275.fa.gz"))
    ap.add_argument("-D", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ref, ann = Reference(args.fasta), GeneAnnotation.load("grch38")
    net = load_ensemble()[0]
    records = [VariantRecord(r.chrom, r.pos, r.ref, tuple(r.alts)) for r in pysam.VariantFile(args.vcf)]
    records = records[:args.limit] if args.limit else records
    engine = fast.IncrementalEngine([net], ref, batch_size=args.batch_size, workers=1)
    score_records(records[:2], ref, ann, engine, args.D)  # warm-up (oneDNN primitive caches)
    seconds.clear(), flops.clear(), calls.clear()

    F.conv1d = timed_conv(F.conv1d)  # the 1x1 convs, and the dilated ones on a GPU
    F.conv2d = timed_conv(F.conv2d)  # the dilated convs on CPU (channels-last, network.ResidualUnit._conv)
    torch.addcmul = timed_elementwise(torch.addcmul)
    torch.relu = timed_elementwise(torch.relu)
    init = fast.RefCache.__init__
    fast.RefCache.__init__ = lambda self, *a, **k: in_phase("reference", init)(self, *a, **k)
    fast.incremental_alt = in_phase("alternate", fast.incremental_alt)
    start = time.perf_counter()
    slots = score_records(records, ref, ann, engine, args.D)
    wall = time.perf_counter() - start
    n = sum(1 for rec in slots for s in rec if s.status == "scored")
    print(f"{n} variants scored with one model on one thread in {wall:.1f} s ({wall / max(n, 1) * 1e3:.0f} ms "
          f"per variant per model); {len(fast.make_clusters(engine_tasks(records, ref, ann, args.D)))} clusters")
    print("| phase | group | conv s | conv GFLOP | conv GFLOP/s | elementwise s | share of wall |")
    print("|---|---|---|---|---|---|---|")
    for ph in ("reference", "alternate"):
        total = seconds[(ph, "total", "")]
        accounted = 0.0
        for g in GROUPS.values():
            c, e = seconds[(ph, g, "conv")], seconds[(ph, g, "elementwise")]
            accounted += c + e
            print(f"| {ph} | {g} | {c:.2f} | {flops[(ph, g, 'conv')] / 1e9:.1f} | "
                  f"{flops[(ph, g, 'conv')] / 1e9 / max(c, 1e-9):.0f} | {e:.2f} | {(c + e) / wall:.1%} |")
        rest = total - accounted
        print(f"| {ph} | gathers, cat, indexing, Python | | | | | {rest / wall:.1%} ({rest:.2f} s) |")
        print(f"| {ph} | **total** | | | | | **{total / wall:.1%}** ({total:.2f} s) |")
    other = wall - seconds[("reference", "total", "")] - seconds[("alternate", "total", "")]
    print(f"| outside both (record prep, ensemble sums, scoring) | | | | | | {other / wall:.1%} ({other:.2f} s) |")
    ops = sum(calls.values())
    print(f"ops timed: {ops} ({ops / max(n, 1):.0f} per variant)")


def engine_tasks(records, ref, ann, distance):
    from validsplice.scoring.delta import prepare
    return [s.task for rec in prepare(records, ref, ann, distance) for s in rec if s.task is not None]


if __name__ == "__main__":
    main()
