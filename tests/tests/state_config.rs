//! `YamlConfig` files written by Rust read by PyYAML's `safe_load` (what ataraxis's `YamlConfig` uses) as exactly the
//! values written, including the strings and floats that YAML 1.1 would read as other types if written plain.

use seqring_state::config::YamlConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::process::Command;

#[derive(Serialize, Deserialize, PartialEq, Debug)]
enum Mode {
    Fast,
    Careful,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Camera {
    id: String,
    fps: f64,
    exposure_s: f64,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Rig {
    name: String,
    answers: Vec<String>,
    mode: Mode,
    cameras: Vec<Camera>,
    offsets: BTreeMap<String, i64>,
    notes: Option<String>,
    big: u64,
    empty: Vec<u8>,
}

impl YamlConfig for Rig {}

fn rig() -> Rig {
    // Each string here is read by YAML 1.1 as a boolean, an integer, a float, a date, null or a syntax error when
    // written plain.
    let tricky = [
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "~",
        "null",
        "1_000",
        "1:20",
        "0x1F",
        "0o17",
        "2024-01-01",
        "1e20",
        ".inf",
        "-.5",
        "+1",
        "",
        " leading",
        "trailing ",
        "a: b",
        "#comment",
        "- item",
        "[list]",
        "{map}",
        "it's",
        "two\nlines",
        "tab\there",
        "é ü 日本",
        "\u{85}next line",
        "@at",
        "`tick",
        "%percent",
        "!tag",
        "&anchor",
        "*alias",
        "|",
        ">",
    ];
    Rig {
        name: "rig-1".into(),
        answers: tricky.iter().map(|s| (*s).to_owned()).collect(),
        mode: Mode::Careful,
        cameras: vec![
            Camera {
                id: "0123".into(),
                fps: 1e20,
                exposure_s: 2.5e-7,
            },
            Camera {
                id: "true".into(),
                fps: 30.0,
                exposure_s: -0.0,
            },
        ],
        offsets: tricky
            .iter()
            .enumerate()
            .map(|(i, s)| ((*s).to_owned(), -(i as i64)))
            .collect(),
        notes: None,
        big: u64::MAX,
        empty: Vec::new(),
    }
}

#[test]
fn a_config_written_in_rust_is_read_by_pyyaml_as_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("configs/rig.yaml");
    let rig = rig();
    rig.to_yaml(&path).unwrap();
    assert_eq!(Rig::from_yaml(&path).unwrap(), rig, "serde_yaml reads it back");
    let Some(python) = seqring_tests::python_with("yaml") else {
        return;
    };
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let written = serde_json::to_value(&rig).unwrap();
    assert_eq!(
        read,
        written,
        "PyYAML read:\n{}",
        std::fs::read_to_string(&path).unwrap()
    );
}
