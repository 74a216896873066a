"""A program written against the ataraxis-data-structures 7.2.0 API, run by test_compat_program.py.

Its one seqring-specific line is the import below; with ``from ataraxis_data_structures import ...`` in its place it
is an ordinary ataraxis program. It creates a shared array, hands it and the logger's input queue to a spawned
child, logs from both processes through the queue, stops the logger, assembles the archives, reads them back with
LogArchiveReader and prints what it read as JSON.

Usage: python ataraxis_program.py OUTPUT_DIRECTORY NAME MESSAGES
"""

import json
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from seqring.compat import DataLogger, LogArchiveReader, LogPackage, SharedMemoryArray, assemble_log_archives

PARENT, CHILD = 1, 2


def onset_package(source_id):
    """The package every source logs first: time 0, payload = the onset in µs since the UNIX epoch (uint64)."""
    onset = np.uint64(time.time_ns() // 1000)
    return LogPackage(
        source_id=np.uint8(source_id),
        acquisition_time=np.uint64(0),
        serialized_data=np.frombuffer(onset.tobytes(), dtype=np.uint8),
    )


def child(state, queue, messages):
    """Logs ``messages`` packages as source 2 and counts them in the shared array."""
    queue.put(onset_package(CHILD))
    for i in range(messages):
        payload = np.array([CHILD, i % 256, (i * 7) % 256], dtype=np.uint8)
        package = LogPackage(source_id=np.uint8(CHILD), acquisition_time=np.uint64(10 * i + 5), serialized_data=payload)
        queue.put(package)
        with state.array(with_lock=True) as array:
            array[0] += 1
    state[1] = 1
    state.disconnect()


def main():
    output_directory, name, messages = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    state = SharedMemoryArray.create_array(name=f"{name}-state", prototype=np.zeros(3, dtype=np.int64), exists_ok=True)
    logger = DataLogger(output_directory=output_directory, instance_name=name)
    logger.start()

    queue = logger.input_queue
    process = get_context("spawn").Process(target=child, args=(state, queue, messages))
    process.start()
    queue.put(onset_package(PARENT))
    for i in range(messages):
        payload = np.frombuffer(f"parent message {i}".encode(), dtype=np.uint8)
        queue.put(LogPackage(source_id=np.uint8(PARENT), acquisition_time=np.uint64(i + 1), serialized_data=payload))
        with state.array() as array:
            array[0] += 1
    process.join()

    logger.stop()
    assemble_log_archives(log_directory=logger.output_directory, remove_sources=True, verify_integrity=True)

    result = {"counted": int(state[0]), "child_done": int(state[1]), "log_directory": str(logger.output_directory)}
    for source in (PARENT, CHILD):
        reader = LogArchiveReader(archive_path=logger.output_directory / f"{source}_log.npz")
        batches = reader.get_batches(workers=2)
        iterated = [(int(m.timestamp_us), m.payload.tobytes().hex()) for b in batches for m in reader.iter_messages(b)]
        timestamps, payloads = reader.read_all_messages()
        assert iterated == [(int(t), p.tobytes().hex()) for t, p in zip(timestamps, payloads)]
        result[str(source)] = {
            "onset_us": int(reader.onset_timestamp_us),
            "message_count": reader.message_count,
            "messages": iterated,
        }
    state.destroy()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
