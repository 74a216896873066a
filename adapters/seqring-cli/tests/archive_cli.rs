//! `seqring assemble` and `seqring inspect` run as real processes against the ataraxis fixtures: happy paths, a
//! missing directory (exit 1, one sentence naming the path), a bad flag (exit 2).

use std::path::Path;

mod cli_support;
use cli_support::{assert_fails_naming, fixtures, seqring, stderr, stdout};
use seqring_tests::npz::as_numpy_writes_here;

fn copy_entries(dst: &Path) {
    for entry in std::fs::read_dir(fixtures().join("entries")).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        std::fs::write(&to, std::fs::read(entry.path()).unwrap()).unwrap();
    }
}

#[test]
fn assemble_builds_the_fixture_archives_and_removes_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    copy_entries(dir.path());
    let d = dir.path().to_str().unwrap();
    let out = seqring(&["assemble", d, "--verify", "--workers", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("assembled 207 entries from 3 sources"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("verified"));
    for source in [1, 7, 200] {
        let name = format!("{source}_log.npz");
        assert_eq!(
            std::fs::read(dir.path().join(&name)).unwrap(),
            as_numpy_writes_here(std::fs::read(fixtures().join("archives").join(&name)).unwrap()),
            "{name}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "sources removed");
    // A second run has nothing left to assemble.
    let out = seqring(&["assemble", d]);
    assert_fails_naming(&out, d);
}

#[test]
fn assemble_keep_sources_then_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    copy_entries(dir.path());
    let d = dir.path().to_str().unwrap();
    let out = seqring(&["assemble", d, "--keep-sources"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("sources kept"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 207 + 3);
    let out = seqring(&["assemble", d, "--keep-sources"]);
    assert_fails_naming(&out, "_log.npz");
    assert!(stderr(&out).contains("--overwrite"));
    let out = seqring(&["assemble", d, "--keep-sources", "--overwrite"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn assemble_errors_and_usage() {
    let out = seqring(&["assemble", "/nonexistent/seqring-logs"]);
    assert_fails_naming(&out, "/nonexistent/seqring-logs");
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    // An existing file is not said not to exist.
    let files = tempfile::tempdir().unwrap();
    let garbage = files.path().join("garbage.npz");
    std::fs::write(&garbage, b"not an archive").unwrap();
    let out = seqring(&["assemble", garbage.to_str().unwrap()]);
    assert_fails_naming(&out, "garbage.npz");
    assert!(
        stderr(&out).contains("is a file, not a log directory") && !stderr(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );
    for bad in [
        vec!["assemble", "/tmp", "--bogus"],
        vec!["assemble", "/tmp", "--workers", "0"],
        vec!["assemble", "/tmp", "--workers", "many"],
        vec!["assemble"],
    ] {
        let out = seqring(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    // A corrupt entry: exit 1 naming the file, nothing written or removed.
    let dir = tempfile::tempdir().unwrap();
    copy_entries(dir.path());
    let bad = dir.path().join("007_00000000000000004407.npy");
    std::fs::write(&bad, b"\x93NUMPY garbage").unwrap();
    let out = seqring(&["assemble", dir.path().to_str().unwrap()]);
    assert_fails_naming(&out, bad.to_str().unwrap());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 207);
}

fn expected_summary() -> serde_json::Value {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("expected_messages.json")).unwrap()).unwrap();
    let onset = expected["onset_us"].as_u64().unwrap();
    let mut sources = serde_json::Map::new();
    for (id, s) in expected["sources"].as_object().unwrap() {
        let times: Vec<u64> = s["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| onset + m[0].as_u64().unwrap())
            .collect();
        sources.insert(
            id.clone(),
            serde_json::json!({
                "message_count": s["message_count"],
                "onset_us": onset,
                "first_us": times.iter().min(),
                "last_us": times.iter().max(),
            }),
        );
    }
    serde_json::json!({ "sources": sources })
}

#[test]
fn inspect_json_matches_the_fixture_for_archives_and_raw_entries() {
    let want = expected_summary();
    let archives = fixtures().join("archives");
    let out = seqring(&["inspect", archives.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(got, want);
    assert_eq!(stdout(&out).lines().count(), 1, "one JSON object");
    // The unassembled entries give the same summary.
    let out = seqring(&["inspect", fixtures().join("entries").to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap(), want);
    // One archive.
    let out = seqring(&["inspect", archives.join("7_log.npz").to_str().unwrap(), "--json"]);
    let got: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(got["sources"].as_object().unwrap().len(), 1);
    assert_eq!(got["sources"]["7"], want["sources"]["7"]);
}

#[test]
fn inspect_lists_messages() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("expected_messages.json")).unwrap()).unwrap();
    let onset = expected["onset_us"].as_u64().unwrap();
    let archive = fixtures().join("archives/1_log.npz");
    let out = seqring(&["inspect", archive.to_str().unwrap(), "--json", "--messages"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let want: Vec<serde_json::Value> = expected["sources"]["1"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| serde_json::json!([onset + m[0].as_u64().unwrap(), m[1]]))
        .collect();
    assert_eq!(got["sources"]["1"]["messages"].as_array().unwrap(), &want);

    let out = seqring(&["inspect", fixtures().join("entries").to_str().unwrap(), "--messages"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let first = &expected["sources"]["200"]["messages"][0];
    let line = format!("200  {:>16}", onset + first[0].as_u64().unwrap());
    assert!(
        text.lines().any(|l| l.trim_start().starts_with(line.trim_start())),
        "{text}"
    );
    let listed = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(listed, 3 + 60 + 73 + 71, "3 summary rows and every message");
}

#[test]
fn inspect_errors_and_usage() {
    let out = seqring(&["inspect", "/nonexistent/seqring.npz"]);
    assert_fails_naming(&out, "/nonexistent/seqring.npz");
    let dir = tempfile::tempdir().unwrap();
    let out = seqring(&["inspect", dir.path().to_str().unwrap()]);
    assert_fails_naming(&out, dir.path().to_str().unwrap());
    let bad = dir.path().join("3_log.npz");
    std::fs::write(&bad, b"PK\x05\x06 truncated").unwrap();
    let out = seqring(&["inspect", bad.to_str().unwrap()]);
    assert_fails_naming(&out, bad.to_str().unwrap());
    let out = seqring(&["inspect", "--bogus", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn assemble_recover_truncates_a_torn_segment() {
    use seqring_core::ring::record::encode_data;
    let dir = tempfile::tempdir().unwrap();
    let seg = dir.path().join("000.seg");
    let onset = 1_700_000_000_000_000u64;
    let mut w = seqring::format::segment::SegmentWriter::create(&seg, onset).unwrap();
    let mut batch = vec![0u8; 48];
    encode_data(&mut batch[..24], 9, 0, &onset.to_le_bytes());
    encode_data(&mut batch[24..], 9, 3, b"abc");
    w.append_batch(&batch).unwrap();
    w.append_batch(&batch[24..]).unwrap();
    w.finish().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &bytes[..bytes.len() - 5]).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = seqring(&["assemble", d]);
    assert_fails_naming(&out, seg.to_str().unwrap());
    assert!(stderr(&out).contains("--recover"), "{}", stderr(&out));
    let out = seqring(&["assemble", d, "--recover"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("truncated a torn last batch"), "{}", stdout(&out));
    let archive = seqring::archive::LogArchive::open(dir.path().join("9_log.npz")).unwrap();
    assert_eq!(archive.message_count(), 1);
}

#[test]
fn assemble_compress_writes_deflated_archives_with_the_fixture_messages() {
    use seqring::archive::LogArchive;
    for (flag, level) in [("--compress", 6), ("--compress=0", 0), ("--compress=9", 9)] {
        let dir = tempfile::tempdir().unwrap();
        copy_entries(dir.path());
        let d = dir.path().to_str().unwrap();
        let out = seqring(&["assemble", d, flag, "--verify"]);
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        assert!(stdout(&out).contains("; deflated; verified"), "{}", stdout(&out));
        for source in [1, 7, 200] {
            let name = format!("{source}_log.npz");
            let bytes = std::fs::read(dir.path().join(&name)).unwrap();
            // Method 8 in every central header (offset 10 past its signature).
            let methods: Vec<u8> = bytes
                .windows(4)
                .enumerate()
                .filter(|(_, w)| w == b"PK\x01\x02")
                .map(|(i, _)| bytes[i + 10])
                .collect();
            assert!(!methods.is_empty() && methods.iter().all(|&m| m == 8), "{flag} {name}");
            let fixture = fixtures().join("archives").join(&name);
            if level > 0 {
                assert!(
                    bytes.len() < std::fs::metadata(&fixture).unwrap().len() as usize,
                    "{flag} {name}"
                );
            }
            let got = LogArchive::open(dir.path().join(&name)).unwrap();
            let want = LogArchive::open(&fixture).unwrap();
            assert!(
                got.iter().map(Result::unwrap).eq(want.iter().map(Result::unwrap)) && got.keys().eq(want.keys()),
                "{flag} {name}"
            );
        }
    }
    for bad in [vec!["--compress=10"], vec!["--compress=fast"], vec!["--compress", "5"]] {
        let mut args = vec!["assemble", "/tmp"];
        args.extend(bad.iter().copied());
        let out = seqring(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

#[test]
fn inspect_shows_a_sources_schema_from_its_side_file() {
    use seqring::format::schema::{declare_in, schema_file_name, Descr, Schema};
    let dir = tempfile::tempdir().unwrap();
    for source in [1, 7] {
        let name = format!("{source}_log.npz");
        std::fs::copy(fixtures().join("archives").join(&name), dir.path().join(&name)).unwrap();
    }
    let schema = Schema::dtype(Descr::record([("t", Descr::of("<u8"))]), [2]).described("two stamps");
    declare_in(dir.path(), 7, &schema).unwrap();
    std::fs::write(dir.path().join(schema_file_name(1)), b"{torn").unwrap();
    let d = dir.path().to_str().unwrap();
    let out = seqring(&["inspect", d, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        got["sources"]["7"]["schema"],
        serde_json::json!({"dtype": {"descr": [["t", "<u8"]], "shape": [2]}, "description": "two stamps"})
    );
    assert!(got["sources"]["1"]["schema"]["error"]
        .as_str()
        .unwrap()
        .contains("1_log.schema.json"));
    let out = seqring(&["inspect", d]);
    assert!(
        stdout(&out).contains(r#"source 7 schema: dtype [["t","<u8"]] shape [2]: two stamps"#),
        "{}",
        stdout(&out)
    );
}
