//! Region names: `[A-Za-z0-9._-]{1,200}`, never `.` or `..`, so a name is one path component of [`regions_dir`]
//! and can reach no other path, on every platform.
//!
//! Where a name lives, by platform:
//! - **Linux**: the POSIX shared-memory object `/dev/shm/<name>`; [`regions_dir`] is `/dev/shm`.
//! - **macOS**: the POSIX shared-memory object [`RegionName::os_id`]: the name itself when it is at most 31 bytes
//!   (macOS's `PSHMNAMLEN`), else `seqring:` followed by the 16 hex digits of the name's xxh3-64 hash (stable
//!   across runs and builds; `:` is not allowed in region names, so a hashed id never equals a real name). macOS
//!   cannot enumerate shm objects, so each region also has a small registry entry `<name>` in [`regions_dir`].
//! - **Windows**: the file `<name>` in [`regions_dir`], mapped shared by every process that opens the region (the
//!   same file-backed section the `shared_memory` crate builds, without its named section object).
//!
//! [`regions_dir`] is `SEQRING_REGIONS_DIR` when that variable is set (not on Linux), else
//! `<temp dir>/seqring-regions` (per user on Windows and macOS).

use super::RegionError;
use std::fmt;
use std::path::PathBuf;

/// The longest region name.
pub const MAX_NAME_LEN: usize = 200;

/// Where the OS keeps POSIX shared-memory objects (Linux).
#[cfg(target_os = "linux")]
pub const SHM_DIR: &str = "/dev/shm";

/// The directory that lists this user's regions: `/dev/shm` on Linux; elsewhere `SEQRING_REGIONS_DIR` if set,
/// else `seqring-regions` in the temporary directory (see the module docs).
///
/// # Examples
/// ```
/// let dir = seqring_platform::regions_dir();
/// assert!(dir.is_absolute());
/// ```
pub fn regions_dir() -> PathBuf {
    #[cfg(target_os = "linux")]
    {
        PathBuf::from(SHM_DIR)
    }
    #[cfg(not(target_os = "linux"))]
    {
        match std::env::var_os("SEQRING_REGIONS_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => std::env::temp_dir().join("seqring-regions"),
        }
    }
}

/// macOS's limit on POSIX shared-memory names (`PSHMNAMLEN`).
pub const MACOS_SHM_NAME_MAX: usize = 31;

/// A validated region name.
///
/// # Examples
/// ```
/// use seqring_platform::RegionName;
/// assert_eq!(RegionName::new("rig-1.state_a").unwrap().as_str(), "rig-1.state_a");
/// assert!(RegionName::new("../etc/passwd").is_err());
/// assert!(RegionName::new("a/b").is_err());
/// assert!(RegionName::new("..").is_err());
/// assert!(RegionName::new("").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegionName(String);

impl RegionName {
    /// Validates `name`.
    ///
    /// # Errors
    /// [`RegionError::InvalidName`] for an empty or too long name, any character outside `[A-Za-z0-9._-]`, or the
    /// names `.` and `..`.
    pub fn new(name: impl Into<String>) -> Result<Self, RegionError> {
        let name = name.into();
        let ok = (1..=MAX_NAME_LEN).contains(&name.len())
            && name != "."
            && name != ".."
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(RegionName(name))
        } else {
            Err(RegionError::InvalidName { name })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file under [`regions_dir`] that stands for the region: the shm object itself on Linux, the backing file
    /// on Windows, the registry entry on macOS.
    pub fn shm_path(&self) -> PathBuf {
        regions_dir().join(&self.0)
    }

    /// The name the OS knows the shared-memory object by: the name itself, except on macOS for names longer than
    /// [`MACOS_SHM_NAME_MAX`] bytes (see the module docs).
    ///
    /// # Examples
    /// ```
    /// use seqring_platform::RegionName;
    /// let short = RegionName::new("rig").unwrap();
    /// assert_eq!(short.os_id(), "rig");
    /// let long = RegionName::new("a".repeat(40)).unwrap();
    /// if cfg!(target_os = "macos") {
    ///     assert!(long.os_id().starts_with("seqring:") && long.os_id().len() == 24);
    /// } else {
    ///     assert_eq!(long.os_id(), long.as_str());
    /// }
    /// ```
    pub fn os_id(&self) -> String {
        #[cfg(target_os = "macos")]
        if self.0.len() > MACOS_SHM_NAME_MAX {
            return hashed_id(&self.0);
        }
        self.0.clone()
    }
}

/// The short stable stand-in for a long name on macOS.
#[cfg(any(target_os = "macos", test))]
fn hashed_id(name: &str) -> String {
    format!("seqring:{:016x}", xxh3_64(name.as_bytes()))
}

#[cfg(target_os = "macos")]
use xxhash_rust::xxh3::xxh3_64;
#[cfg(all(test, not(target_os = "macos")))]
fn xxh3_64(bytes: &[u8]) -> u64 {
    // Tests on other platforms only check the format; any stable hash will do.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl fmt::Display for RegionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RegionName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A region name, or what converts into one: a [`RegionName`] as it is, a `&str` or `String` validated on the way
/// in. Functions that take `impl IntoRegionName` accept a name validated once up front, and plain strings alike.
///
/// # Examples
/// ```
/// use seqring_platform::{IntoRegionName, RegionName};
/// let checked = RegionName::new("rig-1.state")?;
/// assert_eq!(checked.clone().into_region_name()?, checked);
/// assert_eq!("rig-1.state".into_region_name()?, checked);
/// assert!("../x".into_region_name().is_err());
/// # Ok::<(), seqring_platform::RegionError>(())
/// ```
pub trait IntoRegionName {
    /// The validated name.
    ///
    /// # Errors
    /// [`RegionError::InvalidName`] for a string that breaks the name rule.
    fn into_region_name(self) -> Result<RegionName, RegionError>;
}

impl IntoRegionName for RegionName {
    fn into_region_name(self) -> Result<RegionName, RegionError> {
        Ok(self)
    }
}

impl IntoRegionName for &RegionName {
    fn into_region_name(self) -> Result<RegionName, RegionError> {
        Ok(self.clone())
    }
}

impl IntoRegionName for &str {
    fn into_region_name(self) -> Result<RegionName, RegionError> {
        RegionName::new(self)
    }
}

impl IntoRegionName for String {
    fn into_region_name(self) -> Result<RegionName, RegionError> {
        RegionName::new(self)
    }
}

impl IntoRegionName for &String {
    fn into_region_name(self) -> Result<RegionName, RegionError> {
        RegionName::new(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_the_documented_alphabet_and_lengths() {
        assert!(RegionName::new("a".repeat(MAX_NAME_LEN)).is_ok());
        assert!(RegionName::new("a".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(RegionName::new("...").is_ok());
        for bad in ["a b", "a\0b", "é", "a\\b", "/a", "a/", "."] {
            let e = RegionName::new(bad).unwrap_err();
            assert!(
                matches!(e, RegionError::InvalidName { ref name } if name == bad),
                "{bad:?}"
            );
        }
        let id = hashed_id(&"x".repeat(MAX_NAME_LEN));
        assert!(id.len() <= MACOS_SHM_NAME_MAX && id.contains(':'), "{id}");
        assert_eq!(id, hashed_id(&"x".repeat(MAX_NAME_LEN)), "stable");
        for b in 0u8..128 {
            let c = b as char;
            let ok = c.is_ascii_alphanumeric() || "._-".contains(c);
            assert_eq!(RegionName::new(format!("x{c}")).is_ok(), ok, "{c:?}");
        }
    }
}
