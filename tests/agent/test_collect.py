"""Folder collection: files become outbox items once, are moved only after the commit, bad files quarantine;
and files as clinics really write them (slowly, with sub-folders, sometimes unreadable or too big)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from adapters.agent.collect import collect_all, collect_folder, waiting_files
from adapters.agent.config import load
from adapters.agent.outbox import Outbox
from tests.support.documents import document_bytes

from .conftest import write_config, write_documents


def _setup(tmp_path, pki_dir, after: str = "move", *, replace: tuple[str, str] | None = None):
    path = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    if after == "keep":
        path.write_text(path.read_text().replace('pattern = "*.xml"', 'pattern = "*.xml"\nafter = "keep"'))
    if replace:
        path.write_text(path.read_text().replace(*replace))
    config = load(path)
    return config, Outbox(config.outbox_path, member="CLINIC01")


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


def test_a_file_still_being_written_is_left_for_the_next_run(tmp_path, pki_dir):
    # The clinic's system writes lab.xml in two steps. Collected half-written, it was quarantined
    # as malformed and moved to sent/, where the writer finished it: the record was never sent.
    config, outbox = _setup(tmp_path, pki_dir, replace=("settle_seconds = 0", "settle_seconds = 30"))
    source = config.sources[0]
    data = document_bytes("LabReport", document_id="CLINIC01-LAB-SLOW-00001")
    path = source.folder / "lab.xml"
    path.write_bytes(data[: len(data) // 2])
    result = collect_folder(outbox, config, source)
    assert (result.files, result.added) == (0, 0) and path.exists()
    path.write_bytes(data)
    old = time.time() - 60
    os.utime(path, (old, old))  # the writer is done: the file has not changed for a minute
    assert collect_folder(outbox, config, source).added == 1
    assert outbox.counts()["pending"] == 1 and outbox.quarantined() == []


def test_recursive_pattern_does_not_collect_the_done_folder_again(tmp_path, pki_dir):
    # docs/agent.md suggests patterns like **/*.hl7; done_folder defaults to FOLDER/sent.
    config, outbox = _setup(tmp_path, pki_dir, replace=('pattern = "*.xml"', 'pattern = "**/*.xml"'))
    source = config.sources[0]
    write_documents(config.path.parent, 2)
    assert collect_folder(outbox, config, source).added == 2
    for _ in range(2):
        assert collect_folder(outbox, config, source).files == 0
    moved = sorted(p.relative_to(source.folder).as_posix() for p in source.folder.rglob("*.xml"))
    assert moved == ["sent/lab-AG-00000.xml", "sent/lab-AG-00001.xml"]


def test_an_unreadable_file_does_not_block_the_folder(tmp_path, pki_dir, monkeypatch):
    # A file locked by another program (Windows) or owned by another user: the rest still go.
    config, outbox = _setup(tmp_path, pki_dir)
    source = config.sources[0]
    files = write_documents(config.path.parent, 3)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == files[1].name:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    (result,) = collect_all(outbox, config)
    assert result.added == 2
    assert files[1].exists() and not files[0].exists() and not files[2].exists()
    assert "PermissionError" in outbox.get_meta("last_error")


def test_a_missing_source_folder_is_reported_not_silently_empty(tmp_path, pki_dir):
    # A typo in folder = "..." used to collect nothing, every minute, without a word.
    config, outbox = _setup(tmp_path, pki_dir, replace=('folder = "outgoing"', 'folder = "outgoin"'))
    (result,) = collect_all(outbox, config)
    assert result.added == 0 and "does not exist" in result.error
    assert "does not exist" in outbox.get_meta("last_error")


def test_a_file_over_max_file_bytes_is_quarantined_unread(tmp_path, pki_dir):
    # A 100 MB export read whole cost ~4x its size in memory; the hub refuses such a message anyway.
    config, outbox = _setup(tmp_path, pki_dir, replace=("settle_seconds = 0", "settle_seconds = 0\nmax_file_bytes = 4096"))
    source = config.sources[0]
    assert source.max_file_bytes == 4096
    big = source.folder / "big.xml"
    big.write_bytes(b"<x>" + b"a" * 10_000 + b"</x>")
    write_documents(config.path.parent, 1)
    result = collect_folder(outbox, config, source)
    assert result.added == 2 and result.quarantined == ("big.xml (source.file.too_large)",)
    assert big.exists() and not (source.done_folder / "big.xml").exists()  # never sent: not moved to sent/
    [quarantined] = outbox.quarantined()
    assert quarantined.code == "source.file.too_large" and quarantined.field == quarantined.origin == "big.xml"
    again = collect_folder(outbox, config, source)
    assert (again.added, again.quarantined) == (0, ()) and big.exists()


def test_a_file_that_is_not_the_expected_document_stays_in_place_named_in_its_quarantine(tmp_path, pki_dir):
    # Quarantined files used to be moved into sent/ beside the ones that were sent, and their
    # quarantine entry said "sha256:…": nobody could tell which file to fix.
    config, outbox = _setup(tmp_path, pki_dir)
    source = config.sources[0]
    good = write_documents(config.path.parent, 2)
    (source.folder / "broken.xml").write_bytes(b"<LabReport><unclosed>")
    (source.folder / "wrong.xml").write_bytes(b'<LabReport xmlns="urn:hie:doc:v1"/>')
    result = collect_folder(outbox, config, source)
    assert result.added == 4 and not any(p.exists() for p in good)
    assert sorted(result.quarantined)[0] == "broken.xml (source.xml.malformed)"
    assert sorted(result.quarantined)[1].startswith("wrong.xml (record.")
    assert (source.folder / "broken.xml").exists() and (source.folder / "wrong.xml").exists()
    assert sorted(p.name for p in source.done_folder.iterdir()) == sorted(p.name for p in good)
    assert sorted(item.origin for item in outbox.quarantined()) == ["broken.xml", "wrong.xml"]
    assert {item.origin for item in outbox.backlog(10)} == {p.name for p in good}
    again = collect_folder(outbox, config, source)  # still there next run: not quarantined again, not moved
    assert (again.files, again.added, again.quarantined) == (0, 0, ())
    assert (source.folder / "broken.xml").exists()
    # corrected in place by the clinic: collected as a new item, and now moved like any sent file
    (source.folder / "broken.xml").write_bytes(document_bytes("LabReport", document_id="CLINIC01-LAB-FIXED-1"))
    fixed = collect_folder(outbox, config, source)
    assert (fixed.added, fixed.quarantined) == (1, ()) and (source.done_folder / "broken.xml").exists()
    assert not (source.folder / "broken.xml").exists()


def test_files_held_back_by_settle_seconds_are_counted(tmp_path, pki_dir):
    config, outbox = _setup(tmp_path, pki_dir, replace=("settle_seconds = 0", "settle_seconds = 30"))
    source = config.sources[0]
    settled = write_documents(config.path.parent, 2, tag="OLD")
    for path in settled:
        os.utime(path, (time.time() - 60, time.time() - 60))
    write_documents(config.path.parent, 3, tag="NEW")
    assert waiting_files(source) == 3
    result = collect_folder(outbox, config, source)
    assert (result.added, result.waiting) == (2, 3)
    assert waiting_files(source, now=time.time() + 31) == 0
