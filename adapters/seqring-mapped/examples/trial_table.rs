//! A trial table built once and queried from several processes, by id and by name (issue 14).
//!
//! Each trial has an id, a name, start and end times, a list of event names, a map of parameters and an optional
//! note. The table is written as an [`ArchivedIdMap<u64, Trial>`] (id to trial, rkyv archives read in place) plus
//! an [`IdMap<str, u64>`] (name to id). Then this program starts three copies of itself, each of which maps both
//! files and looks trials up, with no copy and no deserialisation.
//!
//! ```sh
//! cargo run --release -p seqring-mapped --example trial_table            # in a temporary directory
//! cargo run --release -p seqring-mapped --example trial_table -- DIR     # keeps the files in DIR
//! ```

use seqring_mapped::{Archivable, ArchivedIdMap, IdMap, Mapped};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One trial of a session.
#[derive(rkyv::Archive, rkyv::Serialize)]
struct Trial {
    id: u64,
    name: String,
    start_s: f64,
    end_s: f64,
    events: Vec<String>,
    params: BTreeMap<String, f64>,
    note: Option<String>,
}

impl Archivable for Trial {
    const TYPE_NAME: &'static str = "examples::trial_table::Trial/v1";
}

const TRIALS: u64 = 10_000;
const WORKERS: u64 = 3;
const EVENTS: [&str; 4] = ["cue", "lick", "reward", "timeout"];

fn make_trial(id: u64) -> Trial {
    let start_s = id as f64 * 6.5;
    Trial {
        id,
        name: format!("trial-{id:05}"),
        start_s,
        end_s: start_s + 4.0 + (id % 3) as f64,
        events: EVENTS
            .iter()
            .take(1 + (id % 4) as usize)
            .map(|e| e.to_string())
            .collect(),
        params: BTreeMap::from([
            ("reward_ul".to_string(), 5.0 + (id % 2) as f64),
            ("cue_hz".to_string(), 4000.0 + 1000.0 * (id % 3) as f64),
        ]),
        note: (id % 1000 == 7).then(|| format!("animal groomed during trial {id}")),
    }
}

fn build(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let t = std::time::Instant::now();
    ArchivedIdMap::<u64, Trial>::build((0..TRIALS).map(|id| (id, make_trial(id))), dir.join("trials.map"))?;
    IdMap::<str, u64>::build(
        (0..TRIALS).map(|id| (make_trial(id).name, id)),
        dir.join("trial_names.map"),
    )?;
    println!("built {TRIALS} trials in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

/// One worker process: maps both files and answers queries for its share of the trials.
fn query(dir: &Path, worker: u64) -> Result<(), Box<dyn std::error::Error>> {
    let trials = ArchivedIdMap::<u64, Trial>::open(dir.join("trials.map"))?; // O(1): each lookup validates
    let names = IdMap::<str, u64>::open(dir.join("trial_names.map"))?;

    // By id: every trial of this worker's share.
    let mut rewarded = 0;
    for id in (worker..TRIALS).step_by(WORKERS as usize) {
        let t = trials.get(&id)?.ok_or_else(|| format!("trial {id} missing"))?;
        assert_eq!(t.id, id);
        rewarded += usize::from(t.events.iter().any(|e| e == "reward"));
    }
    // By name: the name map gives the id, the id map the trial.
    let name = format!("trial-{:05}", 1000 * worker + 7);
    let id = *names.get(&name).ok_or_else(|| format!("{name} missing"))?;
    let t = trials.get(&id)?.ok_or("trial missing")?;
    println!(
        "worker {worker}: {rewarded} rewarded trials; {name}: id {id}, {:.1}-{:.1} s, events {:?}, reward {} ul, note {:?}",
        t.start_s.to_native(),
        t.end_s.to_native(),
        t.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        t.params.get("reward_ul").map_or(f64::NAN, |v| v.to_native()),
        t.note.as_ref().map(|n| n.as_str()),
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, cmd, dir, worker] = &args[..] {
        if cmd == "query" {
            return query(Path::new(dir), worker.parse()?);
        }
    }
    let tmp;
    let dir: PathBuf = match args.get(1) {
        Some(d) => d.into(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_owned()
        }
    };
    build(&dir)?;
    let exe = std::env::current_exe()?;
    let workers = (0..WORKERS)
        .map(|w| Command::new(&exe).arg("query").arg(&dir).arg(w.to_string()).spawn())
        .collect::<Result<Vec<_>, _>>()?;
    for mut w in workers {
        let status = w.wait()?;
        if !status.success() {
            return Err(format!("a worker failed: {status}").into());
        }
    }
    println!(
        "{WORKERS} processes queried {} by id and by name",
        dir.join("trials.map").display()
    );
    Ok(())
}
