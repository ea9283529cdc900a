"""The committed Pangolin weights fixture as a model folder the ``pangolin`` command layout expects.

``tests/data/pangolin/weights`` holds replicate 1 of each tissue model the command uses
(``final.1.{0,2,4,6}.3.v2``, GPL-3.0, see the README there). ``fixture_model_dir`` links it under all
twelve names, replicate 1 standing in for replicates 2 and 3 (how the committed reference outputs
in ``tests/data/pangolin/original_fixture/`` were made with the original tool).
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "pangolin"
WEIGHTS = DATA / "weights"
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"


def fixture_model_dir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for model in (0, 2, 4, 6):
        for rep in (1, 2, 3):
            link = folder / f"final.{rep}.{model}.3.v2"
            if not link.exists():
                os.symlink(WEIGHTS / f"final.1.{model}.3.v2", link)
    return folder
