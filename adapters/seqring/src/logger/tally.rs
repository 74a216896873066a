//! Per-source counts of records and payload bytes: a running [`Tally`], and the [`BatchTally`] of one ring batch,
//! gathered from the consumer's own walk over the batch ([`Consumer::poll_each`]) so that the drain never walks a
//! batch's records a second time.
//!
//! Invariant: a [`BatchTally`] describes exactly the batch it was last filled for (by [`BatchTally::poll`]): the
//! records of a poll that failed or found nothing are cleared, never counted.

use seqring_core::ring::record::{Word0, HEADER_LEN};
use seqring_core::ring::{Batch, Consumer, RingError};
use seqring_core::Memory;

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

    /// Adds the counts of a batch.
    pub(crate) fn add_batch_tally(&mut self, batch: &BatchTally) {
        for &source in &batch.touched {
            let c = &batch.counts[usize::from(source)];
            self.records[usize::from(source)] += c.records;
            self.bytes[usize::from(source)] += c.bytes;
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

/// One source's records in a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SourceCount {
    /// Data records.
    pub(crate) records: u64,
    /// Their payload bytes.
    pub(crate) bytes: u64,
    /// The offset (in the batch) of the source's last record.
    pub(crate) last: usize,
}

/// The per-source counts of one ring batch, and the offsets of the records that may be onset records (those of
/// sources whose onset was unknown when the batch was polled), from the consumer's walk.
#[derive(Debug)]
pub(crate) struct BatchTally {
    counts: Box<[SourceCount; 256]>,
    /// The sources with a record in the batch, in order of their first.
    touched: Vec<u8>,
    /// The offsets of the records whose source was in the watch set (rare: a source's first records).
    candidates: Vec<usize>,
}

impl Default for BatchTally {
    fn default() -> Self {
        BatchTally {
            counts: Box::new([SourceCount::default(); 256]),
            touched: Vec::with_capacity(256),
            candidates: Vec::new(),
        }
    }
}

impl BatchTally {
    /// Polls the next batch of at most `max_bytes` from `consumer` and counts its records from the poll's own walk;
    /// the offsets of records of the sources in `watch` (a 256-bit set) are kept as onset candidates. Cleared
    /// first, and cleared again unless a batch is returned.
    ///
    /// # Errors
    /// As [`Consumer::poll`].
    pub(crate) fn poll<'c, M: Memory>(
        &mut self,
        consumer: &'c mut Consumer<M>,
        max_bytes: usize,
        watch: &[u64; 4],
    ) -> Result<Option<Batch<'c, M>>, RingError> {
        self.clear();
        let result = consumer.poll_each(max_bytes, |offset, w| self.see(offset, w, watch));
        if !matches!(result, Ok(Some(_))) {
            self.clear();
        }
        result
    }

    /// Counts the data record at `offset` with header `w`.
    #[inline(always)]
    fn see(&mut self, offset: usize, w: Word0, watch: &[u64; 4]) {
        let source = w.source_id;
        let c = &mut self.counts[usize::from(source)];
        if c.records == 0 {
            self.touched.push(source);
        }
        c.records += 1;
        // A committed data record's length is at least the header's (checked by the poll).
        c.bytes += (w.length as usize).saturating_sub(HEADER_LEN) as u64;
        c.last = offset;
        if watch[usize::from(source >> 6)] & (1 << (source & 63)) != 0 {
            self.candidates.push(offset);
        }
    }

    /// Counts every data record of `batch` (bytes as a ring batch holds them) by decoding it: for batches that did
    /// not come from [`BatchTally::poll`] (tests).
    #[cfg(test)]
    pub(crate) fn of_bytes(batch: &[u8]) -> Self {
        use seqring_core::ring::record::{align8, Records};
        let mut tally = BatchTally::default();
        let mut records = Records::new(batch);
        while let Some(Ok(record)) = records.next() {
            // The record ends where the iterator now stands.
            let len = HEADER_LEN + record.payload.len();
            let start = records.offset() - align8(len).unwrap_or(0);
            tally.see(
                start,
                Word0::data(i32::try_from(len).unwrap_or(i32::MAX), record.source_id),
                &[0; 4],
            );
        }
        tally
    }

    fn clear(&mut self) {
        for &source in &self.touched {
            self.counts[usize::from(source)] = SourceCount::default();
        }
        self.touched.clear();
        self.candidates.clear();
    }

    /// The sources with records in the batch and their counts, in order of their first record.
    pub(crate) fn sources(&self) -> impl Iterator<Item = (u8, &SourceCount)> + '_ {
        self.touched.iter().map(|&s| (s, &self.counts[usize::from(s)]))
    }

    /// The offsets of the records of watched sources, in order.
    pub(crate) fn candidates(&self) -> &[usize] {
        &self.candidates
    }

    /// The total records.
    pub(crate) fn total_records(&self) -> u64 {
        self.sources().map(|(_, c)| c.records).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqring_core::ring::{region_len, Mode, Producer, Ring};
    use seqring_core::RawRegion;

    #[test]
    fn a_batch_tally_counts_what_decoding_the_batch_counts_and_keeps_the_watched_sources_records() {
        let words = seqring_platform::zeroed_words(region_len(4096).unwrap());
        let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
        let producer = Producer::attach(ring).unwrap();
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        for (source, timestamp, payload) in [
            (3u8, 0u64, &b"onset..."[..]),
            (5, 1, b"a"),
            (3, 2, b"bcdefghij"),
            (5, 3, b""),
        ] {
            producer.try_write(source, timestamp, payload).unwrap();
        }
        let mut tally = BatchTally::default();
        let mut watch = [0u64; 4];
        watch[0] = 1 << 3;
        let batch = tally.poll(&mut consumer, usize::MAX, &watch).unwrap().unwrap();
        let decoded = BatchTally::of_bytes(batch.bytes());
        let counts: Vec<(u8, SourceCount)> = tally.sources().map(|(s, c)| (s, *c)).collect();
        assert_eq!(counts, decoded.sources().map(|(s, c)| (s, *c)).collect::<Vec<_>>());
        assert_eq!(
            counts,
            [
                (
                    3,
                    SourceCount {
                        records: 2,
                        bytes: 17,
                        last: 48
                    }
                ),
                (
                    5,
                    SourceCount {
                        records: 2,
                        bytes: 1,
                        last: 80
                    }
                ),
            ]
        );
        assert_eq!(tally.candidates(), [0, 48], "the records of source 3 only");
        assert_eq!(tally.total_records(), batch.records());
        batch.release();
        let mut total = Tally::default();
        total.add_batch_tally(&tally);
        assert_eq!((total.records[3], total.bytes[3], total.records[5]), (2, 17, 2));
        // An empty poll leaves nothing counted.
        assert!(tally.poll(&mut consumer, usize::MAX, &watch).unwrap().is_none());
        assert_eq!((tally.sources().count(), tally.candidates().len()), (0, 0));
    }
}
