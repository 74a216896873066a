//! The write side shared by every structure: a temporary file in the destination directory, written section by
//! section with running xxh3-64 checksums, finished by writing the header, `fsync`, rename and a directory `fsync`.
//! Side streams whose length is unknown until the end (offsets, tails) go to unlinked spill files first.
//!
//! Invariant: until [`FileWriter::finish`] renames the file, nothing exists at the destination path, and dropping
//! the writer deletes the temporary file.

use super::header::{Header, Section, HEADER_LEN, MAX_SECTIONS};
use super::{MappedError, MAX_ALIGN};
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;
use xxhash_rust::xxh3::Xxh3;

const BUF: usize = 1 << 20;
const ZEROS: [u8; MAX_ALIGN] = [0; MAX_ALIGN];

/// The directory that will hold `path` ("." for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A buffered writer that hashes what passes through it in large blocks (one xxh3 update per MiB, not per item).
struct Sink<W: Write> {
    out: W,
    buf: Vec<u8>,
    hash: Xxh3,
    /// Bytes written through `write` since the last `take_hash`.
    len: u64,
}

impl<W: Write> Sink<W> {
    fn new(out: W) -> Sink<W> {
        Sink {
            out,
            buf: Vec::with_capacity(BUF),
            hash: Xxh3::new(),
            len: 0,
        }
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        if self.buf.len() + bytes.len() <= BUF {
            self.buf.extend_from_slice(bytes);
            return Ok(());
        }
        self.flush_buf()?;
        if bytes.len() >= BUF {
            self.hash.update(bytes);
            self.out.write_all(bytes)
        } else {
            self.buf.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.hash.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes bytes that are not part of any checksum (padding).
    fn write_unhashed(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush_buf()?;
        self.out.write_all(bytes)
    }

    /// Flushes, returns (length, checksum) of everything written since the last call, and restarts both.
    fn take(&mut self) -> io::Result<(u64, u64)> {
        self.flush_buf()?;
        let r = (self.len, self.hash.digest());
        self.hash.reset();
        self.len = 0;
        Ok(r)
    }
}

/// A mapped file being written to a temporary name.
pub(crate) struct FileWriter {
    path: PathBuf,
    out: Sink<NamedTempFile>,
    pos: u64,
    sections: [Section; MAX_SECTIONS],
    open: Option<usize>,
}

impl FileWriter {
    pub(crate) fn create(path: &Path) -> Result<FileWriter, MappedError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(parent_dir(path))
            .map_err(MappedError::io(path))?;
        let mut out = Sink::new(tmp);
        out.write_unhashed(&[0; HEADER_LEN]).map_err(MappedError::io(path))?;
        Ok(FileWriter {
            path: path.to_owned(),
            out,
            pos: HEADER_LEN as u64,
            sections: [Section::default(); MAX_SECTIONS],
            open: None,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn pad(&mut self) -> Result<(), MappedError> {
        let pad = (MAX_ALIGN as u64 - self.pos % MAX_ALIGN as u64) % MAX_ALIGN as u64;
        self.out
            .write_unhashed(&ZEROS[..pad as usize])
            .map_err(MappedError::io(&self.path))?;
        self.pos += pad;
        Ok(())
    }

    /// Starts section `i` at the next multiple of 64.
    pub(crate) fn begin(&mut self, i: usize) -> Result<(), MappedError> {
        self.end()?;
        self.pad()?;
        self.out.take().map_err(MappedError::io(&self.path))?;
        self.sections[i].offset = self.pos;
        self.open = Some(i);
        Ok(())
    }

    /// Appends bytes to the open section.
    #[inline]
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), MappedError> {
        self.pos += bytes.len() as u64;
        self.out.write(bytes).map_err(MappedError::io(&self.path))
    }

    /// Closes the open section, if any.
    pub(crate) fn end(&mut self) -> Result<(), MappedError> {
        if let Some(i) = self.open.take() {
            let (len, checksum) = self.out.take().map_err(MappedError::io(&self.path))?;
            self.sections[i].len = len;
            self.sections[i].checksum = checksum;
        }
        Ok(())
    }

    /// Writes a whole section from a spill file.
    pub(crate) fn append(&mut self, i: usize, spill: Spill) -> Result<(), MappedError> {
        self.end()?;
        self.pad()?;
        let (mut file, len, checksum) = spill.into_parts()?;
        file.seek(SeekFrom::Start(0)).map_err(MappedError::io(&self.path))?;
        let copied = io::copy(&mut file, &mut self.out.out).map_err(MappedError::io(&self.path))?;
        if copied != len {
            return Err(MappedError::Io {
                path: self.path.clone(),
                source: io::Error::new(io::ErrorKind::UnexpectedEof, "spill file shrank while being copied"),
            });
        }
        self.sections[i] = Section {
            offset: self.pos,
            len,
            checksum,
        };
        self.pos += len;
        Ok(())
    }

    /// Writes the header (with the section table and file length filled in), syncs, and renames the file into
    /// place.
    pub(crate) fn finish(mut self, mut header: Header) -> Result<(), MappedError> {
        self.end()?;
        self.out.flush_buf().map_err(MappedError::io(&self.path))?;
        header.sections = self.sections;
        header.file_len = self.pos;
        let path = self.path;
        let mut tmp = self.out.out;
        let f = tmp.as_file_mut();
        f.seek(SeekFrom::Start(0)).map_err(MappedError::io(&path))?;
        f.write_all(&header.encode()).map_err(MappedError::io(&path))?;
        f.sync_all().map_err(MappedError::io(&path))?;
        tmp.persist(&path).map_err(|e| MappedError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        // Make the rename itself durable.
        File::open(parent_dir(&path))
            .and_then(|d| d.sync_all())
            .map_err(MappedError::io(&path))?;
        Ok(())
    }
}

/// An unlinked temporary file that collects one section whose length is unknown until the end.
pub(crate) struct Spill {
    out: Sink<File>,
    path: PathBuf,
}

impl Spill {
    pub(crate) fn new(path: &Path) -> Result<Spill, MappedError> {
        let file = tempfile::tempfile_in(parent_dir(path)).map_err(MappedError::io(path))?;
        Ok(Spill {
            out: Sink::new(file),
            path: path.to_owned(),
        })
    }

    #[inline]
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), MappedError> {
        self.out.write(bytes).map_err(MappedError::io(&self.path))
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.out.len
    }

    fn into_parts(mut self) -> Result<(File, u64, u64), MappedError> {
        let (len, sum) = self.out.take().map_err(MappedError::io(&self.path))?;
        Ok((self.out.out, len, sum))
    }

    /// Flushes the spill and maps it read-only, for random access while the output is written.
    pub(crate) fn into_map(self) -> Result<Mmap, MappedError> {
        let path = self.path.clone();
        let (file, _, _) = self.into_parts()?;
        // SAFETY: the spill is an unlinked temporary file created by this process (`tempfile_in`); no other
        // process can open it by name and this process never writes it again, so the mapped bytes cannot change
        // or shrink while mapped. Only `Pod` values are read from it, with bounds-checked offsets.
        unsafe { Mmap::map(&file) }.map_err(MappedError::io(&path))
    }
}
