//! Seqlock models: no successful read is ever torn, and versions match the data they came with; of two
//! recoverers of one dead writer exactly one recovers, and neither takes a live writer's lock.
#![cfg(loom)]

use loom::thread;
use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
use seqring_core::{DType, RawRegion, Spins};
use seqring_loom::{leaked_region, model, spin_until};

const STAMP: WriteStamp = WriteStamp { token: 1, time_ns: 1 };
/// Writes by the single writer.
const WRITES: u64 = 1;

fn array() -> &'static SeqArray<RawRegion<'static>> {
    let array = SeqArray::create(leaked_region(region_len(16).unwrap()), DType::U64, &[2], 1, 0).unwrap();
    Box::leak(Box::new(array))
}

/// Reads once, with the snapshot read or the lean one; a successful read must hold two equal elements. Returns
/// (version, value).
fn read(array: &SeqArray<RawRegion<'_>>, lean: bool) -> Option<(u64, u64)> {
    let mut out = [0u64; 2];
    let version = if lean {
        array.read_into(0, &mut out, Spins(1)).ok()?
    } else {
        array.read_elements(0, &mut out, Spins(1)).ok()?.version
    };
    assert_eq!(out[0], out[1], "torn read: {out:?} at version {version}");
    Some((version, out[0]))
}

/// As `one_writer_two_readers`, with the guard-less whole write (`write_all`, what `SharedArray::write` runs) and
/// one lean reader: its lock, stamp, copy and unlock are the same protocol, written without a guard.
#[test]
fn a_whole_writer_and_a_reader() {
    model(|| {
        let array = array();
        let writer = thread::spawn(move || {
            for v in 1..=WRITES {
                array.write_all(&[v, v], STAMP, Spins(0)).unwrap();
            }
        });
        if let Some((version, value)) = read(array, true) {
            assert_eq!(version, value, "version and data disagree");
        }
        writer.join().unwrap();
        assert_eq!(read(array, true), Some((WRITES, WRITES)));
    });
}

#[test]
fn one_writer_two_readers() {
    model(|| {
        let array = array();
        let writer = thread::spawn(move || {
            for v in 1..=WRITES {
                array.write_elements(0, &[v, v], STAMP, Spins(0)).unwrap();
            }
        });
        let readers: Vec<_> = [false, true]
            .into_iter()
            .map(|lean| {
                thread::spawn(move || {
                    if let Some((version, value)) = read(array, lean) {
                        // The single writer writes value v as version v.
                        assert_eq!(version, value, "version and data disagree");
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(read(array, false), Some((WRITES, WRITES)));
    });
}

#[test]
fn two_writers_one_reader() {
    model(|| {
        let array = array();
        let writers: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|v| {
                thread::spawn(move || {
                    // The writer lock is a CAS on the sequence: wait for the other writer, yielding to loom.
                    let mut guard = spin_until("the writer lock", || array.lock(STAMP, Spins(0)).ok());
                    guard.write_elements(0, &[v]).unwrap();
                    guard.write_elements(1, &[v]).unwrap();
                })
            })
            .collect();
        let reader = thread::spawn(move || {
            if let Some((version, value)) = read(array, true) {
                assert!(
                    version <= 2 && (version == 0) == (value == 0),
                    "v{version} holds {value}"
                );
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        reader.join().unwrap();
        let (version, value) = read(array, false).unwrap();
        assert_eq!(version, 2);
        assert!(value == 1 || value == 2);
    });
}

#[test]
fn two_recoverers_of_a_dead_writer_and_a_live_writer() {
    model(|| {
        let array = array();
        array.write_elements(0, &[1u64, 1], STAMP, Spins(0)).unwrap();
        // A writer dies inside its write section, half done.
        let mut dead = array.lock(WriteStamp { token: 9, time_ns: 9 }, Spins(0)).unwrap();
        dead.write_elements(0, &[66u64]).unwrap();
        std::mem::forget(dead);
        let stalled = array.stall().expect("the dead writer holds the lock").sequence;
        // Both recoverers judged that stall dead; a live writer waits for the lock meanwhile.
        let recoverers: Vec<_> = (0..2).map(|_| thread::spawn(move || array.recover(stalled))).collect();
        let writer = thread::spawn(move || {
            let mut guard = spin_until("the writer lock", || array.lock(STAMP, Spins(0)).ok());
            guard.write_elements(0, &[2u64]).unwrap();
            guard.write_elements(1, &[2u64]).unwrap();
        });
        let recovered: Vec<bool> = recoverers.into_iter().map(|r| r.join().unwrap()).collect();
        writer.join().unwrap();
        assert_eq!(
            recovered.iter().filter(|&&r| r).count(),
            1,
            "exactly one recovery: {recovered:?}"
        );
        // Sequence 2 (version 1), the dead lock 3, its recovery 3 -> 5 -> 6 (version 3), the live write 6 -> 8
        // (version 4): never backwards, never torn.
        assert_eq!(read(array, false), Some((4, 2)));
    });
}

#[test]
fn a_recovered_array_reads_as_suspect() {
    model(|| {
        let array = array();
        array.write_elements(0, &[1u64, 1], STAMP, Spins(0)).unwrap();
        std::mem::forget(array.lock(WriteStamp { token: 9, time_ns: 9 }, Spins(0)).unwrap());
        let stalled = array.stall().unwrap().sequence;
        let recoverer = thread::spawn(move || assert!(array.recover(stalled)));
        // A reader that sees the recovered sequence must see the suspect flag the recoverer set under it.
        let mut out = [0u64; 2];
        if let Ok(snap) = array.read_elements(0, &mut out, Spins(1)) {
            assert_eq!(out, [1, 1]);
            assert!(
                snap.version < 3 || snap.suspect,
                "v{} read without the suspect flag",
                snap.version
            );
        }
        recoverer.join().unwrap();
    });
}

/// The layout-checking lean read (`read_bytes_as`, what the Python binding's hot paths run) against a writer that
/// reshapes and writes in one write section: a read that claims a layout returns data written under that layout,
/// never torn, and never the other layout's data.
#[test]
fn a_layout_checking_reader_and_a_reshaping_writer() {
    model(|| {
        let array = array();
        let writer = thread::spawn(move || {
            let mut guard = array.lock(STAMP, Spins(0)).unwrap();
            guard.reshape(DType::U64, &[1, 2]).unwrap();
            guard.write_elements(0, &[1u64]).unwrap();
            guard.write_elements(1, &[1u64]).unwrap();
        });
        for (shape, expected) in [(&[2u64][..], (0, 0)), (&[1, 2][..], (1, 1))] {
            let mut raw = [0u8; 16];
            if let Ok(Some(version)) = array.read_bytes_as(DType::U64, shape, 0, &mut raw, Spins(1)) {
                let (low, high) = raw.split_at(8);
                let out = [low, high].map(|w| u64::from_ne_bytes(w.try_into().unwrap()));
                assert_eq!(out[0], out[1], "torn read: {out:?} at version {version}");
                assert_eq!((version, out[0]), expected, "{shape:?}");
            }
        }
        writer.join().unwrap();
        let mut raw = [0u8; 16];
        assert_eq!(array.read_bytes_as(DType::U64, &[2], 0, &mut raw, Spins(0)), Ok(None));
        assert_eq!(
            array.read_bytes_as(DType::U64, &[1, 2], 0, &mut raw, Spins(0)),
            Ok(Some(1))
        );
    });
}
