//! Marker-file discovery on a generated tree of 100 200 directories (200 animals × 500 sessions): every call's
//! result against the set the generator knows, and the time of each printed for docs/BENCHMARKS.md (never
//! asserted). Run with `--nocapture` to see the times.
//!
//! The tree is built in `/dev/shm` (tmpfs) when there is one: creating and deleting 100 k directories on a
//! journalled disk takes minutes on a busy machine, and the walk, not the disk, is what is under test. On Windows,
//! which has no tmpfs and whose tests run under wine, each animal has a tenth of the sessions (50:
//! `seqring_tests::rounds`), 10 200 directories.

use seqring_state::processing::{
    discover_marker_files, discover_marker_roots, index_marker_files, resolve_unique_roots,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

const ANIMALS: usize = 200;
/// Sessions per animal (the full count; [`sessions`] is the count of this run).
const SESSIONS: usize = 500;
const MARKER: &str = "session_data.yaml";
const ANIMAL_MARKER: &str = "animal.yaml";

/// Sessions per animal in this run: [`SESSIONS`], a tenth on Windows (see the module docs).
fn sessions() -> usize {
    seqring_tests::rounds(SESSIONS as u64) as usize
}

/// Whether session `j` of animal `m` holds a marker: three animals in four, one session in ten.
fn has_marker(m: usize, j: usize) -> bool {
    !m.is_multiple_of(4) && j % 10 == 3
}

struct Tree {
    root: PathBuf,
    markers: Vec<PathBuf>,
    sessions_with_markers: Vec<PathBuf>,
    animals_with_markers: Vec<PathBuf>,
    animal_markers: Vec<PathBuf>,
}

/// Builds the tree: `a{m}/s{m}_{j}` directories, the markers, an animal marker in every fifth animal, and decoys
/// (a near-miss name in every session that ends in 7, a directory named like the marker in every animal).
fn build(root: &Path) -> Tree {
    let mut tree = Tree {
        root: root.to_path_buf(),
        markers: Vec::new(),
        sessions_with_markers: Vec::new(),
        animals_with_markers: Vec::new(),
        animal_markers: Vec::new(),
    };
    for m in 0..ANIMALS {
        let animal = root.join(format!("a{m}"));
        fs::create_dir(&animal).unwrap();
        fs::create_dir(animal.join(MARKER)).unwrap();
        if m.is_multiple_of(5) {
            fs::write(animal.join(ANIMAL_MARKER), b"").unwrap();
            tree.animal_markers.push(animal.join(ANIMAL_MARKER));
        }
        for j in 0..sessions() {
            let session = animal.join(format!("s{m}_{j}"));
            fs::create_dir(&session).unwrap();
            if has_marker(m, j) {
                fs::write(session.join(MARKER), b"").unwrap();
                tree.markers.push(session.join(MARKER));
                tree.sessions_with_markers.push(session.clone());
            }
            if j % 10 == 7 {
                fs::write(session.join("session_data.yml"), b"").unwrap();
            }
        }
        if !m.is_multiple_of(4) {
            tree.animals_with_markers.push(animal);
        }
    }
    tree
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    eprintln!("{what}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    out
}

#[test]
fn marker_discovery_on_100k_directories() {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let mut tree = timed(&format!("build {} directories", ANIMALS * (sessions() + 1)), || {
        build(dir.path())
    });
    assert_eq!(tree.markers.len(), 150 * sessions() / 10);
    tree.markers.sort();

    let found = timed("discover_marker_files", || {
        discover_marker_files(&tree.root, MARKER).unwrap()
    });
    assert_eq!(found, tree.markers);

    let roots = timed("discover_marker_roots levels_up=1", || {
        discover_marker_roots(&tree.root, MARKER, 1).unwrap()
    });
    tree.animals_with_markers.sort();
    assert_eq!(roots, tree.animals_with_markers);
    let own = timed("discover_marker_roots levels_up=0", || {
        discover_marker_roots(&tree.root, MARKER, 0).unwrap()
    });
    tree.sessions_with_markers.sort();
    assert_eq!(own, tree.sessions_with_markers);

    // One walk for two names; the session markers sit two levels down, so max_depth 1 does not reach them.
    let shallow = timed("index_marker_files max_depth=1", || {
        index_marker_files(&tree.root, [MARKER, ANIMAL_MARKER], Some(1)).unwrap()
    });
    tree.animal_markers.sort();
    assert_eq!(shallow[ANIMAL_MARKER], tree.animal_markers);
    assert!(shallow[MARKER].is_empty());
    let full = timed("index_marker_files unbounded", || {
        index_marker_files(&tree.root, [MARKER, ANIMAL_MARKER], None).unwrap()
    });
    assert_eq!(
        (&full[MARKER], &full[ANIMAL_MARKER]),
        (&tree.markers, &tree.animal_markers)
    );

    // Session names are unique, so each marker resolves to its session directory, in marker order.
    let unique = timed(
        &format!("resolve_unique_roots over {} markers", tree.markers.len()),
        || resolve_unique_roots(&tree.markers).unwrap(),
    );
    assert_eq!(unique, tree.sessions_with_markers);
}
