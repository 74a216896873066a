//! Replays every seed corpus through its target, so CI checks the corpora on stable without a fuzzer.

use std::fs;
use std::path::Path;

#[test]
fn replay_all_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut replayed = 0;
    for dir in fs::read_dir(&root).expect("corpus directory") {
        let dir = dir.unwrap().path();
        let target = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let mut inputs = 0;
        for file in fs::read_dir(&dir).unwrap() {
            let data = fs::read(file.unwrap().path()).unwrap();
            assert!(seqring_fuzz::run(&target, &data), "corpus {target} has no target");
            inputs += 1;
        }
        assert!(inputs > 0, "corpus {target} is empty");
        replayed += inputs;
    }
    assert!(replayed > 0);
    println!("replayed {replayed} inputs");
}
