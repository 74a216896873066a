//! Per-source counts of records and payload bytes.

use seqring_core::ring::record::Records;

/// Records and payload bytes per source id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) records: [u64; 256],
    pub(crate) bytes: [u64; 256],
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            records: [0; 256],
            bytes: [0; 256],
        }
    }
}

impl Tally {
    /// Counts one record.
    #[inline]
    pub(crate) fn add(&mut self, source_id: u8, payload_len: usize) {
        self.records[usize::from(source_id)] += 1;
        self.bytes[usize::from(source_id)] += payload_len as u64;
    }

    /// Counts every data record of a ring batch.
    pub(crate) fn add_batch(&mut self, batch: &[u8]) {
        for record in Records::new(batch).flatten() {
            self.add(record.source_id, record.payload.len());
        }
    }

    /// Adds another tally.
    pub(crate) fn merge(&mut self, other: &Tally) {
        for i in 0..256 {
            self.records[i] += other.records[i];
            self.bytes[i] += other.bytes[i];
        }
    }

    /// `self - other`, per source, saturating.
    pub(crate) fn minus(&self, other: &Tally) -> Tally {
        let mut out = Tally::default();
        for i in 0..256 {
            out.records[i] = self.records[i].saturating_sub(other.records[i]);
            out.bytes[i] = self.bytes[i].saturating_sub(other.bytes[i]);
        }
        out
    }

    /// The total records.
    pub(crate) fn total_records(&self) -> u64 {
        self.records.iter().sum()
    }

    /// The total payload bytes.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
}
