//! Log ring benchmarks (issue 2), 64-byte payloads, with `rtrb` and crossbeam's `ArrayQueue` carrying `[u8; 64]`
//! elements side by side:
//! - `ring_produce_64B`: the latency of producing one record on one thread (SPSC and MPSC `try_write`, and the
//!   zero-copy `claim` → `payload_mut` → `commit`), against `rtrb::Producer::push` and `ArrayQueue::push`. Records
//!   are produced in bursts that fit the ring; only the bursts are timed, and the consumer drains between them.
//! - `ring_spsc` / `ring_mpsc`: end-to-end throughput of [`N`] records from one (or two) producer threads to one
//!   consumer thread, which checks the count and each producer's order.
//! - `ring_drain_64B`: the consumer's drain rate over a pre-filled ring (`poll` + `batch_bytes` + `Records` +
//!   `release`), against popping the peers one element at a time and rtrb's `read_chunk`.
//!
//! The ring's data area is 64 KiB (819 records of 80 bytes); the peers hold 1024 elements of 64 bytes (64 KiB).

use criterion::{BenchmarkId, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use seqring_core::ring::record::Records;
use seqring_core::ring::{self, ClaimError, Consumer, Mode, Producer, Ring, SpscProducer};
use seqring_core::RawRegion;
use std::hint::black_box;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// Payload bytes per record (and the peers' element size).
const PAYLOAD: usize = 64;
/// The ring's data area: 64 KiB.
const CAPACITY: usize = 1 << 16;
/// The peers' capacity in elements: 1024 × 64 B = 64 KiB.
const SLOTS: usize = 1024;
/// Records per timed burst: fits an empty ring (819 records of 80 bytes, plus one wrap padding) and the peers.
const BURST: u64 = 768;
/// Records per throughput iteration.
const N: u64 = 1 << 20;
/// The consumer's largest batch in the throughput runs: a quarter of the ring, so space is released while the
/// producer keeps going.
const MAX_BATCH: usize = CAPACITY / 4;

type Elem = [u8; PAYLOAD];

fn words(capacity: usize) -> Vec<AtomicU64> {
    seqring_platform::zeroed_words(ring::region_len(capacity).unwrap())
}

/// A payload carrying a sequence number (bytes 0..8) and a source (byte 8).
#[inline]
fn payload(source: u8, seq: u64) -> Elem {
    let mut p = [0x5a; PAYLOAD];
    p[..8].copy_from_slice(&seq.to_le_bytes());
    p[8] = source;
    p
}

/// Checks a received payload against the next expected sequence number of its source.
#[inline]
fn check(p: &[u8], next: &mut [u64; 2]) {
    let seq = u64::from_le_bytes(p[..8].try_into().unwrap());
    let source = p[8] as usize;
    assert_eq!(seq, next[source], "source {source} out of order");
    next[source] += 1;
}

/// Spins a little, then yields: the same policy for every queue when it is full or empty. With 2 cores shared by
/// the benchmark's threads and other work, yielding lets a descheduled partner run.
#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// Runs `iters` single-threaded productions in bursts of at most [`BURST`], timing only `produce(count, first)`;
/// `drain` empties the queue between bursts, untimed.
fn bursts(iters: u64, mut produce: impl FnMut(u64, u64), mut drain: impl FnMut() -> u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(BURST);
        let start = Instant::now();
        produce(n, done);
        total += start.elapsed();
        assert_eq!(drain(), n);
        done += n;
    }
    total
}

/// Drains a seqring consumer without decoding; returns the records.
fn drain_ring(consumer: &mut Consumer<RawRegion<'_>>) -> u64 {
    let mut n = 0;
    while let Some(batch) = consumer.poll(usize::MAX).unwrap() {
        n += batch.records();
        batch.release();
    }
    n
}

/// Drains a seqring consumer the way a real consumer does: poll, decode the records in place, touch each payload,
/// release. Returns the records.
#[inline]
fn drain_decode(consumer: &mut Consumer<RawRegion<'_>>) -> u64 {
    let mut n = 0;
    let mut sum = 0u8;
    while let Some(batch) = consumer.poll(usize::MAX).unwrap() {
        for record in Records::new(batch.bytes()) {
            sum = sum.wrapping_add(record.unwrap().payload[PAYLOAD - 1]);
            n += 1;
        }
        batch.release();
    }
    black_box(sum);
    n
}

fn produce_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_produce_64B");
    g.throughput(Throughput::Elements(1));
    let p = payload(0, 0);
    let spsc_words = words(CAPACITY);
    let spsc = Ring::create(RawRegion::new(&spsc_words), Mode::Spsc, None, 1, 0).unwrap();
    bench_producer(
        &mut g,
        "spsc",
        &SpscProducer::attach(spsc, 1).unwrap(),
        &mut Consumer::attach(spsc, 2).unwrap(),
    );
    let mpsc_words = words(CAPACITY);
    let mpsc = Ring::create(RawRegion::new(&mpsc_words), Mode::Mpsc, None, 1, 0).unwrap();
    bench_producer(
        &mut g,
        "mpsc",
        &Producer::attach(mpsc).unwrap(),
        &mut Consumer::attach(mpsc, 2).unwrap(),
    );
    let (mut tx, mut rx) = rtrb::RingBuffer::<Elem>::new(SLOTS);
    g.bench_function("rtrb_push", |b| {
        b.iter_custom(|iters| {
            bursts(
                iters,
                |n, _| {
                    for _ in 0..n {
                        tx.push(black_box(p)).unwrap();
                    }
                },
                || {
                    let mut n = 0;
                    while let Ok(v) = rx.pop() {
                        black_box(v);
                        n += 1;
                    }
                    n
                },
            )
        })
    });
    let q = ArrayQueue::<Elem>::new(SLOTS);
    g.bench_function("arrayqueue_push", |b| {
        b.iter_custom(|iters| {
            bursts(
                iters,
                |n, _| {
                    for _ in 0..n {
                        q.push(black_box(p)).unwrap();
                    }
                },
                || {
                    let mut n = 0;
                    while let Some(v) = q.pop() {
                        black_box(v);
                        n += 1;
                    }
                    n
                },
            )
        })
    });
    g.finish();
}

/// The two producer types behind one interface, so that both run the same benchmark code.
trait BenchProducer: Sync {
    fn write(&self, source: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError>;
    /// The zero-copy path: claim, fill the payload, commit.
    fn claim_commit(&self, timestamp: u64, payload: &Elem);
}

impl BenchProducer for Producer<RawRegion<'_>> {
    // Inlined as the peers' pushes are, and as `log_now` inlines it: called out of line, the call itself (six
    // saved registers and a result through memory) was half of the figure.
    #[inline(always)]
    fn write(&self, source: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError> {
        self.try_write(source, timestamp, payload)
    }

    #[inline]
    fn claim_commit(&self, timestamp: u64, payload: &Elem) {
        let mut grant = self.claim(1, timestamp, PAYLOAD).unwrap();
        grant.write(0, payload);
        grant.commit().unwrap();
    }
}

impl BenchProducer for SpscProducer<RawRegion<'_>> {
    // Inlined as the peers' pushes are, and as `log_now` inlines it: called out of line, the call itself (six
    // saved registers and a result through memory) was half of the figure.
    #[inline(always)]
    fn write(&self, source: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError> {
        self.try_write(source, timestamp, payload)
    }

    #[inline]
    fn claim_commit(&self, timestamp: u64, payload: &Elem) {
        let mut grant = self.claim(1, timestamp, PAYLOAD).unwrap();
        grant.payload_mut().copy_from_slice(payload);
        grant.commit().unwrap();
    }
}

/// Single-producer latency of `try_write` and of claim+commit, drained untimed between bursts.
fn bench_producer<P: BenchProducer>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    producer: &P,
    consumer: &mut Consumer<RawRegion<'_>>,
) {
    let p = payload(0, 0);
    g.bench_function(BenchmarkId::new("seqring_try_write", name), |b| {
        b.iter_custom(|iters| {
            bursts(
                iters,
                |n, first| {
                    for i in first..first + n {
                        producer.write(1, i, black_box(&p)).unwrap();
                    }
                },
                || drain_ring(consumer),
            )
        })
    });
    g.bench_function(BenchmarkId::new("seqring_claim_commit", name), |b| {
        b.iter_custom(|iters| {
            bursts(
                iters,
                |n, first| {
                    for i in first..first + n {
                        producer.claim_commit(i, black_box(&p));
                    }
                },
                || drain_ring(consumer),
            )
        })
    });
}

/// Writes `count` records from `source` with `try_write`, retrying while the ring is full.
fn produce_ring(producer: &impl BenchProducer, source: u8, count: u64) {
    for seq in 0..count {
        let p = payload(source, seq);
        let mut spins = 0;
        loop {
            match producer.write(source, seq, &p) {
                Ok(()) => break,
                Err(ClaimError::Full) => backoff(&mut spins),
                Err(e) => panic!("{e}"),
            }
        }
    }
}

/// Consumes `count` records in batches of at most [`MAX_BATCH`] bytes, checking each producer's order.
fn consume_ring(consumer: &mut Consumer<RawRegion<'_>>, count: u64) {
    let mut next = [0u64; 2];
    let mut got = 0;
    let mut spins = 0;
    while got < count {
        match consumer.poll(MAX_BATCH).unwrap() {
            Some(batch) => {
                for record in Records::new(batch.bytes()) {
                    check(record.unwrap().payload, &mut next);
                    got += 1;
                }
                batch.release();
                spins = 0;
            }
            None => backoff(&mut spins),
        }
    }
    assert_eq!(next.iter().sum::<u64>(), count);
}

fn push_arrayqueue(q: &ArrayQueue<Elem>, source: u8, count: u64) {
    for seq in 0..count {
        let mut v = payload(source, seq);
        let mut spins = 0;
        while let Err(back) = q.push(v) {
            v = back;
            backoff(&mut spins);
        }
    }
}

fn pop_arrayqueue(q: &ArrayQueue<Elem>, count: u64) {
    let mut next = [0u64; 2];
    let mut spins = 0;
    for _ in 0..count {
        let v = loop {
            match q.pop() {
                Some(v) => break v,
                None => backoff(&mut spins),
            }
        };
        spins = 0;
        check(&v, &mut next);
    }
    assert_eq!(next.iter().sum::<u64>(), count);
}

fn spsc_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_spsc");
    g.sample_size(10).throughput(Throughput::Elements(N));
    let w = words(CAPACITY);
    let ring = Ring::create(RawRegion::new(&w), Mode::Spsc, None, 1, 0).unwrap();
    g.bench_function("seqring_try_write", |b| {
        b.iter(|| {
            let producer = SpscProducer::attach(ring, 1).unwrap();
            let mut consumer = Consumer::attach(ring, 2).unwrap();
            std::thread::scope(|s| {
                s.spawn(move || produce_ring(&producer, 0, N));
                consume_ring(&mut consumer, N);
            });
        })
    });
    g.bench_function("rtrb", |b| {
        b.iter(|| {
            let (mut tx, mut rx) = rtrb::RingBuffer::<Elem>::new(SLOTS);
            std::thread::scope(|s| {
                s.spawn(move || {
                    for seq in 0..N {
                        let mut v = payload(0, seq);
                        let mut spins = 0;
                        while let Err(rtrb::PushError::Full(back)) = tx.push(v) {
                            v = back;
                            backoff(&mut spins);
                        }
                    }
                });
                let mut next = [0u64; 2];
                let mut spins = 0;
                for _ in 0..N {
                    let v = loop {
                        match rx.pop() {
                            Ok(v) => break v,
                            Err(_) => backoff(&mut spins),
                        }
                    };
                    spins = 0;
                    check(&v, &mut next);
                }
                assert_eq!(next[0], N);
            });
        })
    });
    g.bench_function("arrayqueue", |b| {
        b.iter(|| {
            let q = ArrayQueue::<Elem>::new(SLOTS);
            std::thread::scope(|s| {
                s.spawn(|| push_arrayqueue(&q, 0, N));
                pop_arrayqueue(&q, N);
            });
        })
    });
    g.finish();
}

fn mpsc_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_mpsc_2p");
    g.sample_size(10).throughput(Throughput::Elements(N));
    let w = words(CAPACITY);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    g.bench_function("seqring_try_write", |b| {
        b.iter(|| {
            let producer = Producer::attach(ring).unwrap();
            let mut consumer = Consumer::attach(ring, 2).unwrap();
            std::thread::scope(|s| {
                for source in 0..2u8 {
                    let producer = producer.clone();
                    s.spawn(move || produce_ring(&producer, source, N / 2));
                }
                consume_ring(&mut consumer, N);
            });
        })
    });
    g.bench_function("arrayqueue", |b| {
        b.iter(|| {
            let q = ArrayQueue::<Elem>::new(SLOTS);
            std::thread::scope(|s| {
                for source in 0..2u8 {
                    let q = &q;
                    s.spawn(move || push_arrayqueue(q, source, N / 2));
                }
                pop_arrayqueue(&q, N);
            });
        })
    });
    g.finish();
}

/// Runs `iters` record consumptions in bursts of at most [`BURST`]: `fill(count)` untimed, `drain()` timed.
fn drains(iters: u64, mut fill: impl FnMut(u64), mut drain: impl FnMut() -> u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(BURST);
        fill(n);
        let start = Instant::now();
        let got = drain();
        total += start.elapsed();
        assert_eq!(got, n);
        done += n;
    }
    total
}

fn drain_rate(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_drain_64B");
    g.throughput(Throughput::Elements(1));
    let p = payload(0, 0);
    let w = words(CAPACITY);
    let ring = Ring::create(RawRegion::new(&w), Mode::Spsc, None, 1, 0).unwrap();
    let producer = SpscProducer::attach(ring, 1).unwrap();
    let mut consumer = Consumer::attach(ring, 2).unwrap();
    g.bench_function("seqring_poll_records_release", |b| {
        b.iter_custom(|iters| {
            drains(
                iters,
                |n| (0..n).for_each(|i| producer.try_write(1, i, &p).unwrap()),
                || drain_decode(&mut consumer),
            )
        })
    });
    let (mut tx, mut rx) = rtrb::RingBuffer::<Elem>::new(SLOTS);
    g.bench_function("rtrb_pop", |b| {
        b.iter_custom(|iters| {
            drains(
                iters,
                |n| (0..n).for_each(|_| tx.push(p).unwrap()),
                || {
                    let (mut n, mut sum) = (0, 0u8);
                    while let Ok(v) = rx.pop() {
                        sum = sum.wrapping_add(black_box(v)[PAYLOAD - 1]);
                        n += 1;
                    }
                    black_box(sum);
                    n
                },
            )
        })
    });
    g.bench_function("rtrb_read_chunk", |b| {
        b.iter_custom(|iters| {
            drains(
                iters,
                |n| (0..n).for_each(|_| tx.push(p).unwrap()),
                || {
                    let chunk = rx.read_chunk(rx.slots()).unwrap();
                    let (first, second) = chunk.as_slices();
                    let sum = first
                        .iter()
                        .chain(second)
                        .fold(0u8, |s, v| s.wrapping_add(v[PAYLOAD - 1]));
                    black_box(sum);
                    let n = chunk.len() as u64;
                    chunk.commit_all();
                    n
                },
            )
        })
    });
    let q = ArrayQueue::<Elem>::new(SLOTS);
    g.bench_function("arrayqueue_pop", |b| {
        b.iter_custom(|iters| {
            drains(
                iters,
                |n| (0..n).for_each(|_| q.push(p).unwrap()),
                || {
                    let (mut n, mut sum) = (0, 0u8);
                    while let Some(v) = q.pop() {
                        sum = sum.wrapping_add(black_box(v)[PAYLOAD - 1]);
                        n += 1;
                    }
                    black_box(sum);
                    n
                },
            )
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    produce_latency(&mut c);
    spsc_throughput(&mut c);
    mpsc_throughput(&mut c);
    drain_rate(&mut c);
    c.final_summary();
}
