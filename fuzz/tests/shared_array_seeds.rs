//! The shared_array_open seeds are built from docs/FORMATS.md by gen_shared_array_seeds.py; check that the valid
//! ones open and read as documented and the broken ones fail the way their names say, so the fuzzer starts deep.

use seqring_platform::{CreateOptions, Region, RegionError};
use seqring::shared_array::{ArrayOptions, SharedArray, SharedArrayDyn, SharedArrayError};
use seqring_core::seqlock::DescrError;
use seqring_core::{DType, Memory};
use std::time::Duration;

fn with_seed(name: &str, check: impl FnOnce(&str)) {
    let bytes = std::fs::read(format!("{}/corpus/shared_array_open/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let shm = format!("seqring-fuzz-seed-{name}-{}", std::process::id());
    let region = Region::create_shm(&shm, bytes.len().max(8), CreateOptions::default().replace(true)).unwrap();
    region.copy_in(0, &bytes);
    check(&shm);
}

fn quick() -> ArrayOptions {
    ArrayOptions::default().timeout(Duration::ZERO)
}

#[test]
fn documented_array_layouts_open_and_broken_ones_fail_as_named() {
    with_seed("f64x8_written", |n| {
        let a = SharedArray::<f64>::open_with(n, Some(&[8]), &quick()).unwrap();
        let mut out = [0f64; 8];
        assert_eq!(a.read_into(&mut out).unwrap(), 1);
        assert_eq!(out, [0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5]);
        assert_eq!(a.snapshot().unwrap().token >> 32, 4242);
    });
    with_seed("u16_2x3_reshaped", |n| {
        let r = SharedArrayDyn::open_with(n, &quick()).unwrap().read().unwrap();
        assert_eq!((r.dtype, r.shape.as_slice()), (DType::U16, &[2u64, 3][..]));
    });
    with_seed("stalled", |n| {
        let e = SharedArray::<f64>::open_with(n, None, &quick()).unwrap_err();
        assert!(matches!(e, SharedArrayError::WriterStalled { pid: 0, .. }), "{e:?}");
    });
    for broken in ["shape_past_capacity", "nbytes_disagrees", "bad_dtype", "ndim_9", "garbage", "truncated"] {
        with_seed(broken, |n| {
            let e = SharedArrayDyn::open_with(n, &quick()).and_then(|a| a.read().map(|_| ()));
            assert!(
                matches!(e, Err(SharedArrayError::Region(RegionError::BadLayout { .. }))),
                "{broken}: {e:?}"
            );
        });
    }
    with_seed("record_u8x2", |n| {
        let a = SharedArrayDyn::open_with(n, &quick()).unwrap();
        assert_eq!(a.descr().unwrap(), "<U8");
        let r = a.read().unwrap();
        assert_eq!((r.dtype, r.shape.as_slice()), (DType::Record { itemsize: 32 }, &[2u64][..]));
        assert_eq!(&r.data[..8], b"h\0\0\0e\0\0\0");
    });
    with_seed("record_nested", |n| {
        let a = SharedArrayDyn::open_with(n, &quick()).unwrap();
        assert!(a.descr().unwrap().starts_with("[('id', '>u4')"));
        assert_eq!(a.read().unwrap().data, (0..96).collect::<Vec<u8>>());
    });
    for (broken, reason) in [
        ("record_descr_not_ascii", DescrError::NotText { at: 2 }),
        ("record_descr_too_long", DescrError::TooLong { len: 1 << 20 }),
        ("record_descr_missing", DescrError::Missing),
        ("record_data_misplaced", DescrError::Misplaced { data_offset: 576 }),
    ] {
        with_seed(broken, |n| match SharedArrayDyn::open_with(n, &quick()) {
            Err(SharedArrayError::Descr { reason: found, .. }) => assert_eq!(found, reason, "{broken}"),
            other => panic!("{broken}: {other:?}"),
        });
    }
    with_seed("record_size_zero", |n| {
        let e = SharedArrayDyn::open_with(n, &quick()).unwrap_err();
        assert!(matches!(e, SharedArrayError::Region(RegionError::BadLayout { .. })), "{e:?}");
    });
    with_seed("ring_kind", |n| {
        let e = SharedArrayDyn::open_with(n, &quick()).unwrap_err();
        assert!(matches!(e, SharedArrayError::Region(RegionError::WrongKind { .. })), "{e:?}");
    });
}
