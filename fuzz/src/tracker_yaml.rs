//! Tracker-file parsing over arbitrary bytes: never panics, and whatever parses formats back to a document that
//! parses to the same jobs (the writer's quoting is checked against the reader on every input).

use seqring_state::tracker::{format_tracker, parse_tracker, TrackerSummary};
use std::path::Path;

/// Parses `data` as a tracker file; on success, checks the format/parse round trip and summarizes.
pub fn fuzz(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.yaml");
    if let Ok(jobs) = parse_tracker(path, text) {
        let written = format_tracker(&jobs);
        let back = parse_tracker(path, &written).unwrap_or_else(|e| panic!("rewritten tracker fails: {e}\n{written}"));
        assert_eq!(back, jobs, "round trip changed the jobs:\n{written}");
        let summary = TrackerSummary::of(&jobs);
        assert_eq!(summary.summary.total, jobs.len());
    }
}
