//! numpy reads a `MappedArray` file zero-copy with `np.memmap`, using only the documented header fields
//! (docs/FORMATS.md, "Mapped files"): the dtype code at byte 38, the count at byte 40 and section 0's offset at byte
//! 64. Needs `python3` with numpy (`pip install numpy`), as the other interop tests do.

use seqring_mapped::MappedArray;
use std::process::Command;

const SCRIPT: &str = r#"
import sys, numpy as np
path, = sys.argv[1:]
head = open(path, 'rb').read(256)
assert head[:8] == b'SEQRMAP\0'
codes = {4: '<i4', 9: '<u8', 12: '<f8', 14: '<c16'}
descr = codes[head[38]]
count = int(np.frombuffer(head[40:48], '<u8')[0])
offset = int(np.frombuffer(head[64:72], '<u8')[0])
a = np.memmap(path, dtype=descr, mode='r', offset=offset, shape=(count,))
print(descr, count, repr(a[:3].tolist()), repr(a[-1].item()), repr(float(np.abs(a).sum())))
"#;

fn numpy(path: &std::path::Path) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(path)
        .output()
        .expect("python3 is required");
    assert!(
        out.status.success(),
        "numpy failed (pip install numpy): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
#[cfg_attr(windows, ignore = "runs python3 with numpy, which the wine prefix lacks")]
fn mapped_arrays_are_readable_by_numpy_memmap() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f64");
    MappedArray::<f64>::build((0..1000).map(|i| i as f64 * 0.5 - 3.0), &p).unwrap();
    // sum of |i/2 - 3| for i < 1000 = 3 + 2.5 + ... + 0 + 0.5 + ... + 496.5
    let expect: f64 = (0..1000).map(|i| (i as f64 * 0.5 - 3.0).abs()).sum();
    assert_eq!(numpy(&p), format!("<f8 1000 [-3.0, -2.5, -2.0] 496.5 {expect:?}"));

    let p = dir.path().join("i32");
    MappedArray::<i32>::build((0..77).map(|i| -i * 1000), &p).unwrap();
    assert_eq!(numpy(&p), "<i4 77 [0, -1000, -2000] -76000 2926000.0");

    let p = dir.path().join("c16");
    MappedArray::<num_complex::Complex<f64>>::build([num_complex::Complex::new(3.0, 4.0); 2], &p).unwrap();
    assert_eq!(numpy(&p), "<c16 2 [(3+4j), (3+4j)] (3+4j) 10.0");
}
