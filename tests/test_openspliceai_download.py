"""OpenSpliceAI weights from a local folder or, only when the config lists them, from URLs with a
SHA-256 check per file (validsplice.io.download, rule download_openspliceai). No network: file:// URLs
and a stand-in opener."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from validsplice.common.errors import UserError
from validsplice.config.download_entries import check_url_entries
from validsplice.config.workflow_config import check_input_files
from validsplice.io.download import download_checkpoints, download_verified

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_file_url_download_is_kept_only_when_its_checksum_matches(tmp_path):
    src = tmp_path / "src" / "model_10000nt_rs10.pt"
    src.parent.mkdir()
    src.write_bytes(b"weights" * 1000)
    dest = tmp_path / "weights"
    entries = [{"url": src.as_uri(), "sha256": sha(src.read_bytes()).upper()}]  # hex case does not matter
    assert download_checkpoints(entries, dest) == [dest / "model_10000nt_rs10.pt"]
    assert (dest / "model_10000nt_rs10.pt").read_bytes() == src.read_bytes()

    other = tmp_path / "other"
    with pytest.raises(UserError, match=r"SHA-256 [0-9a-f]{64} \(7,000 bytes\) differs from the configured 0{64}"):
        download_checkpoints([{"url": src.as_uri(), "sha256": "0" * 64}], other)
    assert not other.exists() or not list(other.iterdir())  # neither the file nor a partial one


def test_opener_errors_and_truncated_downloads_leave_nothing(tmp_path):
    data = b"\x00\x01" * 5000

    def truncated(url):
        return io.BytesIO(data[:100])

    with pytest.raises(UserError, match="differs from the configured"):
        download_verified("https://example.org/m.pt", tmp_path / "m.pt", sha(data), opener=truncated)

    def offline(url):
        raise OSError("network unreachable")

    with pytest.raises(UserError, match=r"Could not download https://example.org/m.pt: network unreachable"):
        download_verified("https://example.org/m.pt", tmp_path / "m.pt", sha(data), opener=offline)
    assert list(tmp_path.iterdir()) == []
    calls = []

    def good(url):
        calls.append(url)
        return io.BytesIO(data)

    assert download_verified("https://example.org/m.pt", tmp_path / "m.pt", sha(data), opener=good).read_bytes() == data
    assert calls == ["https://example.org/m.pt"]


@pytest.mark.parametrize("entries, message", [
    ([{"url": "https://x/a.pt"}], "sha256 None is not 64 hexadecimal digits"),
    ([{"url": "https://x/a.pt", "sha256": "abc"}], "sha256 'abc' is not 64"),
    ([{"sha256": "0" * 64}], "needs a url and a sha256"),
    ([{"url": "https://x/a.bin", "sha256": "0" * 64}], "does not end in a .pt file name"),
    ([{"url": "https://x/a.pt", "sha256": "0" * 64}, {"url": "https://y/a.pt", "sha256": "1" * 64}],
     r"\[1\]: https://y/a.pt ends in the same file name as entry 0"),
    ("https://x/a.pt", "expected a list"),
])
def test_bad_url_entries_name_the_key_and_entry(entries, message):
    with pytest.raises(UserError, match=r"config base_model.openspliceai_urls.*" + message):
        check_url_entries(entries, "base_model.openspliceai_urls")


def validated(tmp_path, **base_model) -> dict:
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\nACGT\n")
    variants = tmp_path / "v.tsv"
    variants.write_text("x\n")
    cfg = {"variants": {"path": str(variants)}, "reference": {"fasta": str(fasta)},
           "base_model": {"name": "openspliceai", **base_model}}
    validate(cfg, str(SCHEMA))
    return cfg


def test_missing_folder_without_urls_is_a_parse_time_error_naming_both_keys(tmp_path):
    with pytest.raises(UserError) as err:
        check_input_files(validated(tmp_path, openspliceai_dir=str(tmp_path / "mane")))
    msg = str(err.value)
    assert msg.startswith("config base_model.openspliceai_dir:") and "does not exist" in msg
    assert "base_model.openspliceai_urls" in msg  # what to do: a folder, or the URLs to download


def test_urls_make_the_folder_a_download_target(tmp_path):
    entry = {"url": "https://example.org/model_10000nt_rs10.pt", "sha256": "a" * 64}
    cfg = validated(tmp_path, openspliceai_dir=str(tmp_path / "mane"), openspliceai_urls=[entry])
    check_input_files(cfg)  # the folder need not exist yet: the download rule makes it
    assert not (tmp_path / "mane").exists()  # and nothing was fetched at parse time
    with pytest.raises(UserError, match="openspliceai_dir is empty"):
        check_input_files(validated(tmp_path, openspliceai_urls=[entry]))


def test_schema_default_downloads_nothing():
    schema = yaml.safe_load(SCHEMA.read_text())
    urls = schema["properties"]["base_model"]["properties"]["openspliceai_urls"]
    assert urls["default"] == [] and set(urls["items"]["required"]) == {"url", "sha256"}
    for name in ("config.yaml", "splicevardb.yaml"):
        shipped = yaml.safe_load((ROOT / "config" / name).read_text())
        assert not shipped["base_model"].get("openspliceai_urls")


@pytest.mark.slow
def test_workflow_downloads_only_when_urls_are_configured(tmp_path, copy_workflow, run_snakemake, planned_jobs):
    """With openspliceai_urls the scoring shards wait for download_openspliceai; the rule fetches (file://
    here) and checks the file, and a wrong checksum fails it. Without the key the rule does not exist."""
    work = copy_workflow(tmp_path / "wf")
    config = work / "config" / "config.yaml"

    def set_config(old, new):
        text = config.read_text()
        assert old in text, old
        config.write_text(text.replace(old, new, 1))

    src = tmp_path / "model_10000nt_rs10.pt"
    src.write_bytes(b"not a real checkpoint, only downloaded")
    urls = f"\n  openspliceai_urls:\n    - {{url: {src.as_uri()}, sha256: {sha(src.read_bytes())}}}"
    set_config("name: spliceai ", "name: openspliceai ")
    set_config('openspliceai_dir: ""', "openspliceai_dir: resources/osai" + urls)
    plan = planned_jobs(run_snakemake(work, "-n"))
    assert plan["download_openspliceai"] == 1 and plan["score_shard"] == 2
    target = work / "resources" / "osai" / "model_10000nt_rs10.pt"
    run_snakemake(work, str(target.relative_to(work)), cores=1)
    assert target.read_bytes() == src.read_bytes()
    assert "SHA-256" in (work / "logs" / "openspliceai" / "download.log").read_text()

    set_config(sha(src.read_bytes()), "f" * 64)  # a wrong checksum: the download fails, nothing is kept
    target.unlink()
    proc = run_snakemake(work, str(target.relative_to(work)), check=False, cores=1)
    assert proc.returncode != 0 and "differs from the configured " + "f" * 64 in proc.stdout + proc.stderr
    assert not target.exists()

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"x")  # the same folder, given locally: no download rule at all
    set_config(urls.replace(sha(src.read_bytes()), "f" * 64), "")
    plan = planned_jobs(run_snakemake(work, "-n"))
    assert "download_openspliceai" not in plan and plan["score_shard"] == 2
