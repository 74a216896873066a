//! The tail of the log call's clock (issue 24): `mono_ns`, `Instant::now` and a bare `rdtsc`, each timed by a pair
//! of `rdtsc`s over 20 M calls. Prints the quantiles in counter ticks and the number of calls over 1 µs.
#[cfg(target_arch = "x86_64")]
fn main() {
    use seqring_platform::clock::mono_ns;
    use std::arch::x86_64::_rdtsc;
    fn tsc() -> u64 {
        // SAFETY: `rdtsc` has no preconditions on x86-64.
        unsafe { _rdtsc() }
    }
    use std::hint::black_box;
    use std::time::Instant;
    const N: usize = 20_000_000;
    let epoch = Instant::now();
    let (t0, i0) = (tsc(), Instant::now());
    std::thread::sleep(std::time::Duration::from_millis(50));
    let ghz = (tsc() - t0) as f64 / i0.elapsed().as_nanos() as f64;
    // The machine's own interruptions: spin on the counter for 1 s and count the gaps over 1 µs between readings.
    let (mut gaps, mut total, mut longest) = ([0u64; 4], 0f64, 0f64);
    let end = tsc() + (ghz * 1e9) as u64;
    let mut last = tsc();
    while last < end {
        let now = tsc();
        let ns = (now - last) as f64 / ghz;
        if ns > 1000.0 {
            gaps[match ns {
                x if x < 3_000.0 => 0,
                x if x < 10_000.0 => 1,
                x if x < 100_000.0 => 2,
                _ => 3,
            }] += 1;
            total += ns;
            longest = f64::max(longest, ns);
        }
        last = now;
    }
    println!(
        "gaps over 1 us in 1 s of spinning: 1-3 us {}, 3-10 us {}, 10-100 us {}, over 100 us {}; {:.1} ms in all, longest {:.0} us",
        gaps[0], gaps[1], gaps[2], gaps[3], total / 1e6, longest / 1e3
    );
    for name in ["rdtsc", "mono_ns", "instant", "rdtsc", "mono_ns", "instant"] {
        let mut v = Vec::with_capacity(N);
        for _ in 0..N {
            let a = tsc();
            match name {
                "rdtsc" => {
                    black_box(tsc());
                }
                "mono_ns" => {
                    black_box(mono_ns());
                }
                _ => {
                    black_box(epoch.elapsed());
                }
            }
            v.push((tsc() - a) as u32);
        }
        let over = v.iter().filter(|&&t| t as f64 / ghz > 1000.0).count();
        v.sort_unstable();
        let q = |q: f64| v[((N - 1) as f64 * q) as usize] as f64 / ghz;
        println!(
            "{name:8} p50 {:.1} ns  p99 {:.1}  p99.9 {:.1}  p99.99 {:.1}  max {:.0}  calls over 1 us: {over} ({:.4} %)",
            q(0.5),
            q(0.99),
            q(0.999),
            q(0.9999),
            q(1.0),
            over as f64 * 100.0 / N as f64
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {}
