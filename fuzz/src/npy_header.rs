//! The npy header parser over arbitrary bytes, and the canonical header writer against the parser.

use seqring::format::npy::{parse_header, u8_vector_data, u8_vector_header, MAX_DIMS, U8_VECTOR_HEADER_LEN};

/// Parses `data` as an npy header and as a 1-D uint8 array; checks the results are within bounds. Then writes the
/// canonical header for a length taken from the first bytes and checks that it parses back to that length.
pub fn fuzz(data: &[u8]) {
    if let Ok(h) = parse_header(data) {
        assert!(h.data_offset <= data.len());
        assert!(h.shape.len() <= MAX_DIMS);
        assert!(h.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).is_some());
    }
    if let Ok(range) = u8_vector_data(data) {
        assert!(range.start <= range.end && range.end == data.len());
    }
    let mut n = [0u8; 8];
    let k = data.len().min(8);
    n[..k].copy_from_slice(&data[..k]);
    let n = u64::from_le_bytes(n);
    let header = u8_vector_header(n);
    let parsed = parse_header(&header).expect("the canonical header parses");
    assert_eq!(
        (parsed.descr, parsed.fortran_order, parsed.shape.as_slice()),
        ("|u1", false, &[n][..])
    );
    assert_eq!(parsed.data_offset, U8_VECTOR_HEADER_LEN);
}
