//! Four real processes look structured (rkyv) records up in one file while the parent replaces the file
//! atomically several times (issue 14). Each child keeps re-opening the path, verifies what it opened and checks
//! that every record belongs to one version; it also keeps its first map open across all the replacements and
//! checks at the end that it still reads the first version intact. Handshakes are lines on the children's stdout
//! and stdin; nothing sleeps.

use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
use seqring_tests::child::{self, Child};
use std::collections::BTreeMap;
use std::path::Path;

const CHILDREN: usize = 4;
const RECORDS: u64 = 2_000;
const VERSIONS: u64 = 5;
const TEST: &str = "mapped_rkyv_processes_read_while_the_file_is_replaced";

#[derive(rkyv::Archive, rkyv::Serialize)]
struct Trial {
    version: u64,
    id: u64,
    name: String,
    events: Vec<String>,
    params: BTreeMap<String, f64>,
}

impl Archivable for Trial {
    const TYPE_NAME: &'static str = "seqring-tests::Trial/v1";
}

fn trial(version: u64, id: u64) -> Trial {
    Trial {
        version,
        id,
        name: format!("trial-{id}"),
        events: (0..id % 4).map(|e| format!("event-{e}-v{version}")).collect(),
        params: BTreeMap::from([("gain".to_string(), (version * 1000 + id) as f64)]),
    }
}

fn build(path: &Path, version: u64) {
    ArchivedIdMap::<u64, Trial>::build((0..RECORDS).map(|id| (id, trial(version, id))), path).unwrap();
}

/// Reads every record of `map` by id and checks that all belong to one version, which it returns.
fn check(map: &ArchivedIdMap<u64, Trial>) -> u64 {
    let version = map.get(&0).unwrap().unwrap().version.to_native();
    for id in 0..RECORDS {
        let t = map.get(&id).unwrap().unwrap_or_else(|| panic!("id {id} missing"));
        assert_eq!(t.version, version, "id {id}: a record of another version");
        assert_eq!(
            (t.id.to_native(), t.name.as_str()),
            (id, format!("trial-{id}").as_str())
        );
        assert_eq!(t.events.len() as u64, id % 4);
        if let Some(e) = t.events.last() {
            assert!(e.ends_with(&format!("-v{version}")), "{e}");
        }
        assert_eq!(
            t.params.get("gain").map(|g| g.to_native()),
            Some((version * 1000 + id) as f64)
        );
    }
    assert!(map.get(&RECORDS).unwrap().is_none());
    version
}

/// A child: announces the first version it opened, then re-opens the path in a loop and announces every new
/// version, until the last one; then checks its first map again.
fn reader(path: &Path) {
    let first = ArchivedIdMap::<u64, Trial>::open_verified(path).unwrap();
    let mut seen = check(&first);
    child::say(&format!("saw {seen}"));
    let mut opens = 1u64;
    while seen < VERSIONS {
        let map = ArchivedIdMap::<u64, Trial>::open_verified(path).unwrap();
        opens += 1;
        let v = check(&map);
        assert!(v >= seen, "went back from version {seen} to {v}");
        if v != seen {
            seen = v;
            child::say(&format!("saw {seen}"));
        }
    }
    assert_eq!(check(&first), 1, "the first mapping changed under the reader");
    child::say(&format!("done opens={opens}"));
}

#[test]
#[cfg_attr(
    windows,
    ignore = "replaces a file other processes have mapped, which Windows refuses (see README, Platforms)"
)]
fn mapped_rkyv_processes_read_while_the_file_is_replaced() {
    if let Some((role, arg)) = child::role() {
        assert_eq!(role, "reader");
        return reader(Path::new(&arg));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trials.map");
    build(&path, 1);
    let arg = path.to_str().unwrap();
    let mut children: Vec<Child> = (0..CHILDREN).map(|_| Child::spawn(TEST, "reader", arg, &[])).collect();
    for c in &mut children {
        assert_eq!(c.expect_line("saw "), "1");
    }
    for version in 2..=VERSIONS {
        // temp file + rename: the children either open the old file or the new one, never a partial one.
        build(&path, version);
        for c in &mut children {
            assert_eq!(c.expect_line("saw "), version.to_string());
        }
    }
    for mut c in children {
        let opens: u64 = c.expect_line("done opens=").parse().unwrap();
        assert!(opens >= VERSIONS);
        c.wait_ok();
    }
}
