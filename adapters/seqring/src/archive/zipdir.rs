//! The zip directory of an archive, read in place: the end records (ZIP64 included), each central header, and the
//! local header it points to. One pass, no allocation, every offset and length checked against the bytes.
//!
//! This replaces the `zip` crate's `ZipArchive::new` on the reading path, which builds an owned index of every entry
//! (a `String` name, a hash map slot and a ~200-byte record each) before the first one can be looked at: most of the
//! 0.65–0.95 s it took to open an archive of 1 M entries. The archive layer checks each entry as it walks them; this
//! module only says where they are and whether the zip structure around them holds together.
//!
//! Invariants: every function here returns an error, never panics, on any input; a [`Central`] handed out lies wholly
//! inside the central directory, which lies wholly before the end records; a count read from the end records is
//! trusted only as far as the central directory's size allows (46 bytes per header at least), so no caller sizes an
//! allocation from an unchecked count.

use std::borrow::Cow;

use zip::result::ZipError;

const EOCD: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR: &[u8; 4] = b"PK\x06\x07";
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD: &[u8; 4] = b"PK\x06\x06";
const ZIP64_EOCD_LEN: usize = 56;
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
/// The fixed part of a central header.
pub(crate) const CENTRAL_LEN: usize = 46;
const LOCAL: &[u8; 4] = b"PK\x03\x04";
/// The fixed part of a local header.
pub(crate) const LOCAL_LEN: usize = 30;
/// The largest end-record comment (the search window for the end record).
const MAX_COMMENT: usize = u16::MAX as usize;

fn invalid(what: &'static str) -> ZipError {
    ZipError::InvalidArchive(Cow::Borrowed(what))
}

#[inline]
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Where the central directory is, and how many headers it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Directory {
    /// The number of central headers (at most `(end - start) / 46`).
    pub(crate) count: usize,
    /// The central directory's first byte.
    pub(crate) start: usize,
    /// One past its last byte (at most the start of the end records).
    pub(crate) end: usize,
}

/// Finds and checks the end records of the zip in `data`.
///
/// # Errors
/// [`ZipError::InvalidArchive`] when there is no end record, the archive spans disks, or the directory does not lie
/// inside the file before the end records or cannot hold its count of headers.
pub(crate) fn directory(data: &[u8]) -> Result<Directory, ZipError> {
    let eocd = find_eocd(data).ok_or_else(|| invalid("no end of central directory record"))?;
    let e = &data[eocd..eocd + EOCD_LEN];
    let (disk, cd_disk) = (u16_at(e, 4), u16_at(e, 6));
    let (on_disk, total) = (u16_at(e, 8), u16_at(e, 10));
    let mut count = u64::from(total);
    let mut size = u64::from(u32_at(e, 12));
    let mut start = u64::from(u32_at(e, 16));
    let mut records_at = eocd;
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(ZipError::UnsupportedArchive(
            "archives that span several disks are not supported",
        ));
    }
    if let Some(loc) = eocd
        .checked_sub(ZIP64_LOCATOR_LEN)
        .filter(|&l| &data[l..l + 4] == ZIP64_LOCATOR)
    {
        let l = &data[loc..loc + ZIP64_LOCATOR_LEN];
        if u32_at(l, 4) != 0 || u32_at(l, 16) > 1 {
            return Err(ZipError::UnsupportedArchive(
                "archives that span several disks are not supported",
            ));
        }
        let at = usize::try_from(u64_at(l, 8))
            .ok()
            .filter(|&at| at.checked_add(ZIP64_EOCD_LEN).is_some_and(|end| end <= loc))
            .ok_or_else(|| invalid("the ZIP64 end record lies outside the file"))?;
        let r = &data[at..at + ZIP64_EOCD_LEN];
        if &r[..4] != ZIP64_EOCD {
            return Err(invalid(
                "no ZIP64 end of central directory record where its locator points",
            ));
        }
        if u32_at(r, 16) != 0 || u32_at(r, 20) != 0 || u64_at(r, 24) != u64_at(r, 32) {
            return Err(ZipError::UnsupportedArchive(
                "archives that span several disks are not supported",
            ));
        }
        count = u64_at(r, 32);
        size = u64_at(r, 40);
        start = u64_at(r, 48);
        records_at = at;
    }
    let start = usize::try_from(start).map_err(|_| invalid("the central directory lies outside the file"))?;
    let size = usize::try_from(size).map_err(|_| invalid("the central directory lies outside the file"))?;
    let end = start
        .checked_add(size)
        .filter(|&end| end <= records_at)
        .ok_or_else(|| invalid("the central directory lies outside the file"))?;
    let count = usize::try_from(count)
        .ok()
        .filter(|&n| n <= size / CENTRAL_LEN)
        .ok_or_else(|| invalid("the central directory is too small for its number of entries"))?;
    Ok(Directory { count, start, end })
}

/// The offset of the end of central directory record: the last signature, searching backwards through the window a
/// comment allows, whose comment ends exactly at the end of the file (else the last whose comment fits).
fn find_eocd(data: &[u8]) -> Option<usize> {
    let last = data.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(MAX_COMMENT);
    let mut fallback = None;
    for at in (first..=last).rev() {
        if &data[at..at + 4] != EOCD {
            continue;
        }
        let end = at + EOCD_LEN + usize::from(u16_at(data, at + 20));
        if end == data.len() {
            return Some(at);
        }
        if end < data.len() && fallback.is_none() {
            fallback = Some(at);
        }
    }
    fallback
}

/// One central header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Central<'a> {
    /// The offset of the central header itself (where [`header_at`] finds it again).
    pub(crate) at: usize,
    /// The entry's name as the directory gives it.
    pub(crate) name: &'a [u8],
    /// General purpose flags (bit 0: encrypted).
    pub(crate) flags: u16,
    /// Compression method (0: stored).
    pub(crate) method: u16,
    /// CRC-32 of the uncompressed data.
    pub(crate) crc: u32,
    /// Compressed size (ZIP64 extra field applied).
    pub(crate) compressed_size: u64,
    /// Uncompressed size (ZIP64 extra field applied).
    pub(crate) size: u64,
    /// Offset of the local header (ZIP64 extra field applied).
    pub(crate) local_at: u64,
}

/// The central headers of a [`Directory`], in order.
#[derive(Clone, Debug)]
pub(crate) struct Centrals<'a> {
    data: &'a [u8],
    at: usize,
    end: usize,
    /// Headers still to hand out, by the directory's count.
    left: usize,
    /// Headers handed out.
    parsed: usize,
    /// Stop at the end of the directory rather than by the count (the second half of a [`Centrals::split`]).
    until_end: bool,
}

impl<'a> Centrals<'a> {
    /// The headers of `dir` in `data` (which `dir` was read from).
    pub(crate) fn new(data: &'a [u8], dir: Directory) -> Self {
        Centrals {
            data,
            at: dir.start,
            end: dir.end.min(data.len()),
            left: dir.count,
            parsed: 0,
            until_end: false,
        }
    }

    /// Headers still to hand out, by the directory's count.
    pub(crate) fn left(&self) -> usize {
        self.left
    }

    /// Headers handed out so far.
    pub(crate) fn parsed(&self) -> usize {
        self.parsed
    }

    /// Where the next header should start.
    pub(crate) fn position(&self) -> usize {
        self.at
    }

    /// The end of the directory.
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// Hands out nothing more.
    pub(crate) fn exhaust(&mut self) {
        self.left = 0;
    }

    /// A guess at two halves of the rest: this walker as it is, and a walker from the first central signature past
    /// the middle of the rest to the end of the directory. The guess is right if the first, walked on, lands exactly
    /// where the second starts (a signature can also occur inside a name or an extra field); the caller checks that.
    /// `None` when there is no signature past the middle.
    pub(crate) fn split(&self) -> Option<(Self, Self)> {
        let mid = self.at + (self.end - self.at) / 2;
        let found = self.data[mid..self.end].windows(4).position(|w| w == CENTRAL)?;
        let second = Centrals {
            data: self.data,
            at: mid + found,
            end: self.end,
            left: self.left,
            parsed: 0,
            until_end: true,
        };
        Some((self.clone(), second))
    }

    /// The next header.
    ///
    /// # Errors
    /// [`ZipError::InvalidArchive`] if the header is not where the previous one ended, runs past the directory, or
    /// lacks a ZIP64 value its saturated fields call for.
    #[inline]
    pub(crate) fn next_header(&mut self) -> Option<Result<Central<'a>, ZipError>> {
        if self.left == 0 || (self.until_end && self.at == self.end) {
            return None;
        }
        self.left -= 1;
        self.parsed += 1;
        let r = self.parse();
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }

    // Inlined whole into `next_header`: the walk of a large directory calls it once per entry, and a call returns the
    // header through memory.
    #[inline(always)]
    fn parse(&mut self) -> Result<Central<'a>, ZipError> {
        let at = self.at;
        let fixed = at
            .checked_add(CENTRAL_LEN)
            .filter(|&f| f <= self.end)
            .ok_or_else(|| invalid("the central directory ends inside a header"))?;
        let h = &self.data[at..fixed];
        if &h[..4] != CENTRAL {
            return Err(invalid("no central header signature where a header should start"));
        }
        let (n, m, k) = (
            usize::from(u16_at(h, 28)),
            usize::from(u16_at(h, 30)),
            usize::from(u16_at(h, 32)),
        );
        let next = fixed + n + m + k; // at most 46 + 3 × 65535 past `at`: no overflow
        if next > self.end {
            return Err(invalid("a central header runs past the central directory"));
        }
        if u16_at(h, 34) != 0 {
            return Err(ZipError::UnsupportedArchive(
                "archives that span several disks are not supported",
            ));
        }
        let name = &self.data[fixed..fixed + n];
        let extra = &self.data[fixed + n..fixed + n + m];
        let mut size = u64::from(u32_at(h, 24));
        let mut compressed_size = u64::from(u32_at(h, 20));
        let mut local_at = u64::from(u32_at(h, 42));
        if size == u64::from(u32::MAX) || compressed_size == u64::from(u32::MAX) || local_at == u64::from(u32::MAX) {
            let mut values =
                zip64_values(extra).ok_or_else(|| invalid("a saturated size or offset has no ZIP64 value"))?;
            let mut take = |v: &mut u64| -> Result<(), ZipError> {
                if *v == u64::from(u32::MAX) {
                    let (first, rest) = values
                        .split_first_chunk::<8>()
                        .ok_or_else(|| invalid("a saturated size or offset has no ZIP64 value"))?;
                    *v = u64::from_le_bytes(*first);
                    values = rest;
                }
                Ok(())
            };
            take(&mut size)?;
            take(&mut compressed_size)?;
            take(&mut local_at)?;
        }
        self.at = next;
        Ok(Central {
            at,
            name,
            flags: u16_at(h, 8),
            method: u16_at(h, 10),
            crc: u32_at(h, 16),
            compressed_size,
            size,
            local_at,
        })
    }
}

/// The central header at `at`, which must lie in the directory that ends at `dir_end` (a header handed out by
/// [`Centrals`] is found again here, as the same [`Central`]).
///
/// # Errors
/// As [`Centrals::next_header`].
pub(crate) fn header_at(data: &[u8], at: usize, dir_end: usize) -> Result<Central<'_>, ZipError> {
    let mut one = Centrals {
        data,
        at,
        end: dir_end.min(data.len()),
        left: 1,
        parsed: 0,
        until_end: false,
    };
    one.parse()
}

/// The data of the ZIP64 extended information field (tag 1) in `extra`, if there is one.
fn zip64_values(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let (tag, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
        let body = extra.get(4..4 + len)?;
        if tag == 1 {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// Why a local header could not be used.
#[derive(Debug)]
pub(crate) enum LocalError {
    /// No local header at the offset, or it runs past the file.
    Bad(ZipError),
    /// The local header names the entry differently from the central directory.
    NameDiffers,
}

/// The local header of `c`: the offset of its name and of the entry's data.
///
/// # Errors
/// [`LocalError::Bad`] if there is no whole local header at `c.local_at`, [`LocalError::NameDiffers`] if its name is
/// not the central header's.
#[inline]
pub(crate) fn local(data: &[u8], c: &Central<'_>) -> Result<(usize, usize), LocalError> {
    local_of(data, c.local_at, c.name)
}

/// [`local`] from a central header's local header offset and name, kept from an earlier walk of the directory.
///
/// # Errors
/// As [`local`].
#[inline]
pub(crate) fn local_of(data: &[u8], local_at: u64, name: &[u8]) -> Result<(usize, usize), LocalError> {
    let at = usize::try_from(local_at)
        .ok()
        .filter(|&at| at.checked_add(LOCAL_LEN).is_some_and(|end| end <= data.len()))
        .ok_or(LocalError::Bad(invalid("the local header lies outside the file")))?;
    let h = &data[at..at + LOCAL_LEN];
    if &h[..4] != LOCAL {
        return Err(LocalError::Bad(invalid(
            "no local header signature where the directory points",
        )));
    }
    let (n, m) = (usize::from(u16_at(h, 26)), usize::from(u16_at(h, 28)));
    let name_at = at + LOCAL_LEN;
    let data_at = name_at + n + m; // at most 30 + 2 × 65535 past a valid offset: no overflow
    if data_at > data.len() {
        return Err(LocalError::Bad(invalid(
            "the local header runs past the end of the file",
        )));
    }
    if !super::reader::same_bytes(&data[name_at..name_at + n], name) {
        return Err(LocalError::NameDiffers);
    }
    Ok((name_at, data_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::npz::NpzWriter;

    fn archive(count: usize) -> Vec<u8> {
        let mut w = NpzWriter::new(Vec::new());
        for i in 0..count {
            w.add(&format!("e{i}.npy"), &[&[i as u8; 3]]).unwrap();
        }
        w.finish().unwrap().0
    }

    #[test]
    fn reads_what_the_writer_writes_with_and_without_zip64() {
        for count in [0, 1, 3, 70_000] {
            let bytes = archive(count);
            let dir = directory(&bytes).unwrap();
            assert_eq!(dir.count, count);
            let mut c = Centrals::new(&bytes, dir);
            let mut n = 0;
            while let Some(h) = c.next_header() {
                let h = h.unwrap();
                assert_eq!(h.name, format!("e{n}.npy").as_bytes());
                assert_eq!((h.method, h.size, h.compressed_size), (0, 3, 3));
                let again = header_at(&bytes, h.at, dir.end).unwrap();
                assert_eq!((again.name, again.local_at, again.size), (h.name, h.local_at, h.size));
                let (name_at, data_at) = local(&bytes, &h).unwrap();
                assert_eq!(&bytes[name_at..name_at + h.name.len()], h.name);
                assert_eq!(&bytes[data_at..data_at + 3], &[n as u8; 3]);
                n += 1;
            }
            assert_eq!(n, count);
        }
    }

    #[test]
    fn every_truncation_is_an_error_never_a_panic() {
        let bytes = archive(3);
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            if let Ok(dir) = directory(cut) {
                let mut c = Centrals::new(cut, dir);
                while let Some(h) = c.next_header() {
                    if let Ok(h) = h {
                        let _ = local(cut, &h);
                    }
                }
            }
        }
    }

    #[test]
    fn a_count_beyond_the_directory_is_refused() {
        let mut bytes = archive(2);
        let eocd = bytes.len() - EOCD_LEN;
        bytes[eocd + 8..eocd + 12].copy_from_slice(&[0xff, 0x7f, 0xff, 0x7f]);
        assert!(directory(&bytes).is_err());
    }
}
