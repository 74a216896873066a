//! Archives against the ataraxis 7.2.0 fixtures: assembling `entries/` gives `archives/` byte for byte, reading
//! `archives/` gives `expected_messages.json`, and the discovery helpers find them.

mod archive_support;

use std::collections::BTreeMap;
use std::io::Cursor;

use archive_support::{copy_dir, hex};
use seqring::archive::{
    assemble_log_archives, discover_log_archives, find_log_archive, find_log_archives, read_archive_message_count,
    ArchiveError, AssembleOptions, LogArchive,
};
use seqring_tests::fixtures;
use seqring_tests::npz::as_numpy_writes_here;

const SOURCES: [u8; 3] = [1, 7, 200];

/// The entries of a zip archive, read with the zip crate independently of the reader under test.
fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

#[test]
fn assembling_fixture_entries_reproduces_fixture_archives() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("entries"), dir.path());
    let entries_before = std::fs::read_dir(dir.path()).unwrap().count();
    let report = assemble_log_archives(
        dir.path(),
        &AssembleOptions {
            verify: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.archives.iter().map(|a| a.source_id).collect::<Vec<_>>(), SOURCES);
    assert_eq!(report.entries() as usize, entries_before);
    assert_eq!(report.removed_files as usize, entries_before);
    for source in SOURCES {
        let ours = std::fs::read(dir.path().join(format!("{source}_log.npz"))).unwrap();
        let theirs =
            as_numpy_writes_here(std::fs::read(fixtures().join(format!("archives/{source}_log.npz"))).unwrap());
        let (ours_entries, theirs_entries) = (zip_entries(&ours), zip_entries(&theirs));
        let names = |e: &[(String, Vec<u8>)]| e.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&ours_entries),
            names(&theirs_entries),
            "entry names of source {source}"
        );
        for ((name, a), (_, b)) in ours_entries.iter().zip(&theirs_entries) {
            assert_eq!(a, b, "npy bytes of {name}");
        }
        assert!(ours == theirs, "archive of source {source} is not byte-identical");
    }
    // Only the archives are left.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["1_log.npz", "200_log.npz", "7_log.npz"]);
}

#[test]
fn keep_sources_keeps_every_entry_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("entries"), dir.path());
    let before = std::fs::read_dir(dir.path()).unwrap().count();
    let keep = AssembleOptions {
        remove_sources: false,
        workers: 1,
        ..Default::default()
    };
    let report = assemble_log_archives(dir.path(), &keep).unwrap();
    assert_eq!(report.removed_files, 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), before + 3);
    let err = assemble_log_archives(dir.path(), &keep).unwrap_err().to_string();
    assert!(err.contains("1_log.npz") && err.contains("already exists"), "{err}");
    let again = assemble_log_archives(
        dir.path(),
        &AssembleOptions {
            overwrite: true,
            ..keep
        },
    )
    .unwrap();
    assert_eq!(again.entries() as usize, before);
    for source in SOURCES {
        assert_eq!(
            std::fs::read(dir.path().join(format!("{source}_log.npz"))).unwrap(),
            as_numpy_writes_here(std::fs::read(fixtures().join(format!("archives/{source}_log.npz"))).unwrap())
        );
    }
    // No temporary file is left behind.
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn reading_fixture_archives_gives_expected_messages() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("expected_messages.json")).unwrap()).unwrap();
    let onset = expected["onset_us"].as_u64().unwrap();
    for source in SOURCES {
        let want = &expected["sources"][source.to_string()];
        let archive = LogArchive::open(fixtures().join(format!("archives/{source}_log.npz"))).unwrap();
        assert_eq!(archive.source_id(), source);
        assert_eq!(archive.onset_us(), onset);
        assert_eq!(archive.message_count() as u64, want["message_count"].as_u64().unwrap());
        let want_messages: Vec<(u64, String)> = want["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m[0].as_u64().unwrap(), m[1].as_str().unwrap().to_owned()))
            .collect();
        let got: Vec<(u64, String)> = archive
            .iter()
            .map(Result::unwrap)
            .map(|m| {
                assert_eq!(m.source_id, source);
                (m.timestamp_us - onset, hex(m.payload))
            })
            .collect();
        assert_eq!(got, want_messages, "messages of source {source}");

        let all = archive.read_all().unwrap();
        assert_eq!(all.timestamps_us.len(), want_messages.len());
        for ((t, p), (elapsed, payload)) in all.timestamps_us.iter().zip(&all.payloads).zip(&want_messages) {
            assert_eq!((*t - onset, hex(p)), (*elapsed, payload.clone()));
        }
        // Backwards iteration and random access agree.
        let back: Vec<_> = archive.iter().rev().map(|m| m.unwrap().timestamp_us).collect();
        assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), all.timestamps_us);
        assert!(matches!(
            archive.get(archive.message_count()),
            Err(ArchiveError::IndexOutOfRange { .. })
        ));
        assert_eq!(
            archive.get(0).ok().map(|m| m.timestamp_us - onset),
            want_messages.first().map(|m| m.0)
        );
        assert_eq!(
            read_archive_message_count(archive.path()).unwrap(),
            archive.message_count()
        );
        archive.check_crcs().unwrap();
    }
}

#[test]
fn keys_and_batches_follow_ataraxis() {
    let archive = LogArchive::open(fixtures().join("archives/200_log.npz")).unwrap();
    let keys: Vec<String> = archive.keys().map(str::to_owned).collect();
    assert_eq!(keys.len(), archive.message_count());
    assert!(keys.iter().all(|k| k.starts_with("200_") && k.len() == 24), "{keys:?}");
    // iter_keys in a shuffled order, with and without the extension, gives the same messages as iter().
    let order: Vec<usize> = (0..keys.len()).rev().step_by(3).collect();
    let by_key: Vec<_> = archive
        .iter_keys(order.iter().map(|&i| {
            if i % 2 == 0 {
                keys[i].clone()
            } else {
                format!("{}.npy", keys[i])
            }
        }))
        .collect::<Result<_, _>>()
        .unwrap();
    let direct: Vec<_> = order.iter().map(|&i| archive.get(i).unwrap()).collect();
    assert_eq!(by_key, direct);
    let onset_key = "200_00000000000000000000";
    let unknown: Vec<_> = archive.iter_keys([onset_key, "nope"]).collect();
    assert!(unknown
        .iter()
        .all(|r| matches!(r, Err(ArchiveError::UnknownKey { .. }))));
    // Under the 2000-message threshold: one batch of everything, whatever the workers.
    for workers in [-1, 0, 1, 64] {
        assert_eq!(archive.batches(workers, 4), vec![0..archive.message_count()]);
    }
    let joined: Vec<_> = archive
        .batches(2, 4)
        .into_iter()
        .flat_map(|r| {
            archive
                .iter_range(r)
                .map(|m| m.unwrap().timestamp_us)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(joined, archive.read_all().unwrap().timestamps_us);
}

#[test]
fn discovery_finds_fixture_archives() {
    let root = fixtures();
    let found = discover_log_archives(root.join("archives")).unwrap();
    let want: BTreeMap<u8, _> = SOURCES
        .iter()
        .map(|&s| (s, root.join(format!("archives/{s}_log.npz"))))
        .collect();
    assert_eq!(found, want);
    assert!(discover_log_archives(&root).unwrap().is_empty(), "not recursive");
    assert_eq!(find_log_archive(&root, 7).unwrap(), want[&7]);
    assert_eq!(find_log_archives(&root, [200, 1, 1]).unwrap().len(), 2);
    let missing = find_log_archive(&root, 8).unwrap_err();
    assert!(
        matches!(missing, ArchiveError::NoArchive { source_id: 8, .. }),
        "{missing}"
    );
    let err = find_log_archives(&root, [1, 8]).unwrap_err();
    assert!(err.to_string().contains("8_log.npz"), "{err}");
    assert!(matches!(
        discover_log_archives(root.join("nope")),
        Err(ArchiveError::NotADirectory { .. })
    ));

    // Two copies under one root are ambiguous.
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b/c"] {
        copy_dir(&root.join("archives"), &dir.path().join(sub));
    }
    match find_log_archive(dir.path(), 1) {
        Err(ArchiveError::SeveralArchives { paths, .. }) => assert_eq!(paths.len(), 2),
        other => panic!("expected SeveralArchives, got {other:?}"),
    }
    assert!(find_log_archives(dir.path(), []).unwrap().is_empty());
}

/// A directory given where an archive is needed is named as such on every platform (Windows refuses to open a
/// directory as a file, with "access denied", where Linux opens it and `metadata` tells).
#[test]
fn opening_a_directory_says_it_is_one() {
    let dir = fixtures().join("archives");
    match LogArchive::open(&dir) {
        Err(ArchiveError::Io { path, source }) => {
            assert_eq!(path, dir);
            assert_eq!(source.kind(), std::io::ErrorKind::IsADirectory, "{source}");
            assert!(source.to_string().contains("not a log archive"), "{source}");
        }
        other => panic!("a directory opened as an archive gave {other:?}"),
    }
}
