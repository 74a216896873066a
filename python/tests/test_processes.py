"""SharedArray across real processes (spawn): one writer, three readers, no torn read."""


import numpy as np

from seqring import SharedArray

READS = 200_000
ELEMENTS = 256


def writer(name, ready, stop, counts):
    a = SharedArray.open(name, dtype=np.int64, shape=ELEMENTS)
    ready.wait()
    buf = np.empty(ELEMENTS, dtype=np.int64)
    value = 0
    while not stop.is_set():
        value += 1
        buf.fill(value)
        a.write(buf)
    counts.put(("writer", value))


def reader(name, ready, results):
    a = SharedArray.open(name, dtype=np.int64, shape=ELEMENTS)
    out = np.empty(ELEMENTS, dtype=np.int64)
    ready.wait()
    torn = 0
    seen = set()
    last = -1
    backwards = 0
    for _ in range(READS):
        a.read(out=out)
        first = out[0]
        if not (out == first).all():
            torn += 1
        if first < last:
            backwards += 1
        last = first
        seen.add(int(first))
    results.put(("reader", torn, backwards, len(seen)))


def test_one_writer_three_readers_never_tear(name, children):
    ctx = children.ctx
    with SharedArray.create(name, ELEMENTS, np.int64):
        ready = ctx.Barrier(5)  # the writer, 3 readers and this process: all start together
        stop = ctx.Event()
        results = ctx.Queue()
        children.start(writer, name, ready, stop, results)
        for _ in range(3):
            children.start(reader, name, ready, results)
        ready.wait(timeout=60)
        reports = [results.get(timeout=300) for _ in range(3)]
        stop.set()
        writes = results.get(timeout=60)
        children.join_ok()
    assert writes[0] == "writer" and writes[1] > 0
    for _, torn, backwards, distinct in reports:
        assert torn == 0, f"{torn} torn reads of {READS}"
        assert backwards == 0, "a reader saw the counter go backwards"
        assert distinct > 1, "the readers must overlap the writer's writes"
