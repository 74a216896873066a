//! Archives with deflated members (numpy's `savez_compressed`, `assemble --compress`): inflated once, at open, into
//! the stored archive they stand for, which the reader then maps nothing of and indexes as any stored archive.
//!
//! A deflated member cannot be a slice of the file, so its bytes must live somewhere the reader owns. Rebuilding the
//! whole archive as a stored one in memory keeps the reader's one layout (every payload a slice of one buffer, so
//! Python's flat read and zero-copy views still hold) and leaves the stored path untouched: the reader comes here
//! only after it meets a deflated member.
//!
//! Invariants:
//! - members are walked in directory order; names, order and the uncompressed bytes of every member are kept, and
//!   only the container changes (stored members are copied, deflated ones inflated);
//! - a member is refused, naming it, when it is encrypted, compressed by another method than deflate, lies outside
//!   the file, does not inflate to exactly its declared size, or fails its CRC-32;
//! - no allocation is sized from an unchecked field: a declared size is believed only up to what deflate can give
//!   for the member's compressed bytes (at most [`MAX_RATIO`] to 1), and the image grows as members are added;
//! - nothing here panics on any input (the `npz_reader` fuzz target walks it);
//! - members are inflated a window at a time by every worker, and the first error in archive order is reported;
//! - a member that is one final fixed-code block of exactly its declared size (what seqring and zlib write for small
//!   members) is inflated by `fixed_deflate::inflate_fixed` with constant tables; every other member, and any such
//!   block that is malformed, by miniz_oxide, whose errors are the ones reported.
//!
//! The cost: the image, about the size of the stored archive, is held in memory while the archive is open.

use std::borrow::Cow;
use std::path::Path;

use rayon::prelude::*;

use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use super::npz::{NpzWriter, METHOD_DEFLATED};
use super::zipdir;
use super::ArchiveError;

/// The most one compressed byte can inflate to: a deflate stream of length-258 matches spends at least 2 bits on
/// each 258 bytes, so 1032 bytes per input byte; the slack covers a stream's framing.
pub(crate) const MAX_RATIO: u64 = 1032;

/// A name for error messages: lossy, and at most 200 characters.
fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).chars().take(200).collect()
}

/// The stored archive that `data` (an archive with at least one deflated member) stands for.
///
/// # Errors
/// [`ArchiveError::Zip`] for a broken directory; naming the entry: [`ArchiveError::ZipEntry`] or
/// [`ArchiveError::HeaderMismatch`] for a bad local header, [`ArchiveError::NotStored`] for an encrypted member or
/// another method, [`ArchiveError::ExceedsFile`], [`ArchiveError::Inflate`] for bad deflate data or a size that
/// differs from the declared one, [`ArchiveError::Crc`].
pub(crate) fn stored_image(path: &Path, data: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let zip = |source| ArchiveError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let io = |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = zipdir::directory(data).map_err(zip)?;
    let mut image = NpzWriter::new(Vec::with_capacity(data.len()));
    let mut headers = zipdir::Centrals::new(data, dir);
    // A window of members is inflated by every worker at once and added in order; the first error in archive order
    // is the one reported (a directory error after the window's members only once they are all fine).
    loop {
        let mut window = Vec::with_capacity(WINDOW);
        let mut stop = None;
        let mut bytes = 0u64;
        while window.len() < WINDOW && bytes <= WINDOW_BYTES {
            match headers.next_header() {
                Some(Ok(central)) => {
                    bytes = bytes.saturating_add(central.size);
                    window.push((headers.parsed() - 1, central));
                }
                Some(Err(e)) => {
                    stop = Some(zip(e));
                    break;
                }
                None => break,
            }
        }
        if window.is_empty() && stop.is_none() {
            break;
        }
        let members: Vec<Result<Cow<'_, [u8]>, ArchiveError>> = window
            .par_iter()
            .map_init(Box::<DecompressorOxide>::default, |inflater, (index, central)| {
                member(path, data, central, *index, inflater)
            })
            .collect();
        for (member, (_, central)) in members.into_iter().zip(&window) {
            image.add_raw(central.name, &[&member?], central.crc).map_err(io)?;
        }
        if let Some(e) = stop {
            return Err(e);
        }
    }
    Ok(image.finish().map_err(io)?.0)
}

/// Members inflated in parallel at a time: at most this many, and no more once their declared sizes pass
/// [`WINDOW_BYTES`] (the inflated bytes of a window are held until added to the image).
const WINDOW: usize = 4096;
const WINDOW_BYTES: u64 = 16 << 20;

/// The uncompressed bytes of the member of `central` (the `index`-th), checked: borrowed from `data` when stored,
/// inflated with `inflater` when deflated.
fn member<'a>(
    path: &Path,
    data: &'a [u8],
    central: &zipdir::Central<'_>,
    index: usize,
    inflater: &mut DecompressorOxide,
) -> Result<Cow<'a, [u8]>, ArchiveError> {
    let entry = || shown(central.name);
    let start = match zipdir::local(data, central) {
        Ok((_, start)) => start,
        Err(zipdir::LocalError::Bad(source)) => {
            return Err(ArchiveError::ZipEntry {
                path: path.to_path_buf(),
                entry: std::str::from_utf8(central.name)
                    .map_or_else(|_| format!("#{index}"), |n| n.chars().take(200).collect()),
                source,
            })
        }
        Err(zipdir::LocalError::NameDiffers) => {
            return Err(ArchiveError::HeaderMismatch {
                path: path.to_path_buf(),
                entry: entry(),
                what: "the local file name differs",
            })
        }
    };
    if central.flags & 1 != 0 {
        return Err(ArchiveError::NotStored {
            path: path.to_path_buf(),
            entry: entry(),
            what: "encrypted".into(),
        });
    }
    let stored = central.method == 0;
    if !stored && central.method != METHOD_DEFLATED {
        return Err(ArchiveError::NotStored {
            path: path.to_path_buf(),
            entry: entry(),
            what: format!("compressed (method {})", central.method),
        });
    }
    if stored && central.compressed_size != central.size {
        return Err(ArchiveError::HeaderMismatch {
            path: path.to_path_buf(),
            entry: entry(),
            what: "a stored entry's compressed and uncompressed sizes differ",
        });
    }
    let end = (start as u64)
        .checked_add(central.compressed_size)
        .filter(|&e| e <= data.len() as u64);
    let Some(end) = end else {
        return Err(ArchiveError::ExceedsFile {
            path: path.to_path_buf(),
            entry: entry(),
            end: (start as u64).saturating_add(central.compressed_size),
            len: data.len() as u64,
        });
    };
    let raw = &data[start..end as usize];
    let bytes: Cow<'a, [u8]> = if stored {
        Cow::Borrowed(raw)
    } else {
        let inflate_err = |reason: String| ArchiveError::Inflate {
            path: path.to_path_buf(),
            entry: entry(),
            reason,
        };
        let most = (raw.len() as u64).saturating_mul(MAX_RATIO).saturating_add(64);
        let size = usize::try_from(central.size)
            .ok()
            .filter(|_| central.size <= most)
            .ok_or_else(|| {
                inflate_err(format!(
                    "it declares {} bytes, more than its {} compressed bytes can hold",
                    central.size,
                    raw.len()
                ))
            })?;
        if let Some(bytes) = super::fixed_deflate::inflate_fixed(raw, size) {
            // One fixed-code block of exactly the declared size (what small members are): no tables to build.
            Cow::Owned(bytes)
        } else {
            let mut scratch = vec![0u8; size];
            inflater.init();
            let (status, _, written) =
                decompress(inflater, raw, &mut scratch, 0, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF);
            match status {
                TINFLStatus::Done if written == size => {}
                TINFLStatus::Done => {
                    return Err(inflate_err(format!(
                        "it inflates to {written} bytes, not its declared {size}"
                    )))
                }
                TINFLStatus::HasMoreOutput => {
                    return Err(inflate_err(format!(
                        "it inflates to more than its declared {size} bytes"
                    )))
                }
                TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                    return Err(inflate_err("its deflate stream is truncated".into()))
                }
                _ => return Err(inflate_err("its deflate stream is corrupt".into())),
            }
            Cow::Owned(scratch)
        }
    };
    if crc32fast::hash(&bytes) != central.crc {
        return Err(ArchiveError::Crc {
            path: path.to_path_buf(),
            entry: entry(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::npz::Compression;

    fn archive(compression: Compression, entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = NpzWriter::with_compression(Vec::new(), compression);
        for (name, data) in entries {
            w.add(name, &[data]).unwrap();
        }
        w.finish().unwrap().0
    }

    #[test]
    fn the_image_of_a_deflated_archive_is_the_stored_archive() {
        let long = vec![7u8; 10_000];
        let entries: [(&str, &[u8]); 3] = [("a.npy", b"hello"), ("b.npy", b""), ("c.npy", &long)];
        let stored = archive(Compression::Stored, &entries);
        for level in [0, 1, 6, 9, 200] {
            let deflated = archive(Compression::Deflated { level }, &entries);
            assert_eq!(
                stored_image(Path::new("x.npz"), &deflated).unwrap(),
                stored,
                "level {level}"
            );
        }
        assert!(archive(Compression::DEFLATED, &entries).len() < stored.len() - 9_000);
    }

    #[test]
    fn the_first_bad_member_in_archive_order_is_reported_across_windows() {
        let names: Vec<String> = (0..WINDOW * 2 + 10).map(|i| format!("{i}.npy")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"some bytes"[..])).collect();
        let good = archive(Compression::DEFLATED, &entries);
        let centrals: Vec<usize> = good
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"PK\x01\x02")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(centrals.len(), entries.len());
        for bad in [vec![5], vec![WINDOW + 3, WINDOW * 2 + 1], vec![WINDOW * 2 + 9, 7]] {
            let mut bytes = good.clone();
            for &i in &bad {
                bytes[centrals[i] + 16] ^= 1; // its CRC
            }
            let first = *bad.iter().min().unwrap();
            match stored_image(Path::new("x.npz"), &bytes) {
                Err(ArchiveError::Crc { entry, .. }) => assert_eq!(entry, format!("{first}.npy")),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_corruption_of_a_deflated_archive_is_an_error_never_a_panic() {
        let entries: [(&str, &[u8]); 2] = [("a.npy", b"hello hello hello hello"), ("b.npy", &[1, 2, 3])];
        let bytes = archive(Compression::DEFLATED, &entries);
        for i in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                let _ = stored_image(Path::new("x.npz"), &bad);
            }
            let _ = stored_image(Path::new("x.npz"), &bytes[..i]);
        }
    }
}
