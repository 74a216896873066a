//! The hashes and the perfect-hash construction of an id map (see the [module docs](super) for the formulas).

/// Slots per key of the perfect hash is `1 / ALPHA`; buckets hold `LAMBDA` keys on average.
pub(super) const ALPHA_PERCENT: u64 = 95;
pub(super) const LAMBDA: u64 = 2;
pub(super) const PHF_SEEDS: u32 = 4;

/// MurmurHash3's 64-bit finaliser: a bijection on `u64` with full avalanche.
#[inline]
pub(crate) const fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// The multiplicative inverse of an odd `a` modulo 2^64 (Newton's iteration; each step doubles the correct bits).
pub(super) const fn inverse(a: u64) -> u64 {
    let mut x = a;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// The inverse of [`fmix64`].
#[inline]
pub(crate) const fn unfmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(inverse(0xc4ce_b9fe_1a85_ec53));
    x ^= x >> 33;
    x = x.wrapping_mul(inverse(0xff51_afd7_ed55_8ccd));
    x ^= x >> 33;
    x
}

/// `x` scaled to `0..n` by its high bits (Lemire's fastrange).
#[inline]
pub(super) fn fastrange(x: u64, n: u64) -> u64 {
    ((u128::from(x) * u128::from(n)) >> 64) as u64
}

#[inline]
pub(super) fn pilot_hash(pilot: u16, seed: u32) -> u64 {
    fmix64((u64::from(seed) << 32) | u64::from(pilot))
}

#[inline]
pub(super) fn phf_slot(h: u64, pilot: u16, seed: u32, m: u64) -> u64 {
    fastrange(fmix64(h ^ pilot_hash(pilot, seed)), m)
}

/// PTHash's skewed bucket assignment: the 60 % of keys with `h < 0.6 * 2^64` go to the first 30 % of the buckets
/// (dense buckets, placed first while the table is empty), the rest to the other 70 %.
#[inline]
pub(super) fn phf_bucket(h: u64, nb: u64) -> u64 {
    const DENSE_KEYS: u64 = (u64::MAX / 10) * 6;
    let dense = nb * 3 / 10;
    let g = h.rotate_left(32);
    if h < DENSE_KEYS && dense > 0 {
        fastrange(g, dense)
    } else {
        dense + fastrange(g, nb - dense)
    }
}

#[inline]
pub(super) fn dir_bucket(h: u64, bits: u32) -> u64 {
    h.checked_shr(64 - bits).unwrap_or(0)
}

/// A PTHash-style perfect hash of distinct sorted `hashes`: (seed, pilots, entry -> group + 1 or 0 for empty).
pub(super) fn build_phf(hashes: &[u64]) -> Option<(u32, Vec<u16>, Vec<usize>)> {
    let n = hashes.len();
    let m = (n as u64 * 100).div_ceil(ALPHA_PERCENT);
    let nb = (n as u64).div_ceil(LAMBDA);
    // Counting sort of the keys by bucket: `members[starts[b]..starts[b + 1]]` are the keys of bucket `b`.
    let bucket_of: Vec<u64> = hashes.iter().map(|&h| phf_bucket(h, nb)).collect();
    let mut starts = vec![0usize; nb as usize + 1];
    for &b in &bucket_of {
        starts[b as usize + 1] += 1;
    }
    for b in 0..nb as usize {
        starts[b + 1] += starts[b];
    }
    let mut fill = starts.clone();
    let mut members = vec![0usize; n];
    for (g, &b) in bucket_of.iter().enumerate() {
        members[fill[b as usize]] = g;
        fill[b as usize] += 1;
    }
    drop((bucket_of, fill));
    // Largest buckets first, while the table is empty.
    let mut order: Vec<u32> = (0..nb as u32).collect();
    order.sort_by_key(|&b| std::cmp::Reverse(starts[b as usize + 1] - starts[b as usize]));
    let mut slots_buf: Vec<u64> = Vec::new();
    'seed: for seed in 0..PHF_SEEDS {
        let mut taken = vec![0u64; (m as usize).div_ceil(64)];
        let mut pilots = vec![0u16; nb as usize];
        let mut entry_group = vec![0usize; m as usize];
        for &b in &order {
            let keys = &members[starts[b as usize]..starts[b as usize + 1]];
            if keys.is_empty() {
                break; // sorted by size: only empty buckets remain
            }
            let found = (0..=u16::MAX).find(|&p| {
                let c = pilot_hash(p, seed);
                slots_buf.clear();
                for &g in keys {
                    let s = fastrange(fmix64(hashes[g] ^ c), m);
                    if taken[(s / 64) as usize] & (1 << (s % 64)) != 0 || slots_buf.contains(&s) {
                        return false;
                    }
                    slots_buf.push(s);
                }
                true
            });
            let Some(p) = found else { continue 'seed };
            pilots[b as usize] = p;
            for (&g, &s) in keys.iter().zip(&slots_buf) {
                taken[(s / 64) as usize] |= 1 << (s % 64);
                entry_group[s as usize] = g + 1;
            }
        }
        return Some((seed, pilots, entry_group));
    }
    None
}

pub(super) fn ceil_log2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}
