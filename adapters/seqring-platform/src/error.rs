//! The typed error of region operations; every variant names the region (a shared-memory name or a file path).

use seqring_core::header::{HeaderError as LayoutError, RegionKind, VERSION};
use std::io;

/// Why a region could not be created, opened, listed or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// The name is not 1 to 200 characters of `[A-Za-z0-9._-]`, or is `.` or `..`.
    #[error("invalid region name {name:?}: use 1 to 200 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\")")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// No region of that name exists.
    #[error("region {name} does not exist")]
    NotFound {
        /// The region.
        name: String,
    },
    /// A region of that name exists already.
    #[error("region {name} already exists")]
    AlreadyExists {
        /// The region.
        name: String,
    },
    /// The OS refused access (the region belongs to another user, or its mode excludes this one).
    #[error("permission denied for region {name}")]
    PermissionDenied {
        /// The region.
        name: String,
    },
    /// The region holds another kind of object.
    #[error("region {name} holds {}, not {}", kind_name(*.found), kind_name(*.expected as u32))]
    WrongKind {
        /// The region.
        name: String,
        /// The kind asked for.
        expected: RegionKind,
        /// The kind code found in its header.
        found: u32,
    },
    /// The region was written by a newer layout version than this build reads.
    #[error("region {name} has layout version {version}; this seqring reads version {VERSION}")]
    TooNew {
        /// The region.
        name: String,
        /// The version found.
        version: u32,
    },
    /// The region's bytes are not a valid seqring layout (foreign, truncated, corrupt).
    #[error("region {name} has a bad layout: {reason}")]
    BadLayout {
        /// The region.
        name: String,
        /// What is wrong.
        reason: LayoutError,
    },
    /// The creator did not publish the region in time (or it is empty).
    #[error("region {name} was not ready in time (its creator has not finished creating it)")]
    NotReady {
        /// The region.
        name: String,
    },
    /// Any other I/O failure.
    #[error("region {name}: cannot {op}: {source}")]
    Io {
        /// The region.
        name: String,
        /// What was being done ("map", "resize", ...).
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn kind_name(code: u32) -> String {
    match code {
        c if c == RegionKind::Array as u32 => "a shared array".into(),
        c if c == RegionKind::Ring as u32 => "a log ring".into(),
        c => format!("unknown kind {c}"),
    }
}

impl RegionError {
    /// The error for a header or layout the core rejected, naming the region.
    pub fn from_layout(name: &str, reason: LayoutError) -> Self {
        let name = name.to_string();
        match reason {
            LayoutError::WrongKind { expected, found } => RegionError::WrongKind { name, expected, found },
            LayoutError::UnsupportedVersion(version) if version > VERSION => RegionError::TooNew { name, version },
            LayoutError::NotReady => RegionError::NotReady { name },
            reason => RegionError::BadLayout { name, reason },
        }
    }

    /// The error for an OS error while doing `op` on region `name`: the errors with a variant of their own
    /// (missing, existing, denied) get it.
    pub fn from_io(name: &str, op: &'static str, source: io::Error) -> Self {
        let name = name.to_string();
        match source.kind() {
            io::ErrorKind::NotFound => RegionError::NotFound { name },
            io::ErrorKind::AlreadyExists => RegionError::AlreadyExists { name },
            io::ErrorKind::PermissionDenied => RegionError::PermissionDenied { name },
            _ => RegionError::Io { name, op, source },
        }
    }

    /// The region the error is about.
    pub fn name(&self) -> &str {
        match self {
            RegionError::InvalidName { name }
            | RegionError::NotFound { name }
            | RegionError::AlreadyExists { name }
            | RegionError::PermissionDenied { name }
            | RegionError::WrongKind { name, .. }
            | RegionError::TooNew { name, .. }
            | RegionError::BadLayout { name, .. }
            | RegionError::NotReady { name }
            | RegionError::Io { name, .. } => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_errors_map_to_their_variants_and_name_the_region() {
        let e = RegionError::from_layout(
            "r1",
            LayoutError::WrongKind {
                expected: RegionKind::Array,
                found: 2,
            },
        );
        assert_eq!(e.to_string(), "region r1 holds a log ring, not a shared array");
        assert!(matches!(
            RegionError::from_layout("r1", LayoutError::UnsupportedVersion(VERSION + 1)),
            RegionError::TooNew { .. }
        ));
        assert!(matches!(
            RegionError::from_layout("r1", LayoutError::UnsupportedVersion(0)),
            RegionError::BadLayout { .. }
        ));
        let e = RegionError::from_layout("r1", LayoutError::Foreign);
        assert_eq!(e.name(), "r1");
        assert!(e.to_string().contains("bad magic"), "{e}");
        let e = RegionError::from_io("r2", "open", io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(e, RegionError::PermissionDenied { ref name } if name == "r2"));
    }
}
