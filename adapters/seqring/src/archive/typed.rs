//! Typed reads of an archive whose source declared a schema ([`crate::format::schema`]): each payload as a `T`.
//!
//! The schema is the side file beside the archive (`{source}_log.schema.json`); the `.npz` itself is untouched.
//! [`LogArchive::typed`] checks the recorded dtype against the [`SchemaType`] `T` declares (same descr and shape,
//! and the same size), [`LogArchive::typed_by_size`] only the size, and both check every entry (its check on first
//! access: see [`LogArchive`]) and every payload's length before handing anything out, so iteration cannot fail.
//!
//! **Alignment.** A payload starts 9 bytes into its entry's data (after the source byte and the u64 timestamp of
//! ataraxis's layout), at no particular alignment in the file. A message borrows the payload as `&T` when it happens
//! to be aligned for `T` (always for an alignment of 1, such as a `#[repr(C, packed)]` struct, which is also
//! numpy's default layout of a structured dtype) and otherwise holds a copy; either way it dereferences to `&T`.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::path::PathBuf;

use super::{ArchiveError, LogArchive, Messages};
use crate::format::schema::{self, Layout, Schema, SchemaError, SchemaType};

/// Why an archive cannot be read as `T`. Every variant names the archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypedError {
    /// The source declared no schema (no side file beside the archive).
    #[error("{path} has no schema (no {} beside it)", schema::schema_path_for_archive(path).display())]
    NoSchema {
        /// The archive.
        path: PathBuf,
    },
    /// The side file is unreadable or malformed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The recorded schema is not `T`'s.
    #[error("{path}: the source's schema is {recorded}, not {expected} ({type_name})")]
    Mismatch {
        /// The archive.
        path: PathBuf,
        /// The schema recorded.
        recorded: Box<Schema>,
        /// `T`'s schema.
        expected: Box<Schema>,
        /// `T`'s name.
        type_name: &'static str,
    },
    /// The recorded schema's element is not `size_of::<T>()` bytes (or is an opaque format).
    #[error(
        "{path}: the source's schema ({recorded}) gives payloads of {payload_len:?} bytes, but {type_name} has {size}"
    )]
    Size {
        /// The archive.
        path: PathBuf,
        /// The schema recorded.
        recorded: Box<Schema>,
        /// Its payload length (`None`: an opaque format).
        payload_len: Option<u64>,
        /// `T`'s name.
        type_name: &'static str,
        /// `size_of::<T>()`.
        size: usize,
    },
    /// An entry failed its check (see [`LogArchive`]).
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// A payload's length disagrees with the schema.
    #[error("{path}: entry '{entry}' holds {len} payload bytes, not the {expected} of the source's schema")]
    PayloadLen {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Its payload length.
        len: usize,
        /// The schema's.
        expected: usize,
    },
}

/// One message of a [`Typed`] iteration: its time and its payload as a `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedMessage<'a, T: Clone> {
    /// µs since the UNIX epoch, as [`LogMessage::timestamp_us`](super::LogMessage::timestamp_us).
    pub timestamp_us: u64,
    /// The payload: borrowed from the archive's map when aligned for `T`, else a copy (see the module docs).
    pub value: Cow<'a, T>,
}

impl<T: Clone> std::ops::Deref for TypedMessage<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The messages of an archive as `T`s, in archive order: see [`LogArchive::typed`].
#[derive(Clone, Debug)]
pub struct Typed<'a, T> {
    messages: Messages<'a>,
    _type: PhantomData<fn() -> T>,
}

impl<'a, T: bytemuck::Pod> Iterator for Typed<'a, T> {
    type Item = TypedMessage<'a, T>;

    fn next(&mut self) -> Option<Self::Item> {
        // Every entry was checked good in `typed_with` (a check is made once and its result kept), so this is `Ok`.
        let m = self.messages.next()?.ok()?;
        // Lengths were all checked in `typed_with`: the payload is exactly `size_of::<T>()` bytes.
        let value = match bytemuck::try_from_bytes::<T>(m.payload) {
            Ok(v) => Cow::Borrowed(v),
            Err(_) => Cow::Owned(bytemuck::pod_read_unaligned(m.payload)),
        };
        Some(TypedMessage {
            timestamp_us: m.timestamp_us,
            value,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.messages.size_hint()
    }
}

impl<T: bytemuck::Pod> ExactSizeIterator for Typed<'_, T> {}

impl LogArchive {
    /// The schema its source declared, from the side file beside the archive; `None` if there is none.
    ///
    /// # Errors
    /// [`SchemaError`] for a side file that cannot be read, is malformed, or is another source's.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
    /// # use seqring::format::schema::Schema;
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-schema-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(6).unwrap();
    /// sensor.declare_schema(&Schema::of::<f64>().described("lick sensor, volts")).unwrap();
    /// sensor.log_now(&0.25f64.to_le_bytes()).unwrap();
    /// # drop(sensor);
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// let archive = LogArchive::open(log_dir.join("6_log.npz")).unwrap();
    /// assert_eq!(archive.schema().unwrap().unwrap().description, "lick sensor, volts");
    /// ```
    pub fn schema(&self) -> Result<Option<Schema>, SchemaError> {
        schema::read_schema(&schema::schema_path_for_archive(self.path()), self.source_id())
    }

    /// The messages as `T`s, after checking that the recorded schema is `T`'s ([`SchemaType::dtype`]) and that
    /// every payload is `size_of::<T>()` bytes. Each message dereferences to `&T` (borrowed from the map when the
    /// payload is aligned for `T`: see the module docs).
    ///
    /// # Errors
    /// [`TypedError`]: no schema, another schema or size, an entry that fails its check, a payload of another
    /// length.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
    /// # use seqring::logger::DataLogger;
    /// use seqring::format::schema::{Descr, Schema, SchemaType};
    /// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C, packed)]
    /// struct Wheel { t: u64, x: f32 }
    /// impl SchemaType for Wheel {
    ///     fn dtype() -> (Descr, Vec<u64>) {
    ///         (Descr::record([("t", Descr::of("<u8")), ("x", Descr::of("<f4"))]), vec![])
    ///     }
    /// }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-typed-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let wheel = logger.producer(4).unwrap();
    /// wheel.declare_schema(&Schema::of::<Wheel>()).unwrap();
    /// for i in 0..3u64 {
    ///     wheel.log_now(bytemuck::bytes_of(&Wheel { t: i, x: i as f32 / 2.0 })).unwrap();
    /// }
    /// # drop(wheel);
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// let archive = LogArchive::open(log_dir.join("4_log.npz")).unwrap();
    /// let xs: Vec<f32> = archive.typed::<Wheel>().unwrap().map(|m| m.x).collect();
    /// assert_eq!(xs, [0.0, 0.5, 1.0]);
    /// assert!(archive.typed::<[f32; 3]>().is_err(), "another dtype");
    /// ```
    pub fn typed<T: SchemaType>(&self) -> Result<Typed<'_, T>, TypedError> {
        let recorded = self.recorded_schema()?;
        let expected = Schema::of::<T>();
        if recorded.layout != expected.layout {
            return Err(TypedError::Mismatch {
                path: self.path().into(),
                recorded: Box::new(recorded),
                expected: Box::new(expected),
                type_name: std::any::type_name::<T>(),
            });
        }
        self.typed_with(&recorded)
    }

    /// The messages as `T`s, checking only that the recorded schema is a dtype of `size_of::<T>()` bytes (for a
    /// `T` without a [`SchemaType`] impl) and that every payload has that length.
    ///
    /// # Errors
    /// As [`LogArchive::typed`], without the dtype comparison.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
    /// # use seqring::format::schema::Schema;
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-typed-size-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// sensor.declare_schema(&Schema::of::<[u16; 2]>()).unwrap();
    /// sensor.log_now(bytemuck::bytes_of(&[7u16, 9])).unwrap();
    /// # drop(sensor);
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// let archive = LogArchive::open(log_dir.join("1_log.npz")).unwrap();
    /// let raw: Vec<u32> = archive.typed_by_size::<u32>().unwrap().map(|m| *m).collect();
    /// assert_eq!(raw, [7 | 9 << 16]);
    /// ```
    pub fn typed_by_size<T: bytemuck::Pod>(&self) -> Result<Typed<'_, T>, TypedError> {
        let recorded = self.recorded_schema()?;
        self.typed_with(&recorded)
    }

    fn recorded_schema(&self) -> Result<Schema, TypedError> {
        self.schema()?.ok_or_else(|| TypedError::NoSchema {
            path: self.path().into(),
        })
    }

    fn typed_with<T: bytemuck::Pod>(&self, recorded: &Schema) -> Result<Typed<'_, T>, TypedError> {
        let size = std::mem::size_of::<T>();
        let payload_len = recorded.payload_len();
        if !matches!(recorded.layout, Layout::Dtype { .. }) || payload_len != Some(size as u64) {
            return Err(TypedError::Size {
                path: self.path().into(),
                recorded: Box::new(recorded.clone()),
                payload_len,
                type_name: std::any::type_name::<T>(),
                size,
            });
        }
        self.check_payload_lens(size)?;
        Ok(Typed {
            messages: self.iter(),
            _type: PhantomData,
        })
    }

    /// Every payload, checked against the recorded dtype schema and copied back to back into one buffer, for
    /// building one array of all messages (Python's `LogArchive.read_typed`): the schema and the bytes
    /// (`message_count() × payload length`).
    ///
    /// # Errors
    /// [`TypedError::NoSchema`], [`TypedError::Schema`], [`TypedError::Size`] for an opaque format,
    /// [`TypedError::Archive`], [`TypedError::PayloadLen`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
    /// # use seqring::format::schema::Schema;
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-payload-bytes-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// sensor.declare_schema(&Schema::of::<u16>()).unwrap();
    /// sensor.log_now(&7u16.to_le_bytes()).unwrap();
    /// sensor.log_now(&9u16.to_le_bytes()).unwrap();
    /// # drop(sensor);
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// let archive = LogArchive::open(log_dir.join("1_log.npz")).unwrap();
    /// let (schema, bytes) = archive.typed_payload_bytes().unwrap();
    /// assert_eq!((schema, bytes), (Schema::of::<u16>(), vec![7, 0, 9, 0]));
    /// ```
    pub fn typed_payload_bytes(&self) -> Result<(Schema, Vec<u8>), TypedError> {
        let recorded = self.recorded_schema()?;
        let payload_len = recorded.payload_len();
        let len = match (&recorded.layout, payload_len.and_then(|l| usize::try_from(l).ok())) {
            (Layout::Dtype { .. }, Some(len)) => len,
            _ => {
                return Err(TypedError::Size {
                    path: self.path().into(),
                    recorded: Box::new(recorded.clone()),
                    payload_len,
                    type_name: "a dtype",
                    size: 0,
                })
            }
        };
        self.check_payload_lens(len)?;
        // Checked above: every payload is `len` bytes, and they are in the map, so the total fits in memory.
        let mut out = Vec::with_capacity(self.message_count() * len);
        for m in self.iter() {
            out.extend_from_slice(m?.payload);
        }
        Ok((recorded, out))
    }

    /// Checks that every entry is good and its payload `len` bytes long.
    fn check_payload_lens(&self, len: usize) -> Result<(), TypedError> {
        for (i, m) in self.iter().enumerate() {
            let m = m?;
            if m.payload.len() != len {
                return Err(TypedError::PayloadLen {
                    path: self.path().into(),
                    entry: self.key(i).unwrap_or("?").into(),
                    len: m.payload.len(),
                    expected: len,
                });
            }
        }
        Ok(())
    }
}
