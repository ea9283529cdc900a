"""Run the original ``pangolin`` command (tkzeng/Pangolin) for several settings in one process.

Run it with the Python that has the original installed (a scratch environment, see README.md):

    python run_original.py MODELS_DIR OUT_DIR FASTA DB NAME=VCF[@FASTA]... -- SETTING...

or ``python run_original.py --command ARGS...``: the plain ``pangolin ARGS...`` command (with only the
PyVCF3 default below; bench/bench_base_models.py times it this way). SETTING is ``D50.mTrue`` style (distance, mask). For every VCF and setting it calls the
original entry point ``pangolin.pangolin.main()`` with the command line
``pangolin VCF FASTA DB OUT_DIR/NAME.SETTING -d D -m M`` and saves what it prints (its warnings) to
``OUT_DIR/NAME.SETTING.log``.

Three things differ from typing the commands one by one, neither of which changes a result:
- ``MODELS_DIR`` replaces the package's ``pangolin/models`` folder (the original finds its weights
  with ``pkg_resources.resource_filename``; the driver points that one call at ``MODELS_DIR``);
- PyVCF3's header record gets a default for its extra field (see below);
- each network's output for a given input is computed once and reused (a memo keyed on the
  network's parameters and the input tensor's bytes): the settings share their network passes, and
  so do networks with identical weights. The original's ``compute_score`` and all its numpy
  post-processing still run for every variant and setting.
"""
import contextlib
import hashlib
import os
import sys
import time

import pangolin.pangolin as original
import torch
import vcf.parser

# PyVCF3 (the Python 3 PyVCF that installs today) added a seventh field, ``type_code``, to the
# header's Info record; the original builds its ``Pangolin`` header line with the six fields of
# PyVCF 0.6.8 (which no longer runs on Python 3.11). A default lets that one call work; the field
# is only read when parsing records that carry the key, which the inputs never do.
if "type_code" in vcf.parser._Info._fields:
    vcf.parser._Info.__new__.__defaults__ = (None,)


class MemoPangolin(original.Pangolin):
    memo: dict = {}

    def forward(self, x):
        if not hasattr(self, "_weights_key"):
            h = hashlib.sha256()
            for k, v in self.state_dict().items():
                h.update(k.encode())
                h.update(v.detach().cpu().numpy().tobytes())
            self._weights_key = h.hexdigest()
        key = (self._weights_key, tuple(x.shape), hashlib.sha256(x.detach().cpu().numpy().tobytes()).hexdigest())
        if key not in self.memo:
            self.memo[key] = super().forward(x)
        return self.memo[key]


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--command"]:  # exactly the pangolin command (no memo, the package's models)
        sys.argv = ["pangolin"] + args[1:]
        original.main()
        return
    split = args.index("--")
    (models_dir, out_dir, fasta, db, *vcfs), settings = args[:split], args[split + 1:]
    original.Pangolin = MemoPangolin
    original.resource_filename = lambda _pkg, rel: os.path.join(models_dir, os.path.basename(rel))
    os.makedirs(out_dir, exist_ok=True)
    for setting in settings:
        d, m = setting.split(".")
        for spec in vcfs:
            name, vcf = spec.split("=", 1)
            vcf, _, other_fasta = vcf.partition("@")  # NAME=VCF@FASTA: this VCF with another FASTA
            prefix = os.path.join(out_dir, f"{name}.{setting}")
            sys.argv = ["pangolin", vcf, other_fasta or fasta, db, prefix, "-d", d[1:], "-m", m[1:]]
            start = time.time()
            with open(prefix + ".log", "w") as log, contextlib.redirect_stdout(log):
                original.main()
            print(f"{prefix}: {time.time() - start:.1f} s, {len(MemoPangolin.memo)} network passes cached",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    if os.environ.get("TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["TORCH_THREADS"]))
    main()
