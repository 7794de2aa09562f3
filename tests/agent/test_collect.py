"""Folder collection: files become outbox items once, are moved only after the commit, bad files quarantine."""
from __future__ import annotations

import shutil

from adapters.agent.collect import collect_folder
from adapters.agent.config import load
from adapters.agent.outbox import Outbox

from .conftest import write_config, write_documents


def _setup(tmp_path, pki_dir, after: str = "move"):
    path = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    if after == "keep":
        path.write_text(path.read_text().replace('pattern = "*.xml"', 'pattern = "*.xml"\nafter = "keep"'))
    config = load(path)
    return config, Outbox(config.outbox_path, organization="CLINIC01")


def test_files_moved_after_commit_and_never_collected_twice(tmp_path, pki_dir):
    config, outbox = _setup(tmp_path, pki_dir)
    source = config.sources[0]
    files = write_documents(tmp_path / "clinic", 5)
    assert collect_folder(outbox, config, source).added == 5
    assert not any(p.exists() for p in files)
    assert len(list(source.done_folder.glob("*.xml"))) == 5
    # a crash after the commit but before the move looks like this: the same file is back
    shutil.copy(source.done_folder / files[0].name, files[0])
    result = collect_folder(outbox, config, source)
    assert (result.files, result.added) == (0, 0)
    assert not files[0].exists()
    assert outbox.counts()["pending"] == 5


def test_keep_mode_remembers_files_by_digest(tmp_path, pki_dir):
    config, outbox = _setup(tmp_path, pki_dir, after="keep")
    source = config.sources[0]
    files = write_documents(tmp_path / "clinic", 3)
    assert collect_folder(outbox, config, source).added == 3
    assert all(p.exists() for p in files)
    assert collect_folder(outbox, config, source).files == 0
    files[0].write_bytes(files[0].read_bytes().replace(b"<version>1</version>", b"<version>2</version>"))
    result = collect_folder(outbox, config, source)  # a corrected version is a new record
    assert (result.files, result.added) == (1, 1)


def test_bad_files_are_quarantined_without_blocking_the_folder(tmp_path, pki_dir):
    config, outbox = _setup(tmp_path, pki_dir)
    write_documents(tmp_path / "clinic", 2)
    (tmp_path / "clinic" / "outgoing" / "broken.xml").write_bytes(b"<LabReport><unclosed>")
    (tmp_path / "clinic" / "outgoing" / "wrong.xml").write_bytes(b'<LabReport xmlns="urn:hie:doc:v1"/>')
    assert collect_folder(outbox, config, config.sources[0]).added == 4
    counts = outbox.counts()
    assert (counts["pending"], counts["quarantined"]) == (2, 2)
    codes = sorted(item.code for item in outbox.quarantined())
    assert codes[1] == "source.xml.malformed" and codes[0].startswith("record.")
    assert all(item.quarantined_by == "source" for item in outbox.quarantined())
