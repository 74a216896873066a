//! The write side shared by every structure: a temporary file in the destination directory, written section by
//! section with running xxh3-64 checksums, finished by writing the header, `fsync`, rename and a directory `fsync`.
//! Side streams whose length is unknown until the end (offsets, tails) go to unlinked spill files first.
//!
//! The same writer builds an image in memory instead ([`Target::Memory`]): the sections and spills are then
//! vectors, and `finish` hands back the image in a 64-byte-aligned buffer.
//!
//! Invariant: until [`FileWriter::finish`] renames the file, nothing exists at the destination path, and dropping
//! the writer deletes the temporary file.

use super::header::{Header, Section, HEADER_LEN, MAX_SECTIONS, MEMORY_LABEL};
use super::{MappedError, MAX_ALIGN};
use rkyv::util::AlignedVec;
use seqring_platform::ReadOnlyMap;
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

/// Where a writer puts what it builds.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A file at this path (temp file + rename), with spills in its directory.
    File(PathBuf),
    /// An image in memory, with spills in memory.
    Memory,
}

impl Target {
    /// The path errors name ([`MEMORY_LABEL`] for memory).
    pub(crate) fn path(&self) -> &Path {
        match self {
            Target::File(p) => p,
            Target::Memory => Path::new(MEMORY_LABEL),
        }
    }
}

/// The bytes a writer or spill writes to: a file or a vector.
enum Out<F> {
    File(F),
    Memory(Vec<u8>),
}

impl<F: Write> Write for Out<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::File(f) => f.write(buf),
            Out::Memory(v) => v.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::File(f) => f.flush(),
            Out::Memory(_) => Ok(()),
        }
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

/// A mapped file being written to a temporary name, or an image being built in memory.
pub(crate) struct FileWriter {
    target: Target,
    path: PathBuf,
    out: Sink<Out<NamedTempFile>>,
    pos: u64,
    sections: [Section; MAX_SECTIONS],
    open: Option<usize>,
}

impl FileWriter {
    pub(crate) fn create(path: &Path) -> Result<FileWriter, MappedError> {
        Self::for_target(Target::File(path.to_owned()))
    }

    pub(crate) fn for_target(target: Target) -> Result<FileWriter, MappedError> {
        let path = target.path().to_owned();
        let out = match &target {
            Target::File(p) => Out::File(Self::temp_file(p)?),
            Target::Memory => Out::Memory(Vec::new()),
        };
        let mut out = Sink::new(out);
        out.write_unhashed(&[0; HEADER_LEN]).map_err(MappedError::io(&path))?;
        Ok(FileWriter {
            target,
            path,
            out,
            pos: HEADER_LEN as u64,
            sections: [Section::default(); MAX_SECTIONS],
            open: None,
        })
    }

    fn temp_file(path: &Path) -> Result<NamedTempFile, MappedError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(parent_dir(path))
            .map_err(MappedError::io(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A spill of the same target (a file next to the destination, or memory).
    pub(crate) fn spill(&self) -> Result<Spill, MappedError> {
        Spill::for_target(&self.target)
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
        let (out, len, checksum) = spill.into_parts()?;
        let copied = match out {
            Out::File(mut file) => {
                file.seek(SeekFrom::Start(0)).map_err(MappedError::io(&self.path))?;
                io::copy(&mut file, &mut self.out.out).map_err(MappedError::io(&self.path))?
            }
            Out::Memory(v) => {
                self.out.out.write_all(&v).map_err(MappedError::io(&self.path))?;
                v.len() as u64
            }
        };
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
    pub(crate) fn finish(self, header: Header) -> Result<(), MappedError> {
        self.finish_image(header).map(drop)
    }

    /// [`finish`](Self::finish), which for [`Target::Memory`] returns the image instead (`None` for a file).
    pub(crate) fn finish_image(mut self, mut header: Header) -> Result<Option<AlignedVec<MAX_ALIGN>>, MappedError> {
        self.end()?;
        self.out.flush_buf().map_err(MappedError::io(&self.path))?;
        header.sections = self.sections;
        header.file_len = self.pos;
        let path = self.path;
        let mut tmp = match self.out.out {
            Out::File(tmp) => tmp,
            Out::Memory(mut v) => {
                v[..HEADER_LEN].copy_from_slice(&header.encode());
                let mut image = AlignedVec::<MAX_ALIGN>::with_capacity(v.len());
                image.extend_from_slice(&v);
                return Ok(Some(image));
            }
        };
        let f = tmp.as_file_mut();
        f.seek(SeekFrom::Start(0)).map_err(MappedError::io(&path))?;
        f.write_all(&header.encode()).map_err(MappedError::io(&path))?;
        f.sync_all().map_err(MappedError::io(&path))?;
        tmp.persist(&path).map_err(|e| MappedError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        // Make the rename itself durable.
        seqring_platform::sync_directory(parent_dir(&path)).map_err(MappedError::io(&path))?;
        Ok(None)
    }
}

/// An unlinked temporary file (or, for memory targets, a vector) that collects one section whose length is unknown
/// until the end.
pub(crate) struct Spill {
    out: Sink<Out<File>>,
    path: PathBuf,
}

/// The bytes of a finished spill: a read-only map of its file, or its vector.
pub(crate) enum SpillBytes {
    Map(ReadOnlyMap),
    Memory(Vec<u8>),
}

impl std::ops::Deref for SpillBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SpillBytes::Map(m) => m,
            SpillBytes::Memory(v) => v,
        }
    }
}

impl Spill {
    pub(crate) fn new(path: &Path) -> Result<Spill, MappedError> {
        Self::for_target(&Target::File(path.to_owned()))
    }

    pub(crate) fn for_target(target: &Target) -> Result<Spill, MappedError> {
        let path = target.path();
        let out = match target {
            Target::File(p) => Out::File(tempfile::tempfile_in(parent_dir(p)).map_err(MappedError::io(p))?),
            Target::Memory => Out::Memory(Vec::new()),
        };
        Ok(Spill {
            out: Sink::new(out),
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

    fn into_parts(mut self) -> Result<(Out<File>, u64, u64), MappedError> {
        let (len, sum) = self.out.take().map_err(MappedError::io(&self.path))?;
        Ok((self.out.out, len, sum))
    }

    /// Flushes the spill and maps it read-only, for random access while the output is written.
    pub(crate) fn into_map(self) -> Result<SpillBytes, MappedError> {
        let path = self.path.clone();
        let file = match self.into_parts()?.0 {
            Out::File(file) => file,
            Out::Memory(v) => return Ok(SpillBytes::Memory(v)),
        };
        // The spill is an unlinked temporary file of this process that it never writes again: it keeps the
        // region layer's mapped-file contract (no change in place, no truncation while mapped).
        let map = ReadOnlyMap::of_file(&file).map_err(MappedError::io(&path))?;
        Ok(SpillBytes::Map(map))
    }
}
