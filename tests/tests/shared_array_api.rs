//! `SharedArray` in one process: lifecycle, typed errors for every bad open, access by index and range, updates,
//! versions, reshapes, dynamic reads and atomic cells.

use seqring::shared_array::{ArrayOptions, SharedArray, SharedArrayDyn, SharedArrayError};
use seqring_core::header::{init_header, publish_ready, RegionKind};
use seqring_core::{DType, Memory};
use seqring_platform::{self, CreateOptions, Region, RegionError};
use seqring_tests::shm::{exists, unique_name, Cleanup};
use seqring_tests::Rng;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn region_error(e: SharedArrayError) -> RegionError {
    match e {
        SharedArrayError::Region(r) => r,
        other => panic!("expected a region error, got {other:?}"),
    }
}

#[test]
fn open_checks_dtype_shape_kind_name_and_existence() {
    let name = unique_name("open");
    let _c = Cleanup(name.clone());
    let _a = SharedArray::<f64>::create(&name, &[2, 4]).unwrap();

    match SharedArray::<f32>::open(&name).unwrap_err() {
        SharedArrayError::DTypeMismatch {
            name: n,
            expected,
            found,
        } => assert_eq!((n.as_str(), expected, found), (name.as_str(), DType::F32, DType::F64)),
        other => panic!("{other:?}"),
    }
    match SharedArray::<f64>::open_with_shape(&name, &[4, 2]).unwrap_err() {
        SharedArrayError::ShapeMismatch { expected, found, .. } => {
            assert_eq!((expected, found), (vec![4, 2], vec![2, 4]));
        }
        other => panic!("{other:?}"),
    }
    assert!(SharedArray::<f64>::open_with_shape(&name, &[2, 4]).is_ok());

    let missing = unique_name("missing");
    assert!(matches!(
        region_error(SharedArray::<f64>::open(&missing).unwrap_err()),
        RegionError::NotFound { name } if name == missing
    ));
    for bad in ["a/b", "..", "../etc", "", "x y"] {
        assert!(
            matches!(
                region_error(SharedArray::<f64>::open(bad).unwrap_err()),
                RegionError::InvalidName { name } if name == bad
            ),
            "{bad:?}"
        );
        assert!(SharedArray::<f64>::create(bad, &[1]).is_err(), "{bad:?}");
    }

    let ring = unique_name("ring");
    let _r = Cleanup(ring.clone());
    let mut region = Region::create_shm(&ring, 4096, CreateOptions::default()).unwrap();
    region.set_remove_on_drop(false);
    init_header(&region, RegionKind::Ring, 1, 1).unwrap();
    publish_ready(&region);
    let e = region_error(SharedArrayDyn::open(&ring).unwrap_err());
    assert!(
        matches!(
            e,
            RegionError::WrongKind {
                expected: RegionKind::Array,
                found: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains(&ring), "{e}");
}

#[test]
fn create_refuses_an_existing_name_unless_exists_ok_and_uses_mode_0600() {
    let name = unique_name("exists");
    let _c = Cleanup(name.clone());
    let first = SharedArray::<u32>::create(&name, &[4]).unwrap();
    first.write(&[1, 2, 3, 4]).unwrap();
    assert_mode(&name, 0o600);
    assert!(matches!(
        region_error(SharedArray::<u32>::create(&name, &[4]).unwrap_err()),
        RegionError::AlreadyExists { name: n } if n == name
    ));
    first.persist(); // the replacement below owns the name from now on
    let second =
        SharedArray::<u32>::create_with(&name, &[2], &ArrayOptions::default().exists_ok(true).mode(0o640)).unwrap();
    assert_eq!(second.to_vec().unwrap(), vec![0, 0], "a replaced region starts zeroed");
    assert_eq!(
        first.to_vec().unwrap(),
        vec![1, 2, 3, 4],
        "the old mapping stays intact"
    );
    assert_mode(&name, 0o640);
}

/// Asserts the permission bits of the region `name` where a path shows them (`/dev/shm` on Linux; macOS shm
/// objects have no path, Windows regions have ACLs).
fn assert_mode(name: &str, mode: u32) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(seqring_platform::RegionName::new(name).unwrap().shm_path()).unwrap();
        assert_eq!(meta.mode() & 0o777, mode, "{name}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (name, mode);
}

#[test]
fn garbage_and_corrupt_regions_give_layout_errors() {
    let mut rng = Rng::new(9);
    for round in 0..50 {
        let name = unique_name("garbage");
        let _c = Cleanup(name.clone());
        let len = 8 * (1 + rng.below(200) as usize);
        let mut region = Region::create_shm(&name, len, CreateOptions::default()).unwrap();
        region.set_remove_on_drop(false);
        for off in (0..len).step_by(8) {
            region.store(off, rng.next_u64(), Ordering::Relaxed);
        }
        if round % 2 == 0 && len >= 64 {
            // A plausible header over garbage: the layout checks behind it must catch it.
            init_header(&region, RegionKind::Array, 1, 1).unwrap();
            publish_ready(&region);
        }
        let opts = ArrayOptions::default().timeout(Duration::from_millis(1));
        let e = region_error(SharedArrayDyn::open_with(&name, &opts).unwrap_err());
        assert!(matches!(e, RegionError::BadLayout { .. }), "round {round}: {e:?}");
        assert!(e.to_string().contains(&name), "{e}");
    }
}

#[test]
fn drop_removes_only_the_creators_unpersisted_region() {
    let name = unique_name("drop");
    let _c = Cleanup(name.clone());
    let creator = SharedArray::<i16>::create(&name, &[3]).unwrap();
    assert!(creator.is_creator());
    let opener = SharedArray::<i16>::open(&name).unwrap();
    assert!(!opener.is_creator());
    drop(opener);
    assert!(exists(&name), "an opener's drop leaves the region");
    drop(creator);
    assert!(!exists(&name), "the creator's drop removes it");

    let creator = SharedArray::<i16>::create(&name, &[3]).unwrap();
    creator.write(&[7, 8, 9]).unwrap();
    creator.persist();
    drop(creator);
    assert!(exists(&name), "a persisted region survives");
    let again = SharedArray::<i16>::open(&name).unwrap();
    assert_eq!(again.to_vec().unwrap(), vec![7, 8, 9]);
    again.destroy().unwrap();
    assert!(!exists(&name), "destroy removes it, even from an opener");
}

#[test]
fn index_range_update_version_and_age() {
    let name = unique_name("access");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<i64>::create(&name, &[2, 3]).unwrap();
    let b = SharedArray::<i64>::open(&name).unwrap();
    assert_eq!((a.version(), a.age().unwrap()), (0, None));
    a.write(&[0, 1, 2, 3, 4, 5]).unwrap();
    assert!(a.age().unwrap().unwrap() < Duration::from_secs(60));
    assert_eq!(b.get(&[1, 1]).unwrap(), 4);
    b.set(&[0, 2], -2).unwrap();
    assert_eq!(a.get(&[0, 2]).unwrap(), -2);
    assert!(matches!(
        a.get(&[2, 0]).unwrap_err(),
        SharedArrayError::IndexOutOfBounds { index, shape, .. } if index == [2, 0] && shape == [2, 3]
    ));
    assert!(matches!(
        a.get(&[1]).unwrap_err(),
        SharedArrayError::IndexOutOfBounds { .. }
    ));
    a.write_at(4, &[40, 50]).unwrap();
    assert!(matches!(
        a.write_at(5, &[1, 2]).unwrap_err(),
        SharedArrayError::OutOfBounds {
            end: 7,
            available: 6,
            ..
        }
    ));
    assert!(matches!(
        a.write(&[1, 2]).unwrap_err(),
        SharedArrayError::LengthMismatch {
            expected: 6,
            given: 2,
            ..
        }
    ));
    a.fill(0..2, 9).unwrap();
    let doubled = b
        .update(|x| x.iter_mut().map(|v| std::mem::replace(v, *v * 2)).sum::<i64>())
        .unwrap();
    assert_eq!(doubled, 9 + 9 - 2 + 3 + 40 + 50);
    assert_eq!(a.to_vec().unwrap(), vec![18, 18, -4, 6, 80, 100]);
    let v = a.version();
    assert_eq!(v, 5, "one version per completed write; failed writes publish none");
    let mut out = [0i64; 6];
    assert_eq!(b.read_if_changed(v, &mut out).unwrap(), None);
    assert_eq!(out, [0; 6], "no copy when unchanged");
    a.set(&[0, 0], 1).unwrap();
    assert_eq!(b.read_if_changed(v, &mut out).unwrap(), Some(v + 1));
    assert_eq!(out[0], 1);
    let mut part = [0i64; 2];
    let snap = b.read_at(3, &mut part).unwrap();
    assert_eq!((part, snap.shape(), snap.version), ([6, 80], &[2u64, 3][..], v + 1));
    assert_eq!(u64::from(std::process::id()), u64::from((snap.token >> 32) as u32));
    assert_eq!(b.read_into_timeout(&mut out, Duration::ZERO).unwrap(), v + 1);
    assert!(matches!(
        b.read_into(&mut [0i64; 7]).unwrap_err(),
        SharedArrayError::OutOfBounds { .. }
    ));
}

#[test]
fn reshape_within_capacity_and_dynamic_reads_follow() {
    let name = unique_name("reshape");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<u8>::create_with_capacity(&name, &[4], 12).unwrap();
    assert_eq!(a.capacity(), 16, "capacity is rounded up to whole 8-byte words");
    let d = SharedArrayDyn::open(&name).unwrap();
    a.write_shaped(&[3, 4], &(0..12).collect::<Vec<u8>>()).unwrap();
    let r = d.read().unwrap();
    assert_eq!((r.shape.as_slice(), r.data.len(), r.version), (&[3u64, 4][..], 12, 1));
    assert_eq!(a.get(&[2, 3]).unwrap(), 11);
    a.reshape(&[2]).unwrap();
    assert_eq!(a.to_vec().unwrap(), vec![0, 1], "reshape keeps the bytes");
    assert!(matches!(
        a.reshape(&[17]).unwrap_err(),
        SharedArrayError::CapacityExceeded {
            needed: 17,
            capacity: 16,
            ..
        }
    ));
    assert!(matches!(
        a.reshape(&[1; 9]).unwrap_err(),
        SharedArrayError::BadShape { .. }
    ));
    assert!(matches!(
        a.write_shaped(&[3], &[1, 2]).unwrap_err(),
        SharedArrayError::LengthMismatch {
            expected: 3,
            given: 2,
            ..
        }
    ));
    // A dynamic writer changes the dtype; typed handles then report the mismatch instead of misreading bytes.
    d.write_shaped(DType::U16, &[2, 2], bytemuck::cast_slice(&[1u16, 2, 3, 4]))
        .unwrap();
    let r = d.read().unwrap();
    assert_eq!((r.dtype, r.to_typed::<u16>()), (DType::U16, Some(vec![1, 2, 3, 4])));
    assert_eq!(r.to_typed::<u8>(), None);
    assert!(matches!(
        a.to_vec().unwrap_err(),
        SharedArrayError::DTypeMismatch {
            expected: DType::U8,
            found: DType::U16,
            ..
        }
    ));
    assert_eq!(d.read_if_changed(r.version).unwrap(), None);
    assert_eq!(d.created_as(), (DType::U8, [4u64].into_iter().collect()));
}

#[test]
fn atomic_cells_are_shared_words() {
    let name = unique_name("atomic");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<u64>::create(&name, &[2, 2]).unwrap();
    let b = SharedArray::<u64>::open(&name).unwrap();
    let v0 = a.version();
    let counter = a.atomic(&[1, 0]).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let c = b.atomic(&[1, 0]).unwrap();
                for _ in 0..10_000 {
                    c.fetch_add(1, Ordering::AcqRel);
                }
            });
        }
    });
    assert_eq!(counter.load(Ordering::Acquire), 40_000);
    assert_eq!(a.to_vec().unwrap(), vec![0, 0, 40_000, 0]);
    assert_eq!(a.version(), v0, "cells bypass the seqlock: no version change");
    assert!(matches!(
        a.atomic(&[2, 0]).unwrap_err(),
        SharedArrayError::IndexOutOfBounds { .. }
    ));
    let f = SharedArray::<f64>::create(unique_name("atomic-f"), &[1]).unwrap();
    f.atomic(&[0]).unwrap().store(2.5, Ordering::Release);
    assert_eq!(f.get(&[0]).unwrap(), 2.5);
}
