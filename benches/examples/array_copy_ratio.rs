//! The 1 MiB read against memcpy, interleaved (issue 24's target: `SharedArray::read_into` of 1 MiB ≤ 1.2 ×
//! memcpy): on a machine shared with other work, criterion measures each function in its own time window, whose
//! load differs; here every round times one memcpy and one read back to back, so both see the same load, and the
//! ratio of their medians (and the median of the per-round ratios) compares like with like.
//!
//! ```text
//! cargo run --release -p seqring-benches --example array_copy_ratio [rounds]
//! ```

use seqring::shared_array::SharedArray;
use std::hint::black_box;
use std::time::Instant;

const LEN: usize = (1 << 20) / 8;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3000);
    let name = format!("seqring-copy-ratio-{}", std::process::id());
    let array = SharedArray::<f64>::create(&name, &[LEN as u64]).unwrap();
    let src: Vec<f64> = (0..LEN).map(|i| i as f64).collect();
    array.write(&src).unwrap();
    let mut dst = vec![0f64; LEN];
    let (mut memcpy, mut read, mut write, mut ratio) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds + 100 {
        let t = Instant::now();
        black_box(&mut dst[..]).copy_from_slice(black_box(&src[..]));
        let m = t.elapsed().as_secs_f64();
        let t = Instant::now();
        black_box(array.read_into(black_box(&mut dst[..])).unwrap());
        let r = t.elapsed().as_secs_f64();
        let t = Instant::now();
        array.write(black_box(&src[..])).unwrap();
        let w = t.elapsed().as_secs_f64();
        if round >= 100 {
            memcpy.push(m * 1e6);
            read.push(r * 1e6);
            write.push(w * 1e6);
            ratio.push(r / m);
        }
    }
    assert_eq!(dst, src);
    let (m, r, w) = (median(&mut memcpy), median(&mut read), median(&mut write));
    println!(
        "1 MiB, {rounds} interleaved rounds: memcpy {m:.1} µs, read_into {r:.1} µs ({:.2}×), write {w:.1} µs ({:.2}×); median per-round read ratio {:.2}×",
        r / m,
        w / m,
        median(&mut ratio)
    );
}
