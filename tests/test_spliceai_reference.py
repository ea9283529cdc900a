"""FASTA access of the base-model scorer is safe from the fast engine's worker threads."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from validsplice.common.sequence import encode
from validsplice.scoring.delta import Reference

FASTA = Path(__file__).resolve().parents[1] / "resources" / "demo" / "chr2_1-2333275.fa.gz"


def test_concurrent_fetches_return_the_right_bases():
    ref = Reference(str(FASTA))
    rng = np.random.default_rng(0)
    starts = rng.integers(10_000, 2_300_000, size=400)
    expected = {int(s): ref.codes("chr2", int(s), int(s) + 10_100) for s in starts[:40]}

    def fetch(start):
        start = int(start)
        return start, ref.codes("chr2", start, start + 10_100), ref.text("chr2", start, start + 50)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(fetch, starts))
    assert len(results) == 400
    for start, codes, text in results:
        assert len(codes) == 10_101
        np.testing.assert_array_equal(encode(text), codes[:51])
        if start in expected:
            np.testing.assert_array_equal(codes, expected[start])
