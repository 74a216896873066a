//! A raw deflate encoder for small archive members: one final block with the fixed Huffman codes (RFC 1951
//! §3.2.6), or a stored block when that is smaller, built for members of at most [`MAX_INPUT`] bytes (a log entry of
//! a small message: its 128-byte npy header and its data).
//!
//! Why not miniz_oxide for these: every zip member is its own deflate stream, so a general compressor must clear its
//! state (hash chains, dictionary, code buffers: about 290 KB for miniz_oxide) before each one, which cost 10.6 of
//! the 14.3 µs per 201-byte entry. This encoder never clears anything: its hash table holds absolute positions
//! that keep growing from member to member, and a candidate from before the current member's first position is
//! ignored, exactly as an empty slot is. So the output depends only on the member's bytes (never on what the
//! encoder deflated before, nor on the thread), and no state is reset per member.
//!
//! [`inflate_fixed`] is the reading side's fast path for the same kind of stream (one final fixed-code block, as
//! this encoder and zlib write small members): miniz_oxide's inflater builds its decoding tables anew for every
//! block, which was most of the time of opening an archive of small deflated members. It takes only a well-formed
//! stream of exactly the declared size and hands anything else (another block type, a bad code, a distance past
//! the start, a size that differs, a truncated stream) back to the general inflater, which reports the error.
//!
//! Invariants:
//! - the output is one complete raw deflate stream (BFINAL set) that inflates to exactly the input;
//! - every match lies inside the member (distance at most `i`, so at most [`MAX_INPUT`] − 1), is at least 3 and at
//!   most 258 bytes long, and repeats the bytes it stands for;
//! - the table holds positions as `u32`; before they could wrap it is cleared and numbering starts again at 1
//!   (0 is never a current position, so the cleared slots are ignored too).

/// The largest member this encoder takes (its matches' distances then need at most 8 extra bits).
pub(crate) const MAX_INPUT: usize = 1024;
/// Bits of the hash of a position's next 3 bytes.
const HASH_BITS: u32 = 12;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// Zero bytes after the input, so that 8-byte loads near its end stay inside the buffer.
const PAD: usize = 8;

/// A fixed-code symbol: its bits (already in the order the stream wants them, extra bits included) and their count.
#[derive(Clone, Copy)]
struct Code {
    bits: u32,
    len: u32,
}

const fn reverse(code: u32, len: u32) -> u32 {
    let mut r = 0;
    let mut i = 0;
    while i < len {
        r |= ((code >> i) & 1) << (len - 1 - i);
        i += 1;
    }
    r
}

/// The fixed literal/length code of `symbol` (0–287), bits reversed for an LSB-first writer.
const fn lit_code(symbol: u32) -> Code {
    let (code, len) = match symbol {
        0..=143 => (0x30 + symbol, 8),
        144..=255 => (0x190 + symbol - 144, 9),
        256..=279 => (symbol - 256, 7),
        _ => (0xC0 + symbol - 280, 8),
    };
    Code {
        bits: reverse(code, len),
        len,
    }
}

const LENGTH_BASE: [u32; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LENGTH_EXTRA: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u32; 20] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
];
const DIST_EXTRA: [u32; 20] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8];

const LITERALS: [Code; 256] = {
    let mut t = [Code { bits: 0, len: 0 }; 256];
    let mut s = 0;
    while s < 256 {
        t[s] = lit_code(s as u32);
        s += 1;
    }
    t
};

/// Length `l` (3–258) at index `l`: its code and extra bits.
const LENGTHS: [Code; MAX_MATCH + 1] = {
    let mut t = [Code { bits: 0, len: 0 }; MAX_MATCH + 1];
    let mut l = MIN_MATCH;
    while l <= MAX_MATCH {
        // The last code whose base is at most l (258 has its own code, 285).
        let mut c = 28;
        while LENGTH_BASE[c] > l as u32 {
            c -= 1;
        }
        let code = lit_code(257 + c as u32);
        let extra = l as u32 - LENGTH_BASE[c];
        t[l] = Code {
            bits: code.bits | (extra << code.len),
            len: code.len + LENGTH_EXTRA[c],
        };
        l += 1;
    }
    t
};

/// Distance `d` (1 to [`MAX_INPUT`] − 1) at index `d`: its 5-bit code and extra bits.
const DISTANCES: [Code; MAX_INPUT] = {
    let mut t = [Code { bits: 0, len: 0 }; MAX_INPUT];
    let mut d = 1;
    while d < MAX_INPUT {
        let mut c = 19;
        while DIST_BASE[c] > d as u32 {
            c -= 1;
        }
        let extra = d as u32 - DIST_BASE[c];
        t[d] = Code {
            bits: reverse(c as u32, 5) | (extra << 5),
            len: 5 + DIST_EXTRA[c],
        };
        d += 1;
    }
    t
};

/// An LSB-first bit writer into a byte vector.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits<'_> {
    /// Appends the low `len` bits of `bits` (`len` ≤ 32).
    #[inline]
    fn put(&mut self, bits: u32, len: u32) {
        self.acc |= u64::from(bits) << self.n;
        self.n += len;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Writes the last partial byte.
    fn finish(self) {
        let bytes = self.n.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
    }
}

/// How hard the encoder looks for matches.
#[derive(Clone, Copy, Debug)]
struct Effort {
    /// Candidates tried per position.
    depth: u32,
    /// Whether a match is deferred by one byte when the next position has a longer one.
    lazy: bool,
}

/// The encoder. One per thread; it keeps its table and buffer between members.
pub(crate) struct FixedDeflater {
    /// The last absolute position whose next 3 bytes hashed here.
    head: Box<[u32; 1 << HASH_BITS]>,
    /// For each position of the current member, the previous absolute position with the same hash.
    prev: Box<[u32; MAX_INPUT]>,
    /// The absolute position of the current member's first byte.
    base: u32,
    /// The current member's bytes, then [`PAD`] zeros.
    buf: Vec<u8>,
    effort: Effort,
}

impl FixedDeflater {
    /// An encoder for deflate `level` 1–9 (more candidates and lazy matching from level 4; 0 is taken as 1).
    pub(crate) fn new(level: u8) -> Self {
        let depth = [1, 1, 2, 4, 4, 8, 16, 32, 64, 128][usize::from(level.min(9))];
        FixedDeflater {
            head: Box::new([0; 1 << HASH_BITS]),
            prev: Box::new([0; MAX_INPUT]),
            base: 1,
            buf: Vec::with_capacity(MAX_INPUT + PAD),
            effort: Effort {
                depth,
                lazy: level >= 4,
            },
        }
    }

    /// Appends to `out` one raw deflate stream of the concatenation of `parts` (at most [`MAX_INPUT`] bytes).
    ///
    /// # Panics
    /// If `parts` hold more than [`MAX_INPUT`] bytes (a caller's bug: larger members go to a general compressor).
    pub(crate) fn deflate(&mut self, parts: &[&[u8]], out: &mut Vec<u8>) {
        self.buf.clear();
        for part in parts {
            self.buf.extend_from_slice(part);
        }
        let n = self.buf.len();
        assert!(n <= MAX_INPUT, "a {n}-byte member for the fixed-code encoder");
        self.buf.extend_from_slice(&[0; PAD]);
        if u64::from(self.base) + n as u64 >= u64::from(u32::MAX) {
            self.head.fill(0);
            self.base = 1;
        }
        let start = out.len();
        self.encode(n, out);
        // A stored block costs 5 bytes of framing (the 3 header bits rounded up to a byte, then LEN and NLEN).
        if out.len() - start > n + 5 {
            out.truncate(start);
            out.push(1); // BFINAL, BTYPE 00
            out.extend_from_slice(&(n as u16).to_le_bytes());
            out.extend_from_slice(&(!(n as u16)).to_le_bytes());
            out.extend_from_slice(&self.buf[..n]);
        }
        self.base += n as u32;
    }

    /// The fixed-code block of the `n` bytes in `buf`.
    fn encode(&mut self, n: usize, out: &mut Vec<u8>) {
        let mut bits = Bits { out, acc: 0, n: 0 };
        bits.put(0b011, 3); // BFINAL, BTYPE 01 (fixed codes)
        let mut i = 0;
        while i < n {
            let (mut len, mut dist) = self.find(i, n);
            if len >= MIN_MATCH && self.effort.lazy && len < 32 && i + 1 + MIN_MATCH <= n {
                let (len1, dist1) = self.find(i + 1, n);
                if len1 > len {
                    let lit = LITERALS[usize::from(self.buf[i])];
                    bits.put(lit.bits, lit.len);
                    i += 1;
                    (len, dist) = (len1, dist1);
                } else {
                    // Position i + 1 is in the table already: the match's insertions start after it.
                    self.insert_range(i + 2, i + len, n);
                    Self::put_match(&mut bits, len, dist);
                    i += len;
                    continue;
                }
            }
            if len >= MIN_MATCH {
                self.insert_range(i + 1, i + len, n);
                Self::put_match(&mut bits, len, dist);
                i += len;
            } else {
                let lit = LITERALS[usize::from(self.buf[i])];
                bits.put(lit.bits, lit.len);
                i += 1;
            }
        }
        let eob = lit_code(256);
        bits.put(eob.bits, eob.len);
        bits.finish();
    }

    #[inline]
    fn put_match(bits: &mut Bits<'_>, len: usize, dist: usize) {
        let (l, d) = (LENGTHS[len], DISTANCES[dist]);
        bits.put(l.bits | (d.bits << l.len), l.len + d.len);
    }

    #[inline]
    fn hash(&self, i: usize) -> usize {
        let w = u32::from_le_bytes([self.buf[i], self.buf[i + 1], self.buf[i + 2], 0]);
        (w.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Enters positions `from..to` (those with 3 bytes after them) in the table.
    #[inline]
    fn insert_range(&mut self, from: usize, to: usize, n: usize) {
        for j in from..to.min(n.saturating_sub(MIN_MATCH - 1)) {
            let h = self.hash(j);
            self.prev[j] = self.head[h];
            self.head[h] = self.base + j as u32;
        }
    }

    /// Enters position `i` in the table and returns the longest match there (length, distance); length 0 if none.
    #[inline]
    fn find(&mut self, i: usize, n: usize) -> (usize, usize) {
        if i + MIN_MATCH > n {
            return (0, 0);
        }
        let h = self.hash(i);
        let mut cand = self.head[h];
        self.prev[i] = cand;
        self.head[h] = self.base + i as u32;
        let max = MAX_MATCH.min(n - i);
        let (mut best, mut best_dist) = (0, 0);
        for _ in 0..self.effort.depth {
            // Positions before `base` are earlier members' (or cleared slots): no match.
            if cand < self.base {
                break;
            }
            let c = (cand - self.base) as usize; // < i: entered before i
            if self.buf[c + best] == self.buf[i + best] {
                let len = self.common(c, i, max);
                if len > best {
                    (best, best_dist) = (len, i - c);
                    if len == max {
                        break;
                    }
                }
            }
            cand = self.prev[c];
        }
        (best, best_dist)
    }

    /// The length of the common prefix of the bytes at `a` and at `b`, at most `max` (with `b + max` ≤ the input).
    #[inline]
    fn common(&self, a: usize, b: usize, max: usize) -> usize {
        let word = |at: usize| u64::from_le_bytes(self.buf[at..at + 8].try_into().unwrap_or_default());
        let mut l = 0;
        while l < max {
            let x = word(a + l) ^ word(b + l);
            if x != 0 {
                return (l + x.trailing_zeros() as usize / 8).min(max);
            }
            l += 8;
        }
        max
    }
}

/// A decoding table entry: a symbol and its code length (0: no code).
#[derive(Clone, Copy)]
struct Decode {
    symbol: u16,
    len: u8,
}

/// The literal/length symbol of every 9-bit window of the stream (its first bit lowest).
const LIT_DECODE: [Decode; 512] = {
    let mut t = [Decode { symbol: 0, len: 0 }; 512];
    let mut s = 0;
    while s < 288 {
        let c = lit_code(s);
        let mut v = c.bits;
        while v < 512 {
            t[v as usize] = Decode {
                symbol: s as u16,
                len: c.len as u8,
            };
            v += 1 << c.len;
        }
        s += 1;
    }
    t
};

/// Every length code (257–285) and distance code (0–29): base and extra bits, as RFC 1951 §3.2.5 lists them.
const DIST_BASE_ALL: [u32; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA_ALL: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

/// An LSB-first bit reader that reads zeros past the end of its input and says how many bits were real.
struct BitReader<'a> {
    input: &'a [u8],
    pos: usize,
    acc: u64,
    /// Bits in `acc` that came from the input.
    n: u32,
}

impl BitReader<'_> {
    #[inline]
    fn refill(&mut self) {
        while self.n <= 56 {
            let Some(&b) = self.input.get(self.pos) else { return };
            self.acc |= u64::from(b) << self.n;
            self.n += 8;
            self.pos += 1;
        }
    }

    /// The next `len` bits (≤ 32), or `None` if the input ends first.
    #[inline]
    fn take(&mut self, len: u32) -> Option<u32> {
        if self.n < len {
            self.refill();
            if self.n < len {
                return None;
            }
        }
        let v = (self.acc & ((1u64 << len) - 1)) as u32;
        self.acc >>= len;
        self.n -= len;
        Some(v)
    }

    /// The next literal/length symbol.
    #[inline]
    fn symbol(&mut self) -> Option<u16> {
        if self.n < 9 {
            self.refill();
        }
        let d = LIT_DECODE[(self.acc & 511) as usize];
        self.take(u32::from(d.len)).map(|_| d.symbol)
    }
}

/// The `size` bytes that `input` inflates to, when `input` starts with one final block with the fixed codes that
/// inflates to exactly `size` bytes (any bytes after the block are ignored, as the general inflater ignores them);
/// `None` for any other stream, well-formed or not, which the caller gives to the general inflater.
pub(crate) fn inflate_fixed(input: &[u8], size: usize) -> Option<Vec<u8>> {
    let mut r = BitReader {
        input,
        pos: 0,
        acc: 0,
        n: 0,
    };
    if r.take(3)? != 0b011 {
        return None; // not final, or not fixed codes
    }
    // The declared size is the caller's, bounded by what the compressed bytes can hold.
    let mut out = Vec::with_capacity(size);
    loop {
        let symbol = r.symbol()?;
        match symbol {
            0..=255 => {
                if out.len() == size {
                    return None;
                }
                out.push(symbol as u8);
            }
            256 => return (out.len() == size).then_some(out),
            257..=285 => {
                let c = usize::from(symbol - 257);
                let len = (LENGTH_BASE[c] + r.take(LENGTH_EXTRA[c])?) as usize;
                let code = reverse(r.take(5)?, 5) as usize;
                let dist = (*DIST_BASE_ALL.get(code)? + r.take(*DIST_EXTRA_ALL.get(code)?)?) as usize;
                if dist > out.len() || len > size - out.len() {
                    return None;
                }
                let from = out.len() - dist;
                if dist >= len {
                    out.extend_from_within(from..from + len);
                } else {
                    for k in 0..len {
                        let b = out[from + k];
                        out.push(b);
                    }
                }
            }
            _ => return None, // 286 and 287 are no symbols
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::decompress_to_vec;

    fn inputs() -> Vec<Vec<u8>> {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut out = vec![
            Vec::new(),
            vec![7],
            vec![0; 2],
            vec![0; 3],
            vec![0; MAX_INPUT],
            b"abcabcabc".to_vec(),
        ];
        for len in [4, 9, 63, 201, 258, 259, 260, 517, 1000, MAX_INPUT] {
            out.push((0..len).map(|_| next() as u8).collect());
            out.push((0..len).map(|_| (next() % 3) as u8).collect());
            out.push((0..len).map(|i| (i / 7) as u8).collect());
            let len = len.min(MAX_INPUT - 128);
            let header = crate::format::npy::u8_vector_header(len as u64);
            out.push([&header[..], &(0..len).map(|i| (i % 11) as u8).collect::<Vec<_>>()].concat());
        }
        for _ in 0..300 {
            let len = (next() % MAX_INPUT as u64 + 1) as usize;
            let alphabet = next() % 255 + 1;
            out.push((0..len).map(|_| (next() % alphabet) as u8).collect());
        }
        out
    }

    #[test]
    fn every_member_inflates_to_its_input_at_every_level() {
        for level in 0..=9 {
            let mut d = FixedDeflater::new(level);
            for input in inputs() {
                let mut out = Vec::new();
                // Split in two parts, as the writer passes the npy header and the data.
                let cut = input.len() / 3;
                d.deflate(&[&input[..cut], &input[cut..]], &mut out);
                assert_eq!(
                    decompress_to_vec(&out).unwrap(),
                    input,
                    "level {level}, {} bytes",
                    input.len()
                );
                assert!(out.len() <= input.len() + 5, "never more than a stored block");
            }
        }
    }

    #[test]
    fn the_output_does_not_depend_on_earlier_members_nor_on_a_wrap_of_positions() {
        let all = inputs();
        let mut fresh_out = Vec::new();
        let mut used = FixedDeflater::new(6);
        for input in &all {
            used.deflate(&[input], &mut Vec::new());
        }
        used.base = u32::MAX - 300; // the next large member clears the table
        for input in all.iter().rev() {
            fresh_out.clear();
            FixedDeflater::new(6).deflate(&[input], &mut fresh_out);
            let mut out = Vec::new();
            used.deflate(&[input], &mut out);
            assert_eq!(out, fresh_out);
        }
    }

    #[test]
    fn fixed_blocks_inflate_as_miniz_oxide_inflates_them_and_anything_else_is_left_to_it() {
        use miniz_oxide::inflate::decompress_to_vec;
        let mut d = FixedDeflater::new(6);
        let mut streams = Vec::new();
        for input in inputs() {
            let mut out = Vec::new();
            d.deflate(&[&input], &mut out);
            if out[0] & 0b111 == 0b011 {
                assert_eq!(inflate_fixed(&out, input.len()).as_deref(), Some(&input[..]));
                // Another size than the stream's: left to the general inflater.
                assert_eq!(inflate_fixed(&out, input.len() + 1), None);
                if !input.is_empty() {
                    assert_eq!(inflate_fixed(&out, input.len() - 1), None);
                }
            } else {
                assert_eq!(inflate_fixed(&out, input.len()), None, "a stored block");
            }
            streams.push(out);
        }
        // Whenever the fast path takes a stream (intact, cut, bit-flipped or random), it agrees with miniz_oxide.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut taken = 0;
        for round in 0..20_000 {
            let mut s = streams[round % streams.len()].clone();
            match round % 4 {
                0 => {}
                1 => s.truncate((next() as usize) % (s.len() + 1)),
                2 => {
                    let at = (next() as usize) % s.len();
                    s[at] ^= 1 << (next() % 8);
                }
                _ => {
                    s = (0..next() % 300).map(|_| next() as u8).collect();
                    if let Some(b) = s.first_mut() {
                        *b = (*b & !0b111) | 0b011;
                    }
                }
            }
            let Ok(want) = decompress_to_vec(&s) else {
                for size in [0, 1, 64, 201, 1024] {
                    assert_eq!(inflate_fixed(&s, size), None, "round {round}");
                }
                continue;
            };
            for size in [want.len(), want.len() + 1, want.len().saturating_sub(1)] {
                if let Some(got) = inflate_fixed(&s, size) {
                    assert_eq!(got, want, "round {round}");
                    taken += 1;
                }
            }
        }
        assert!(taken > 5_000, "{taken}");
    }

    #[test]
    fn a_log_entry_deflates_as_small_as_miniz_oxide_level_6_with_static_blocks() {
        use miniz_oxide::deflate::core::deflate_flags::TDEFL_FORCE_ALL_STATIC_BLOCKS;
        use miniz_oxide::deflate::core::TDEFLFlush;
        use miniz_oxide::deflate::core::{compress_to_output, create_comp_flags_from_zip_params, CompressorOxide};
        let (mut ours, mut theirs) = (0, 0);
        for i in 0..200u64 {
            let mut data = vec![1u8];
            data.extend_from_slice(&(i * 1000).to_le_bytes());
            data.extend_from_slice(&i.to_le_bytes());
            data.extend_from_slice(&(i * 1_000 + 17).to_le_bytes());
            for c in 0..6 {
                data.extend_from_slice(&(((i as f64) * 0.001 * (c + 1) as f64).sin() * 100.0).to_le_bytes());
            }
            let header = crate::format::npy::u8_vector_header(data.len() as u64);
            let mut out = Vec::new();
            FixedDeflater::new(6).deflate(&[&header, &data], &mut out);
            ours += out.len();
            let mut c =
                CompressorOxide::new(create_comp_flags_from_zip_params(6, -15, 0) | TDEFL_FORCE_ALL_STATIC_BLOCKS);
            let input = [&header[..], &data].concat();
            compress_to_output(&mut c, &input, TDEFLFlush::Finish, |b| {
                theirs += b.len();
                true
            });
        }
        assert!(ours * 100 <= theirs * 102, "ours {ours} bytes, miniz_oxide {theirs}");
    }
}
