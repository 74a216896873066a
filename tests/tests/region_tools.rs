//! The region tools (`list_regions`, `probe_region`, `remove_region`, `shared_array::inspect`) against regions
//! made by real processes: a creator that exited (stale) and one that is alive.

use seqring::shared_array::{inspect, SharedArray};
use seqring_core::header::{init_header, publish_ready, RegionKind};
use seqring_platform::{self as region, CreateOptions, Region, RegionError};
use seqring_tests::child::{self, Child};
use seqring_tests::shm::{exists, unique_name, Cleanup};
use std::time::Duration;

#[test]
fn lists_inspects_and_removes_regions_of_live_and_dead_creators() {
    if let Some((role, name)) = child::role() {
        assert_eq!(role, "creator");
        let a = SharedArray::<f32>::create(&name, &[2, 2]).unwrap();
        a.write(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        a.persist();
        child::say("created");
        return;
    }
    let stale = unique_name("stale");
    let live = unique_name("live-ring");
    let (_c1, _c2) = (Cleanup(stale.clone()), Cleanup(live.clone()));
    let creator = Child::spawn(
        "lists_inspects_and_removes_regions_of_live_and_dead_creators",
        "creator",
        &stale,
        &[],
    );
    let creator_pid = creator.pid();
    let mut creator = creator;
    creator.expect_line("created");
    creator.wait_ok();

    let ring = Region::create_shm(&live, 8192, CreateOptions::default()).unwrap();
    init_header(&ring, RegionKind::Ring, u64::from(std::process::id()), 1).unwrap();
    publish_ready(&ring);

    let list = region::list_regions().unwrap();
    let find = |name: &str| {
        list.iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    let s = find(&stale);
    let info = s.header.as_ref().unwrap();
    assert_eq!(
        (info.kind, info.creator_pid),
        (RegionKind::Array, u64::from(creator_pid))
    );
    assert!(s.is_stale(), "its creator exited: {s:?}");
    let l = find(&live);
    assert_eq!(
        (l.header.as_ref().unwrap().kind, l.size, l.creator_alive),
        (RegionKind::Ring, 8192, Some(true))
    );

    let report = inspect(&stale, Duration::from_millis(10)).unwrap();
    assert!(!report.creator_alive && !report.locked);
    let current = report.current.unwrap();
    assert_eq!((current.shape(), current.version), (&[2u64, 2][..], 1));
    assert_eq!(u64::from((current.token >> 32) as u32), u64::from(creator_pid));
    assert!(report.age.is_some());
    assert!(matches!(
        inspect(&live, Duration::ZERO).unwrap_err(),
        seqring::shared_array::SharedArrayError::Region(RegionError::WrongKind { found: 2, .. })
    ));

    region::remove_region(&stale).unwrap();
    assert!(!exists(&stale));
    assert!(matches!(
        region::probe_region(&stale),
        Err(RegionError::NotFound { .. })
    ));
    drop(ring);
    assert!(!exists(&live), "the ring's creator removed it on drop");
}
