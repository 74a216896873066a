//! Shared arrays of record dtypes (any fixed-size numpy dtype that is not a plain one) across real processes, and
//! regions whose descriptor was corrupted:
//! - a parent creates a structured array with its numpy descr; a child (this test binary re-executed) opens it by
//!   name without knowing the dtype, finds the descr and item size, checks the parent's bytes and writes an element
//!   back, which the parent then reads;
//! - a region whose descriptor bytes, length or data offset were overwritten gives `SharedArrayError::Descr`, never
//!   an array over garbage.

use seqring::shared_array::{ArrayOptions, SharedArray, SharedArrayDyn, SharedArrayError};
use seqring_core::seqlock::DescrError;
use seqring_core::{DType, Memory};
use seqring_platform::Region;
use seqring_tests::child::{self, Child};
use seqring_tests::shm::{unique_name, Cleanup};

/// A nested structured dtype, as `numpy.lib.format.dtype_to_descr` writes it: 4 + 2 × 8 + (8 + 4) = 32 bytes.
const DESCR: &str = "[('id', '>u4'), ('pos', '<f8', (2,)), ('meta', [('name', '<U2'), ('ok', '|b1'), ('pad', '|V3')])]";
const ITEMSIZE: u32 = 4 + 16 + 8 + 1 + 3;
const RECORD: DType = DType::Record { itemsize: ITEMSIZE };

/// Element `i`'s bytes: every byte derived from `i` and its position, so a misplaced byte shows.
fn element(i: u8) -> Vec<u8> {
    (0..ITEMSIZE as u8).map(|b| i.wrapping_mul(31) ^ b).collect()
}

fn child_reader(name: &str) {
    let array = SharedArrayDyn::open(name).unwrap();
    assert_eq!(array.descr().unwrap(), DESCR);
    assert_eq!(array.created_as().0, RECORD);
    let read = array.read().unwrap();
    assert_eq!((read.dtype, read.shape.as_slice()), (RECORD, &[3u64][..]));
    let expected: Vec<u8> = (0..3).flat_map(element).collect();
    assert_eq!(read.data, expected);
    // Whole elements written back by offset: element 2 becomes element 9's bytes.
    array
        .write_bytes_as(RECORD, &[3], 2 * ITEMSIZE as usize, &element(9), None)
        .unwrap();
    child::say("wrote");
}

#[test]
fn a_record_array_is_opened_by_name_in_another_process() {
    if let Some((role, name)) = child::role() {
        assert_eq!(role, "reader");
        child_reader(&name);
        return;
    }
    let name = unique_name("record");
    let _cleanup = Cleanup(name.clone());
    let array = SharedArrayDyn::create_described(&name, RECORD, DESCR, &[3], &ArrayOptions::default()).unwrap();
    let data: Vec<u8> = (0..3).flat_map(element).collect();
    array.write_shaped(RECORD, &[3], &data).unwrap();
    let mut reader = Child::spawn(
        "a_record_array_is_opened_by_name_in_another_process",
        "reader",
        &name,
        &[],
    );
    reader.expect_line("wrote");
    reader.wait_ok();
    let read = array.read().unwrap();
    assert_eq!(&read.data[..2 * ITEMSIZE as usize], &data[..2 * ITEMSIZE as usize]);
    assert_eq!(&read.data[2 * ITEMSIZE as usize..], &element(9)[..]);
    assert_eq!(read.version, 2);
}

#[test]
fn records_are_refused_where_they_cannot_be_described() {
    let name = unique_name("record-refused");
    let _cleanup = Cleanup(name.clone());
    let options = ArrayOptions::default();
    let err = SharedArrayDyn::create_described(&name, RECORD, &"x".repeat(5000), &[1], &options).unwrap_err();
    assert!(matches!(
        err,
        SharedArrayError::Descr {
            reason: DescrError::TooLong { len: 5000 },
            ..
        }
    ));
    assert!(
        !seqring_tests::shm::exists(&name),
        "nothing is created for a refused descriptor"
    );
    let err = SharedArrayDyn::create(&name, RECORD, &[1], &options).unwrap_err();
    assert!(matches!(
        err,
        SharedArrayError::Descr {
            reason: DescrError::Missing,
            ..
        }
    ));
    let err = SharedArrayDyn::create_described(&name, DType::F64, "<f8", &[1], &options).unwrap_err();
    assert!(matches!(
        err,
        SharedArrayError::Descr {
            reason: DescrError::Unexpected,
            ..
        }
    ));
    // A typed handle of a record array: a dtype mismatch that says what the array holds.
    let _record = SharedArrayDyn::create_described(&name, RECORD, DESCR, &[1], &options).unwrap();
    let err = SharedArray::<u64>::open(&name).unwrap_err();
    assert!(err.to_string().contains("record (32-byte)"), "{err}");
    // Only the record the descriptor describes: another record size is refused, a plain byte view is not.
    let any = SharedArrayDyn::open(&name).unwrap();
    assert!(matches!(
        any.reshape(DType::Record { itemsize: 16 }, &[2]),
        Err(SharedArrayError::DTypeMismatch { .. })
    ));
    any.reshape(DType::U8, &[32]).unwrap();
}

#[test]
fn a_corrupt_descriptor_is_a_typed_error() {
    const DESCR_LEN_AT: usize = 448;
    const DESCR_AT: usize = 456;
    const DATA_OFFSET_AT: usize = 152;
    let name = unique_name("record-corrupt");
    let _cleanup = Cleanup(name.clone());
    let array = SharedArrayDyn::create_described(&name, RECORD, DESCR, &[2], &ArrayOptions::default()).unwrap();
    array.persist();
    drop(array);
    // Another process's mapping of the region, through which the damage is done.
    let raw = Region::open_shm(&name).unwrap();
    let ordering = std::sync::atomic::Ordering::Relaxed;
    let open_err = || match SharedArrayDyn::open(&name) {
        Ok(_) => panic!("a corrupt region opened"),
        Err(SharedArrayError::Descr { reason, .. }) => reason,
        Err(other) => panic!("not a descriptor error: {other}"),
    };

    raw.copy_in(DESCR_AT + 5, &[0x80]);
    assert_eq!(open_err(), DescrError::NotText { at: 5 });
    raw.copy_in(DESCR_AT + 5, b"'");
    assert!(SharedArrayDyn::open(&name).is_ok(), "restored");
    // A reader that opened before the damage sees it on its next look.
    let early = SharedArrayDyn::open(&name).unwrap();
    raw.copy_in(DESCR_AT, b"\n");
    assert!(matches!(early.descr(), Err(SharedArrayError::Descr { .. })));
    raw.copy_in(DESCR_AT, b"[");

    raw.store(DESCR_LEN_AT, 1 << 40, ordering);
    assert_eq!(open_err(), DescrError::TooLong { len: 1 << 40 });
    raw.store(DESCR_LEN_AT, 0, ordering);
    assert_eq!(open_err(), DescrError::Missing);
    raw.store(DESCR_LEN_AT, 2, ordering); // the data would start at 512, not where the header says
    assert!(matches!(open_err(), DescrError::Misplaced { .. }));
    raw.store(DESCR_LEN_AT, DESCR.len() as u64, ordering);
    let data_at = raw.load(DATA_OFFSET_AT, ordering);
    raw.store(DATA_OFFSET_AT, data_at + 64, ordering);
    assert_eq!(
        open_err(),
        DescrError::Misplaced {
            data_offset: data_at + 64
        }
    );
    raw.store(DATA_OFFSET_AT, data_at, ordering);
    assert_eq!(SharedArrayDyn::open(&name).unwrap().descr().unwrap(), DESCR);
}
