"""seqring.LogTail: a tailer process follows a running logger fed from another process, and sees every message once,
in order, exactly as the assembled archive holds it; the tail ends when the logger stops."""


import pytest

import seqring

MESSAGES = 5_000


def tailer(log_dir, ready, results):
    tail = seqring.LogTail(log_dir, from_start=True)
    ready.set()
    results.put([(source, ts, payload) for source, ts, payload in tail])


def producer(name, source):
    p = seqring.Producer.connect(name, source)
    for i in range(MESSAGES):
        p.log_at(i + 1, i.to_bytes(4, "little") * 3)


def test_a_tailer_process_sees_every_message_once_as_the_archive_holds_it(tmp_path, name, children):
    logger = seqring.DataLogger(tmp_path, name, segment_size=64 << 10, on_full="wait", flush_interval=0.0002)
    logger.start()
    ready, results = children.ctx.Event(), children.ctx.Queue()
    t = children.start(tailer, logger.log_dir, ready, results)
    assert ready.wait(60)
    children.join_ok(children.start(producer, name, 4))
    report = logger.stop()
    got = results.get(timeout=120)
    children.join_ok(t)
    assert len(report["files"]) > 1, "the log rolled over segments while the tailer followed it"
    assert [m[2] for m in got] == [i.to_bytes(4, "little") * 3 for i in range(MESSAGES)]
    seqring.assemble_log_archives(logger.log_dir)
    archive = seqring.LogArchive(logger.log_dir / "4_log.npz")
    assert [(4, int(ts)) for ts in archive.read_all()[0]] == [(s, ts) for s, ts, _ in got]


def test_a_tail_waits_with_a_timeout_and_refuses_a_missing_directory(tmp_path, name):
    with seqring.DataLogger(tmp_path, name) as logger:
        tail = seqring.LogTail(logger.log_dir)
        assert tail.next(timeout=0.05) is None and not tail.finished
        seqring.Producer.connect(name, 2).log(b"now")
        source, _, payload = tail.next(timeout=10)
        assert (source, payload) == (2, b"now")
    assert tail.next(timeout=10) is None and tail.finished
    with pytest.raises(seqring.NotFoundError):
        seqring.LogTail(tmp_path / "missing")
