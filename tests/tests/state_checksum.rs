//! The directory checksum against the ataraxis fixture, and its sensitivity to layout and contents; the
//! transfer's verification and remove-source guarantees on a copy of the fixture tree.

use seqring_state::processing::{
    directory_checksum, transfer_directory, Checksum, ChecksumOptions, TransferError, TransferOptions, TransferProgress,
};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/ataraxis-7.2.0");

fn expected() -> Checksum {
    Checksum::from_hex(&fs::read_to_string(format!("{FIXTURES}/checksum_expected.txt")).unwrap()).unwrap()
}

/// Copies the fixture tree (writable), adding back the empty directory git does not keep.
fn fixture_copy(dst: &Path) {
    fn copy(src: &Path, dst: &Path) {
        fs::create_dir_all(dst).unwrap();
        for entry in fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            let to = dst.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &to);
            } else {
                fs::write(&to, fs::read(entry.path()).unwrap()).unwrap();
            }
        }
    }
    copy(Path::new(&format!("{FIXTURES}/checksum_tree")), dst);
    fs::create_dir_all(dst.join("empty_dir")).unwrap();
}

fn sum(dir: &Path) -> Checksum {
    directory_checksum(
        dir,
        &ChecksumOptions {
            save: false,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn fixture_checksum_matches_ataraxis_and_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fixture_copy(&tree);
    fs::remove_file(tree.join("ax_checksum.txt")).unwrap();
    let got = directory_checksum(&tree, &ChecksumOptions::default()).unwrap();
    assert_eq!(got, expected());
    assert_eq!(
        fs::read_to_string(tree.join("ax_checksum.txt")).unwrap(),
        expected().to_hex()
    );
    // The read-only fixture itself, unsaved.
    assert_eq!(sum(Path::new(&format!("{FIXTURES}/checksum_tree"))), expected());
}

#[test]
fn layout_and_content_changes_change_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    fixture_copy(&base);
    assert_eq!(sum(&base), expected());

    let case = |name: &str, change: &dyn Fn(&Path)| {
        let tree = dir.path().join(name);
        fixture_copy(&tree);
        change(&tree);
        sum(&tree)
    };
    let renamed = case("renamed", &|t| {
        fs::rename(t.join("sub/b.txt"), t.join("sub/b2.txt")).unwrap()
    });
    let moved = case("moved", &|t| {
        fs::rename(t.join("sub/b.txt"), t.join("sub/deeper/b.txt")).unwrap()
    });
    let byte = case("byte", &|t| {
        let p = t.join("sub/deeper/d with space.dat");
        let mut data = fs::read(&p).unwrap();
        data[150_000] ^= 1;
        fs::write(&p, data).unwrap();
    });
    let empty_dirs = case("empty", &|t| {
        fs::create_dir_all(t.join("new_empty/nested")).unwrap();
        fs::remove_dir(t.join("empty_dir")).unwrap();
    });
    let nested_marker = case("marker", &|t| {
        fs::write(t.join("sub/ax_checksum.txt"), b"ignored").unwrap()
    });
    let empty_file = case("emptyfile", &|t| fs::write(t.join("sub/new.txt"), b"").unwrap());
    for (what, got) in [
        ("rename", renamed),
        ("move", moved),
        ("one byte", byte),
        ("new empty file", empty_file),
    ] {
        assert_ne!(got, expected(), "{what} must change the checksum");
    }
    assert_eq!(empty_dirs, expected(), "empty directories contribute nothing");
    assert_eq!(nested_marker, expected(), "ax_checksum.txt is excluded at any depth");
    assert_ne!(renamed, moved);
}

#[test]
fn transfer_of_fixture_verifies_and_removes_source_only_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fixture_copy(&src);
    // Injected corruption: flip a byte of the first copied file right after the copy writes it.
    let corrupted = AtomicBool::new(false);
    let corrupt = |p: &TransferProgress| {
        if !corrupted.swap(true, Ordering::SeqCst) {
            let mut data = fs::read(&p.file).unwrap();
            match data.first_mut() {
                Some(b) => *b ^= 0xff,
                None => data.push(1),
            }
            fs::write(&p.file, data).unwrap();
        }
    };
    let opts = TransferOptions {
        verify: true,
        remove_source: true,
        progress: Some(&corrupt),
        workers: Some(2),
        ..Default::default()
    };
    let err = transfer_directory(&src, dir.path().join("dst"), &opts).unwrap_err();
    assert!(matches!(err, TransferError::Mismatch { .. }), "{err}");
    assert_eq!(
        sum(&src),
        expected(),
        "the source is untouched after a failed verification"
    );

    let opts = TransferOptions {
        verify: true,
        remove_source: true,
        ..Default::default()
    };
    let report = transfer_directory(&src, dir.path().join("dst2"), &opts).unwrap();
    assert_eq!(report.checksum, Some(expected()));
    assert!(!src.exists());
    assert!(dir.path().join("dst2/empty_dir").is_dir());
    assert_eq!(sum(&dir.path().join("dst2")), expected());
}

/// A destination that already holds files the source does not have (a half-finished earlier transfer of another
/// session, say): refused by default before anything is written, naming one of them; copied clean with
/// `reset_dirty_destination`, after which the copy checksums exactly as the ataraxis fixture.
#[test]
fn transfer_into_a_dirty_destination() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fixture_copy(&src);
    fs::remove_file(src.join("ax_checksum.txt")).unwrap();
    fs::create_dir_all(dst.join("old_session")).unwrap();
    fs::write(dst.join("old_session/frames.bin"), b"stale frames").unwrap();
    fs::write(dst.join("leftover.tmp"), b"stale").unwrap();

    let verify = TransferOptions {
        verify: true,
        ..Default::default()
    };
    let err = transfer_directory(&src, &dst, &verify).unwrap_err();
    assert!(matches!(err, TransferError::DirtyDestination { count: 2, .. }), "{err}");
    assert!(err.to_string().contains("leftover.tmp"), "{err}");
    // Nothing was written on either side.
    let mut left: Vec<_> = fs::read_dir(&dst).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["leftover.tmp", "old_session"]);
    assert!(
        !src.join("ax_checksum.txt").exists(),
        "no checksum saved for a refused transfer"
    );

    let reset = TransferOptions {
        verify: true,
        reset_dirty_destination: true,
        ..Default::default()
    };
    let report = transfer_directory(&src, &dst, &reset).unwrap();
    assert_eq!(
        report.cleared,
        [dst.join("leftover.tmp"), dst.join("old_session/frames.bin")]
    );
    assert_eq!(report.checksum, Some(expected()));
    assert_eq!(
        sum(&dst),
        expected(),
        "the copy holds the source's files and nothing else"
    );
    assert!(!dst.join("leftover.tmp").exists() && !dst.join("old_session/frames.bin").exists());
}
