//! A streaming writer of `.npz` archives: stored ones byte-identical to what `numpy.savez` writes through Python's
//! `zipfile` (`ZipFile.open(name, 'w', force_zip64=True)` on a seekable file), deflated ones laid out as
//! `numpy.savez_compressed` lays them out (the deflate streams themselves are not zlib's, so their bytes differ; numpy
//! and every zip reader inflate them to the same arrays): members up to 1 KiB as one fixed-code block of
//! `fixed_deflate` (no state to reset between members), larger ones by miniz_oxide.
//!
//! Invariants, each copied from CPython's `zipfile` and checked against numpy's output in the tests:
//! - every local header has version 4.5, no flags, method 0 (stored) or 8 (deflated), DOS time 0 and date
//!   1980-01-01, the CRC-32 of the uncompressed bytes, and sizes `0xFFFFFFFF` followed by a 20-byte ZIP64 extra field
//!   {tag 1, size 16, uncompressed size u64, compressed size u64};
//! - every central header is made by 4.5 on the system CPython names for this platform (MS-DOS, 0, on Windows; Unix,
//!   3, elsewhere: `0x002D` or `0x032D`), needs 4.5, has external attributes `0o600 << 16`, and
//!   carries a ZIP64 extra field only when the entry's sizes or offset exceed `2^31 − 1` (`ZIP64_LIMIT`): both sizes
//!   when either does, then the offset;
//! - the ZIP64 end-of-central-directory record and locator are written only when there are more than 65,535
//!   entries, or the central directory's offset or size exceeds `2^31 − 1`;
//! - entries are written in the order they are added, and each entry's bytes are streamed once; the writer keeps
//!   only the encoded central directory (46 bytes plus the name per entry) in memory, and, when deflating, its
//!   compressors and the compressed bytes of the entry being written.

use std::io::{self, Write};

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};

use super::fixed_deflate::{self, FixedDeflater};

/// How the members of an archive are written: stored (the default, as `numpy.savez` and ataraxis write them, read
/// zero-copy) or deflated (as `numpy.savez_compressed` writes them: smaller, read by inflating every member at open).
///
/// # Examples
/// ```
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-compression-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::archive::{assemble_log_archives, AssembleOptions, Compression, LogArchive};
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let options = AssembleOptions { compression: Compression::DEFLATED, ..Default::default() };
/// assemble_log_archives(&log_dir, &options).unwrap();
/// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
/// assert_eq!(archive.get(2).unwrap().payload, b"frame 3");
/// assert_eq!(Compression::default(), Compression::Stored);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Members stored uncompressed.
    #[default]
    Stored,
    /// Members deflated at `level`: 0 (no compression, deflate framing only) to 9 (smallest, slowest); levels
    /// above 9 are 9.
    Deflated {
        /// The deflate level.
        level: u8,
    },
}

impl Compression {
    /// Deflated at level 6, zlib's default and so `numpy.savez_compressed`'s.
    pub const DEFLATED: Compression = Compression::Deflated { level: 6 };
}

/// Entries up to this size are deflated with the fixed Huffman codes (static blocks), by [`FixedDeflater`].
/// miniz_oxide writes a dynamic block for anything above 48 bytes, whose code description (40–80 bytes) outweighs
/// what it saves on small inputs: a 201-byte entry (a 64 B message) deflates to 130 bytes with static blocks and
/// 156–163 with a dynamic one, and even random bytes cost less that way at this size (zlib, and so numpy, compare
/// both costs per block; miniz_oxide does not say).
const STATIC_BLOCKS_UP_TO: usize = fixed_deflate::MAX_INPUT;

/// Reusable raw-deflate compressors (the fixed-code encoder for small entries, miniz_oxide for the rest, made on
/// first use) and the compressed bytes of the current entry.
pub(crate) struct Deflater {
    level: u8,
    /// `None` at level 0 (stored blocks, which miniz_oxide writes).
    small: Option<FixedDeflater>,
    large: Option<Box<CompressorOxide>>,
    out: Vec<u8>,
}

impl Deflater {
    /// Compressors at `level` (above 9: 9).
    pub(crate) fn new(level: u8) -> Self {
        let level = level.min(9);
        Deflater {
            level,
            small: (level > 0).then(|| FixedDeflater::new(level)),
            large: None,
            out: Vec::new(),
        }
    }

    fn compressor(level: u8, flags: u32) -> Box<CompressorOxide> {
        // Negative window bits: a raw deflate stream, no zlib header (as zip members are).
        Box::new(CompressorOxide::new(
            create_comp_flags_from_zip_params(i32::from(level), -15, 0) | flags,
        ))
    }

    /// Deflates the concatenation of `parts` as one raw deflate stream; the bytes stay valid until the next call.
    pub(crate) fn deflated(&mut self, parts: &[&[u8]]) -> io::Result<&[u8]> {
        self.deflate(parts)?;
        Ok(&self.out)
    }

    /// Deflates the concatenation of `parts` into `self.out` as one raw deflate stream.
    fn deflate(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let size: usize = parts.iter().map(|p| p.len()).sum();
        self.out.clear();
        if let (Some(small), true) = (&mut self.small, size <= STATIC_BLOCKS_UP_TO) {
            small.deflate(parts, &mut self.out);
            return Ok(());
        }
        let level = self.level;
        let compressor = self.large.get_or_insert_with(|| Self::compressor(level, 0));
        compressor.reset();
        let failed = || io::Error::other("the deflate compressor failed");
        let (last, init) = parts.split_last().map_or((&[][..], &[][..]), |(l, i)| (*l, i));
        for part in init {
            let (status, _) = compress_to_output(compressor, part, TDEFLFlush::None, |bytes| {
                self.out.extend_from_slice(bytes);
                true
            });
            if status != TDEFLStatus::Okay {
                return Err(failed());
            }
        }
        let (status, _) = compress_to_output(compressor, last, TDEFLFlush::Finish, |bytes| {
            self.out.extend_from_slice(bytes);
            true
        });
        if status != TDEFLStatus::Done {
            return Err(failed());
        }
        Ok(())
    }
}

/// CPython's `zipfile.ZIP64_LIMIT`.
pub(crate) const ZIP64_LIMIT: u64 = (1 << 31) - 1;
/// CPython's `zipfile.ZIP_FILECOUNT_LIMIT`.
const FILECOUNT_LIMIT: u64 = (1 << 16) - 1;
const VERSION: u8 = 45;
/// The "made by" system of CPython's `ZipInfo` (its `create_system`): 0 (MS-DOS) on Windows, 3 (Unix) elsewhere, so
/// that an archive is byte-identical to what numpy writes on the same platform.
const SYSTEM: u8 = if cfg!(windows) { 0 } else { 3 };
const DOS_DATE_1980_01_01: u16 = 0x21;
const EXTERNAL_ATTR: u32 = 0o600 << 16;
/// The zip compression method of deflated members.
pub(crate) const METHOD_DEFLATED: u16 = 8;
/// The local header: 30 fixed bytes, the name, and the 20-byte ZIP64 extra field.
pub(crate) const LOCAL_HEADER_FIXED: usize = 30 + 20;

/// Streams entries into `out`, stored or deflated.
pub(crate) struct NpzWriter<W: Write> {
    out: W,
    offset: u64,
    central: Vec<u8>,
    count: u64,
    /// `Some` when entries are deflated.
    deflater: Option<Deflater>,
}

impl<W: Write> NpzWriter<W> {
    /// A writer of stored entries whose first entry goes at offset 0 of `out`.
    pub(crate) fn new(out: W) -> Self {
        Self::with_compression(out, Compression::Stored)
    }

    /// A writer of entries compressed as `compression` says, whose first entry goes at offset 0 of `out`.
    pub(crate) fn with_compression(out: W, compression: Compression) -> Self {
        NpzWriter {
            out,
            offset: 0,
            central: Vec::new(),
            count: 0,
            deflater: match compression {
                Compression::Stored => None,
                Compression::Deflated { level } => Some(Deflater::new(level)),
            },
        }
    }

    /// Writes the entries added from now on as `compression` says (tests build mixed archives with it).
    #[cfg(test)]
    pub(crate) fn set_compression(&mut self, compression: Compression) {
        self.deflater = match compression {
            Compression::Stored => None,
            Compression::Deflated { level } => Some(Deflater::new(level)),
        };
    }

    /// Appends the entry `name` whose contents are the concatenation of `parts`; returns its CRC-32.
    pub(crate) fn add(&mut self, name: &str, parts: &[&[u8]]) -> io::Result<u32> {
        let mut hasher = crc32fast::Hasher::new();
        for part in parts {
            hasher.update(part);
        }
        let crc = hasher.finalize();
        self.add_with_crc(name, parts, crc)?;
        Ok(crc)
    }

    /// Appends an entry whose CRC-32 (of the uncompressed bytes) the caller computed.
    pub(crate) fn add_with_crc(&mut self, name: &str, parts: &[&[u8]], crc: u32) -> io::Result<()> {
        self.add_raw(name.as_bytes(), parts, crc)
    }

    /// Appends an entry named by `name`'s bytes (which need not be UTF-8).
    pub(crate) fn add_raw(&mut self, name: &[u8], parts: &[&[u8]], crc: u32) -> io::Result<()> {
        let size: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let deflated: Option<&[u8]> = match &mut self.deflater {
            Some(d) => {
                d.deflate(parts)?;
                Some(&d.out)
            }
            None => None,
        };
        Self::write_entry(
            &mut self.out,
            &mut self.offset,
            &mut self.central,
            &mut self.count,
            name,
            parts,
            deflated,
            size,
            crc,
        )
    }

    /// Appends a deflated entry whose deflate stream (`compressed`, of `size` uncompressed bytes with CRC-32 `crc`)
    /// the caller made, with a [`Deflater`]; entries deflated on several threads are written in order this way.
    pub(crate) fn add_deflated(&mut self, name: &str, size: u64, crc: u32, compressed: &[u8]) -> io::Result<()> {
        Self::write_entry(
            &mut self.out,
            &mut self.offset,
            &mut self.central,
            &mut self.count,
            name.as_bytes(),
            &[],
            Some(compressed),
            size,
            crc,
        )
    }

    /// Writes one entry: its local header, its bytes (`deflated`, or else `parts` stored) and its central record.
    #[allow(clippy::too_many_arguments)]
    fn write_entry(
        out: &mut W,
        offset: &mut u64,
        central: &mut Vec<u8>,
        count: &mut u64,
        name: &[u8],
        parts: &[&[u8]],
        deflated: Option<&[u8]>,
        size: u64,
        crc: u32,
    ) -> io::Result<()> {
        let name_len = u16::try_from(name.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "zip entry name longer than 65535 bytes"))?;
        let header_offset = *offset;
        let (method, compressed_size) = match deflated {
            Some(bytes) => (METHOD_DEFLATED, bytes.len() as u64),
            None => (0u16, size),
        };

        let mut local = [0u8; 30];
        local[0..4].copy_from_slice(b"PK\x03\x04");
        local[4] = VERSION;
        local[5] = 0;
        // flags 0, time 0
        local[8..10].copy_from_slice(&method.to_le_bytes());
        local[12..14].copy_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        local[14..18].copy_from_slice(&crc.to_le_bytes());
        local[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
        local[22..26].copy_from_slice(&u32::MAX.to_le_bytes());
        local[26..28].copy_from_slice(&name_len.to_le_bytes());
        local[28..30].copy_from_slice(&20u16.to_le_bytes());
        let mut extra = [0u8; 20];
        extra[0..2].copy_from_slice(&1u16.to_le_bytes());
        extra[2..4].copy_from_slice(&16u16.to_le_bytes());
        extra[4..12].copy_from_slice(&size.to_le_bytes());
        extra[12..20].copy_from_slice(&compressed_size.to_le_bytes());
        out.write_all(&local)?;
        out.write_all(name)?;
        out.write_all(&extra)?;
        match deflated {
            Some(bytes) => out.write_all(bytes)?,
            None => {
                for part in parts {
                    out.write_all(part)?;
                }
            }
        }
        *offset += (LOCAL_HEADER_FIXED + name.len()) as u64 + compressed_size;

        let mut zip64 = [0u64; 3];
        let mut n64 = 0;
        // CPython's zipfile: both sizes go to the ZIP64 field when either exceeds the limit.
        let (central_size, central_compressed) = if size > ZIP64_LIMIT || compressed_size > ZIP64_LIMIT {
            zip64[0] = size;
            zip64[1] = compressed_size;
            n64 = 2;
            (u32::MAX, u32::MAX)
        } else {
            (size as u32, compressed_size as u32)
        };
        let stored_offset = if header_offset > ZIP64_LIMIT {
            zip64[n64] = header_offset;
            n64 += 1;
            u32::MAX
        } else {
            header_offset as u32
        };
        let extra_len = if n64 > 0 { 4 + 8 * n64 } else { 0 };
        let c = central;
        c.extend_from_slice(b"PK\x01\x02");
        c.extend_from_slice(&[VERSION, SYSTEM, VERSION, 0]);
        c.extend_from_slice(&0u16.to_le_bytes()); // flags
        c.extend_from_slice(&method.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // time
        c.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&central_compressed.to_le_bytes());
        c.extend_from_slice(&central_size.to_le_bytes());
        c.extend_from_slice(&name_len.to_le_bytes());
        c.extend_from_slice(&(extra_len as u16).to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // comment
        c.extend_from_slice(&0u16.to_le_bytes()); // disk
        c.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        c.extend_from_slice(&EXTERNAL_ATTR.to_le_bytes());
        c.extend_from_slice(&stored_offset.to_le_bytes());
        c.extend_from_slice(name);
        if n64 > 0 {
            c.extend_from_slice(&1u16.to_le_bytes());
            c.extend_from_slice(&((8 * n64) as u16).to_le_bytes());
            for v in &zip64[..n64] {
                c.extend_from_slice(&v.to_le_bytes());
            }
        }
        *count += 1;
        Ok(())
    }

    /// Writes the central directory and end records, flushes, and returns the output and the archive's length.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        let start = self.offset;
        self.out.write_all(&self.central)?;
        let size = self.central.len() as u64;
        let end = start + size;
        let mut count = self.count;
        let (mut cd_size, mut cd_offset) = (size, start);
        let mut tail = Vec::with_capacity(98);
        if count > FILECOUNT_LIMIT || start > ZIP64_LIMIT || size > ZIP64_LIMIT {
            tail.extend_from_slice(b"PK\x06\x06");
            tail.extend_from_slice(&44u64.to_le_bytes());
            tail.extend_from_slice(&45u16.to_le_bytes());
            tail.extend_from_slice(&45u16.to_le_bytes());
            tail.extend_from_slice(&0u32.to_le_bytes());
            tail.extend_from_slice(&0u32.to_le_bytes());
            tail.extend_from_slice(&count.to_le_bytes());
            tail.extend_from_slice(&count.to_le_bytes());
            tail.extend_from_slice(&size.to_le_bytes());
            tail.extend_from_slice(&start.to_le_bytes());
            tail.extend_from_slice(b"PK\x06\x07");
            tail.extend_from_slice(&0u32.to_le_bytes());
            tail.extend_from_slice(&end.to_le_bytes());
            tail.extend_from_slice(&1u32.to_le_bytes());
            count = count.min(0xFFFF);
            cd_size = cd_size.min(0xFFFF_FFFF);
            cd_offset = cd_offset.min(0xFFFF_FFFF);
        }
        tail.extend_from_slice(b"PK\x05\x06");
        tail.extend_from_slice(&0u16.to_le_bytes());
        tail.extend_from_slice(&0u16.to_le_bytes());
        tail.extend_from_slice(&(count as u16).to_le_bytes());
        tail.extend_from_slice(&(count as u16).to_le_bytes());
        tail.extend_from_slice(&(cd_size as u32).to_le_bytes());
        tail.extend_from_slice(&(cd_offset as u32).to_le_bytes());
        tail.extend_from_slice(&0u16.to_le_bytes());
        self.out.write_all(&tail)?;
        self.out.flush()?;
        Ok((self.out, end + tail.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_archive_has_python_layout() {
        let mut w = NpzWriter::new(Vec::new());
        let crc = w.add("a.npy", &[b"xy", b"z"]).unwrap();
        assert_eq!(crc, crc32fast::hash(b"xyz"));
        let (bytes, len) = w.finish().unwrap();
        assert_eq!(len as usize, bytes.len());
        // local header 30 + name 5 + extra 20 + data 3 = 58; central 46 + 5 = 51; end 22.
        assert_eq!(bytes.len(), 58 + 51 + 22);
        assert_eq!(&bytes[18..26], &[0xff; 8]);
        assert_eq!(&bytes[35..39], &[1, 0, 16, 0]);
        assert_eq!(&bytes[58..62], b"PK\x01\x02");
        assert_eq!(&bytes[62..64], &[45, if cfg!(windows) { 0 } else { 3 }]);
        assert_eq!(
            u16::from_le_bytes([bytes[58 + 30], bytes[58 + 31]]),
            0,
            "no central extra"
        );
        let end = &bytes[109..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 1);
        assert_eq!(u32::from_le_bytes(end[12..16].try_into().unwrap()), 51);
        assert_eq!(u32::from_le_bytes(end[16..20].try_into().unwrap()), 58);
    }

    #[test]
    fn small_entries_are_deflated_with_static_blocks_large_ones_with_dynamic_blocks() {
        // A 64 B message's entry: the npy header and [source][timestamp][payload].
        let data: Vec<u8> = (0..73u8).map(|i| i.wrapping_mul(37)).collect();
        let header = crate::format::npy::u8_vector_header(data.len() as u64);
        let entry = [&header[..], &data].concat();
        let mut d = Deflater::new(6);
        d.deflate(&[&header, &data]).unwrap();
        assert_eq!(d.out[0] & 0b110, 0b010, "a fixed-Huffman block");
        assert_eq!(miniz_oxide::inflate::decompress_to_vec(&d.out).unwrap(), entry);
        let small = d.out.len();
        // What the entry would cost as miniz_oxide deflates it by itself: a dynamic block.
        let mut dynamic = Vec::new();
        compress_to_output(&mut Deflater::compressor(6, 0), &entry, TDEFLFlush::Finish, |b| {
            dynamic.extend_from_slice(b);
            true
        });
        assert_eq!(dynamic[0] & 0b110, 0b100, "a dynamic-Huffman block");
        assert!(
            small + 20 < dynamic.len(),
            "static {small} bytes, dynamic {}",
            dynamic.len()
        );
        let text = b"a camera frame of the left eye, exposure 12 ms; ".repeat(100);
        d.deflate(&[&text]).unwrap();
        assert_eq!(d.out[0] & 0b110, 0b100, "a dynamic-Huffman block");
        assert!(d.out.len() < text.len() / 20, "{} bytes", d.out.len());
        assert_eq!(miniz_oxide::inflate::decompress_to_vec(&d.out).unwrap(), text);
        // Level 0: stored blocks, whatever the size.
        let mut d = Deflater::new(0);
        d.deflate(&[&header, &data]).unwrap();
        assert_eq!(d.out[0] & 0b110, 0, "a stored block");
        assert_eq!(miniz_oxide::inflate::decompress_to_vec(&d.out).unwrap(), entry);
    }

    #[test]
    fn many_entries_get_zip64_end_records() {
        let mut w = NpzWriter::new(Vec::new());
        for i in 0..(FILECOUNT_LIMIT + 1) {
            w.add(&format!("{i}"), &[]).unwrap();
        }
        let (bytes, _) = w.finish().unwrap();
        let eocd = &bytes[bytes.len() - 22..];
        assert_eq!(&eocd[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([eocd[8], eocd[9]]), 0xFFFF);
        let loc = &bytes[bytes.len() - 42..bytes.len() - 22];
        assert_eq!(&loc[..4], b"PK\x06\x07");
        let rec = &bytes[bytes.len() - 98..bytes.len() - 42];
        assert_eq!(&rec[..4], b"PK\x06\x06");
        assert_eq!(u64::from_le_bytes(rec[24..32].try_into().unwrap()), FILECOUNT_LIMIT + 1);
    }
}
