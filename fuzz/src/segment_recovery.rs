//! Segment scanning and recovery over arbitrary bytes, in memory and on a real file; and the segment reader over a
//! batch of arbitrary ring bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use seqring::format::segment::{recover, scan, Segment, SegmentWriter, Tail};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A path in the temporary directory unique to this process and call.
fn temp_path() -> std::path::PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("seqring-fuzz-{}-{n}.seg", std::process::id()))
}

/// Scans `data`; checks that the valid prefix scans clean and that recovery of the same bytes in a file keeps
/// exactly that prefix. Then appends `data` (cut to whole words) as one batch and reads it back.
pub fn fuzz(data: &[u8]) {
    let s = scan(data);
    assert!(s.valid_len as usize <= data.len());
    if s.tail == Tail::Clean {
        assert_eq!(s.valid_len as usize, data.len());
    }
    if let Tail::Torn { offset, .. } = s.tail {
        assert_eq!(offset, s.valid_len);
        let again = scan(&data[..s.valid_len as usize]);
        assert_eq!(
            (again.tail, again.batches, again.records),
            (Tail::Clean, s.batches, s.records)
        );
    }

    let path = temp_path();
    std::fs::write(&path, data).expect("temp file");
    match recover(&path) {
        Ok(report) => {
            assert_eq!(report.len, s.valid_len);
            assert_eq!(std::fs::metadata(&path).expect("metadata").len(), report.len);
            assert!(matches!(s.tail, Tail::Clean | Tail::Torn { .. }));
            let segment = Segment::open(&path).expect("a recovered segment opens");
            assert!(segment.records().all(|r| r.is_ok()));
        }
        Err(_) => {
            assert!(!matches!(s.tail, Tail::Clean | Tail::Torn { .. }));
            assert_eq!(
                std::fs::read(&path).expect("read"),
                data,
                "a failed recovery changes nothing"
            );
        }
    }
    let _ = std::fs::remove_file(&path);

    let words = data.len() / 8 * 8;
    if words > 0 {
        let mut w = SegmentWriter::create(&path, 0).expect("create");
        w.append_batch(&data[..words]).expect("append");
        w.finish().expect("finish");
        let segment = Segment::open(&path).expect("open");
        let _ = segment.records().count();
        assert_eq!(segment.batches().count(), 1);
        let _ = std::fs::remove_file(&path);
    }
}
