//! `NestedDict` key paths over arbitrary input: parsing delimited paths and reading, writing and deleting with them
//! never panics, failed changes leave the tree as it was, and a successful write reads back.
//!
//! Input layout: `DOC \0 PATH`; without a NUL the whole input is the path over a fixed document. A path starting
//! with `/` uses `/` as its delimiter, else `.`.

use seqring_state::nested_dict::Value;
use seqring_state::nested_dict::{DeleteOptions, NestedDict, SearchMode, WriteOptions};

const BASE: &str = "a:\n  b:\n    c: 1\n  e: {}\n1:\n  2: x\nlist: [1, 2]\n";

/// Runs path operations from `data` on a document.
pub fn fuzz(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (doc, path) = text.split_once('\0').unwrap_or((BASE, text));
    let Ok(mut dict) = NestedDict::from_yaml_str(doc) else {
        return;
    };
    let delimiter = if path.starts_with('/') { "/" } else { "." };
    dict.set_delimiter(delimiter).expect("non-empty delimiter");
    let _ = dict.read(path);
    let _ = dict.key_types();
    for mode in [SearchMode::TerminalOnly, SearchMode::IntermediateOnly, SearchMode::All] {
        let _ = dict.find(&Value::from(path), mode);
    }
    let before = dict.clone();
    let options = WriteOptions {
        allow_terminal_overwrite: true,
        allow_intermediate_overwrite: path.len() % 2 == 0,
    };
    match dict.write(path, Value::from("fuzz"), options) {
        Ok(()) => assert_eq!(
            dict.read(path).ok(),
            Some(&Value::from("fuzz")),
            "a write must read back"
        ),
        Err(_) => assert_eq!(dict, before, "a failed write must not change the tree"),
    }
    let before = dict.clone();
    let options = DeleteOptions {
        delete_empty_sections: path.len() % 3 != 0,
        allow_missing: path.len() % 5 == 0,
    };
    if dict.delete(path, options).is_err() {
        assert_eq!(dict, before, "a failed delete must not change the tree");
    }
    let paths = dict.terminal_paths();
    for p in paths.iter().take(64) {
        assert!(
            dict.read(p).is_ok(),
            "terminal path {} must be readable",
            p.join(delimiter)
        );
    }
    let _ = dict.clone().convert_keys(seqring_state::nested_dict::KeyType::Str);
    let _ = dict.convert_keys(seqring_state::nested_dict::KeyType::Int);
}
