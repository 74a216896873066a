//! A streaming writer of stored `.npz` archives, byte-identical to what `numpy.savez` writes through Python's
//! `zipfile` (`ZipFile.open(name, 'w', force_zip64=True)` on a seekable file).
//!
//! Invariants, each copied from CPython's `zipfile` and checked against numpy's output in the tests:
//! - every local header has version 4.5, no flags, method 0 (stored), DOS time 0 and date 1980-01-01, the CRC-32, and
//!   sizes `0xFFFFFFFF` followed by a 20-byte ZIP64 extra field {tag 1, size 16, size u64, size u64};
//! - every central header is made by 4.5 on Unix (`0x032D`), needs 4.5, has external attributes `0o600 << 16`, and
//!   carries a ZIP64 extra field only when the entry's size or offset exceeds `2^31 − 1` (`ZIP64_LIMIT`);
//! - the ZIP64 end-of-central-directory record and locator are written only when there are more than 65,535
//!   entries, or the central directory's offset or size exceeds `2^31 − 1`;
//! - entries are written in the order they are added, and each entry's bytes are streamed once; the writer keeps
//!   only the encoded central directory (46 bytes plus the name per entry) in memory.

use std::io::{self, Write};

/// CPython's `zipfile.ZIP64_LIMIT`.
pub(crate) const ZIP64_LIMIT: u64 = (1 << 31) - 1;
/// CPython's `zipfile.ZIP_FILECOUNT_LIMIT`.
const FILECOUNT_LIMIT: u64 = (1 << 16) - 1;
const VERSION: u8 = 45;
const SYSTEM_UNIX: u8 = 3;
const DOS_DATE_1980_01_01: u16 = 0x21;
const EXTERNAL_ATTR: u32 = 0o600 << 16;
/// The local header: 30 fixed bytes, the name, and the 20-byte ZIP64 extra field.
pub(crate) const LOCAL_HEADER_FIXED: usize = 30 + 20;

/// Streams stored entries into `out`.
pub(crate) struct NpzWriter<W: Write> {
    out: W,
    offset: u64,
    central: Vec<u8>,
    count: u64,
}

impl<W: Write> NpzWriter<W> {
    /// A writer whose first entry goes at offset 0 of `out`.
    pub(crate) fn new(out: W) -> Self {
        NpzWriter {
            out,
            offset: 0,
            central: Vec::new(),
            count: 0,
        }
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

    /// Appends an entry whose CRC-32 the caller computed.
    pub(crate) fn add_with_crc(&mut self, name: &str, parts: &[&[u8]], crc: u32) -> io::Result<()> {
        let name = name.as_bytes();
        let name_len = u16::try_from(name.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "zip entry name longer than 65535 bytes"))?;
        let size: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let header_offset = self.offset;

        let mut local = [0u8; 30];
        local[0..4].copy_from_slice(b"PK\x03\x04");
        local[4] = VERSION;
        local[5] = 0;
        // flags 0, method 0 (stored), time 0
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
        extra[12..20].copy_from_slice(&size.to_le_bytes());
        self.out.write_all(&local)?;
        self.out.write_all(name)?;
        self.out.write_all(&extra)?;
        for part in parts {
            self.out.write_all(part)?;
        }
        self.offset += (LOCAL_HEADER_FIXED + name.len()) as u64 + size;

        let mut zip64 = [0u64; 3];
        let mut n64 = 0;
        let stored_size = if size > ZIP64_LIMIT {
            zip64[0] = size;
            zip64[1] = size;
            n64 = 2;
            u32::MAX
        } else {
            size as u32
        };
        let stored_offset = if header_offset > ZIP64_LIMIT {
            zip64[n64] = header_offset;
            n64 += 1;
            u32::MAX
        } else {
            header_offset as u32
        };
        let extra_len = if n64 > 0 { 4 + 8 * n64 } else { 0 };
        let c = &mut self.central;
        c.extend_from_slice(b"PK\x01\x02");
        c.extend_from_slice(&[VERSION, SYSTEM_UNIX, VERSION, 0]);
        c.extend_from_slice(&0u16.to_le_bytes()); // flags
        c.extend_from_slice(&0u16.to_le_bytes()); // stored
        c.extend_from_slice(&0u16.to_le_bytes()); // time
        c.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&stored_size.to_le_bytes());
        c.extend_from_slice(&stored_size.to_le_bytes());
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
        self.count += 1;
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
        assert_eq!(&bytes[62..64], &[45, 3]);
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
