//! Source schemas across processes: a producer process declares its source's schema, the logger's directory keeps
//! it beside the log, assembly leaves it beside the archive (whose bytes it does not change), and the archive
//! reads back typed; racing declarations of different schemas from two processes leave exactly one.

use std::path::Path;

use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive, TypedError};
use seqring::format::schema::{schema_file_name, Descr, Field, Schema, SchemaError, SchemaType};
use seqring::logger::{DataLogger, Producer};
use seqring_tests::child::{self, Child};
use seqring_tests::logger::unique_name;

/// numpy's default (packed) layout of `[('t', '<u8'), ('xy', '<f4', (2,)), ('flag', '|u1')]`.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
struct Sample {
    t: u64,
    xy: [f32; 2],
    flag: u8,
}

impl SchemaType for Sample {
    fn dtype() -> (Descr, Vec<u64>) {
        let field = |name: &str, descr: &str, shape: Vec<u64>| Field {
            name: name.into(),
            descr: Descr::of(descr),
            shape,
        };
        let fields = vec![
            field("t", "<u8", vec![]),
            field("xy", "<f4", vec![2]),
            field("flag", "|u1", vec![]),
        ];
        (Descr::Fields(fields), vec![])
    }
}

fn sample(i: u64) -> Sample {
    Sample {
        t: i,
        xy: [i as f32, -(i as f32) / 4.0],
        flag: (i % 3) as u8,
    }
}

const SOURCE: u8 = 21;
const MESSAGES: u64 = 500;

/// A child producer: declares the sample schema for `SOURCE` and logs `MESSAGES` samples.
fn declaring_child(name: &str) {
    let producer = Producer::connect(name, SOURCE).unwrap();
    producer
        .declare_schema(&Schema::of::<Sample>().described("wheel: time, position, lick flag"))
        .unwrap();
    for i in 0..MESSAGES {
        producer.log_now(bytemuck::bytes_of(&sample(i))).unwrap();
    }
    child::say("done");
}

#[test]
fn a_producer_process_declares_a_schema_that_the_archive_reads_back_typed() {
    if let Some((_, arg)) = child::role() {
        return declaring_child(&arg);
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("schema");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let mut c = Child::spawn(
        "a_producer_process_declares_a_schema_that_the_archive_reads_back_typed",
        "producer",
        &name,
        &[],
    );
    c.expect_line("done");
    c.wait_ok();
    // In this process: the same schema again is a no-op (an empty description agrees), another is refused.
    let here = logger.producer(SOURCE).unwrap();
    here.declare_schema(&Schema::of::<Sample>()).unwrap();
    let refused = here.declare_schema(&Schema::of::<[f32; 4]>());
    assert!(
        matches!(&refused, Err(SchemaError::Mismatch { source_id: SOURCE, .. })),
        "{refused:?}"
    );
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("cannot change"), "{message}");
    assert_eq!(
        here.schema().unwrap().unwrap().description,
        "wheel: time, position, lick flag"
    );
    drop(here);
    let log_dir = logger.stop().unwrap().log_dir;
    let side = log_dir.join(schema_file_name(SOURCE));
    assert!(side.is_file());

    // The same log without the side file, assembled elsewhere: the archive's bytes are the same.
    let bare = tempfile::tempdir().unwrap();
    copy_log(&log_dir, bare.path());
    assemble_log_archives(bare.path(), &AssembleOptions::default()).unwrap();
    let report = assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    let archive_path = &report.archives[0].path;
    assert_eq!(
        std::fs::read(archive_path).unwrap(),
        std::fs::read(bare.path().join(archive_path.file_name().unwrap())).unwrap(),
        "the schema leaves the .npz byte-identical"
    );
    assert!(side.is_file(), "assembly keeps the schema beside the archive");

    let archive = LogArchive::open(archive_path).unwrap();
    let recorded = archive.schema().unwrap().unwrap();
    assert_eq!(recorded.layout, Schema::of::<Sample>().layout);
    let typed: Vec<Sample> = archive.typed::<Sample>().unwrap().map(|m| *m).collect();
    assert_eq!(typed, (0..MESSAGES).map(sample).collect::<Vec<_>>());
    let times: Vec<u64> = archive.typed::<Sample>().unwrap().map(|m| m.timestamp_us).collect();
    assert_eq!(times, archive.iter().map(|m| m.timestamp_us).collect::<Vec<_>>());
    assert!(matches!(archive.typed::<[u32; 5]>(), Err(TypedError::Mismatch { .. })));
    assert!(matches!(archive.typed_by_size::<u64>(), Err(TypedError::Size { .. })));
    assert!(matches!(
        LogArchive::open(bare.path().join(archive_path.file_name().unwrap()))
            .unwrap()
            .typed::<Sample>(),
        Err(TypedError::NoSchema { .. })
    ));
}

/// Copies the segments of `from` (not the schema side file) into `to`.
fn copy_log(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".schema.json") {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

/// A child that declares `f8` or `u8` (its argument's second word) for source 3 once told to go.
fn racing_child(arg: &str) {
    let (name, which) = arg.split_once(' ').unwrap();
    let producer = Producer::connect(name, 3).unwrap();
    let schema = Schema::dtype(Descr::of(which), []);
    child::say("ready");
    assert_eq!(child::hear(), "go");
    match producer.declare_schema(&schema) {
        Ok(()) => child::say("declared"),
        Err(SchemaError::Mismatch { .. }) => child::say("refused"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn racing_declarations_of_different_schemas_leave_exactly_one() {
    if let Some((_, arg)) = child::role() {
        return racing_child(&arg);
    }
    for round in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let name = unique_name(&format!("schema-race-{round}"));
        let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
        let mut children: Vec<Child> = ["<f8", "<u8"]
            .iter()
            .map(|which| {
                let mut c = Child::spawn(
                    "racing_declarations_of_different_schemas_leave_exactly_one",
                    "racer",
                    &format!("{name} {which}"),
                    &[],
                );
                c.expect_line("ready");
                c
            })
            .collect();
        for c in &mut children {
            c.tell("go");
        }
        let outcomes: Vec<String> = children
            .iter_mut()
            .map(|c| {
                let deadline = std::time::Instant::now() + child::HANDSHAKE_TIMEOUT;
                loop {
                    // Either answer; `expect_line` skips other lines, so ask for the common prefix.
                    let line = c.expect_line("");
                    if line == "declared" || line == "refused" {
                        break line;
                    }
                    assert!(std::time::Instant::now() < deadline);
                }
            })
            .collect();
        for c in children {
            c.wait_ok();
        }
        let mut sorted = outcomes.clone();
        sorted.sort();
        assert_eq!(sorted, ["declared", "refused"], "round {round}: {outcomes:?}");
        let winner = if outcomes[0] == "declared" { "<f8" } else { "<u8" };
        let recorded = logger.producer(3).unwrap().schema().unwrap().unwrap();
        assert_eq!(recorded, Schema::dtype(Descr::of(winner), []));
        let files: Vec<_> = std::fs::read_dir(logger.log_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("schema"))
            .collect();
        assert_eq!(files, [schema_file_name(3)], "no temporary file is left");
        logger.stop().unwrap();
    }
}

#[test]
fn a_payload_of_another_length_is_named_by_the_typed_reader() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("schema-len");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let producer = logger.producer(8).unwrap();
    producer.declare_schema(&Schema::of::<u32>()).unwrap();
    producer.log_at(10, &7u32.to_le_bytes()).unwrap();
    producer.log_at(20, b"not a u32").unwrap();
    drop(producer);
    let log_dir = logger.stop().unwrap().log_dir;
    assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    let archive = LogArchive::open(log_dir.join("8_log.npz")).unwrap();
    let e = archive.typed::<u32>().unwrap_err();
    assert!(
        matches!(&e, TypedError::PayloadLen { entry, len: 9, expected: 4, .. } if entry.ends_with("00020")),
        "{e}"
    );
    assert!(archive.typed_payload_bytes().is_err());
}

#[test]
fn a_malformed_side_file_stops_assembly_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("schema-bad");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    logger.producer(2).unwrap().log_now(b"x").unwrap();
    let log_dir = logger.stop().unwrap().log_dir;
    std::fs::write(
        log_dir.join(schema_file_name(2)),
        b"{\"seqring_schema\": 1, \"source_id\": 2",
    )
    .unwrap();
    let e = assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap_err();
    assert!(e.to_string().contains("2_log.schema.json"), "{e}");
    assert!(!log_dir.join("2_log.npz").exists());
}

#[test]
fn an_in_process_producer_declares_beside_a_log_whose_path_the_region_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    // A directory path beyond the 408 bytes the logger region records.
    let deep = (0..12).fold(dir.path().to_path_buf(), |p, i| {
        p.join(format!("{i:02}-{}", "d".repeat(40)))
    });
    let name = unique_name("schema-deep");
    let logger = DataLogger::builder(&deep, &name).start().unwrap();
    assert!(logger.log_dir().as_os_str().len() > seqring_core::log_region::LOG_DIR_MAX);
    logger
        .producer(5)
        .unwrap()
        .declare_schema(&Schema::of::<u16>())
        .unwrap();
    assert!(logger.log_dir().join(schema_file_name(5)).is_file());
    let other = Producer::connect(&name, 5).unwrap(); // as a producer of another process connects
    assert!(matches!(
        other.declare_schema(&Schema::of::<u16>()),
        Err(SchemaError::NoLogDir { .. })
    ));
    drop(other);
    logger.stop().unwrap();
}
