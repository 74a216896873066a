//! Region names: `[A-Za-z0-9._-]{1,200}`, never `.` or `..`, so a name is one path component of [`SHM_DIR`] and
//! can reach no other path.

use super::RegionError;
use std::fmt;
use std::path::PathBuf;

/// The longest region name.
pub const MAX_NAME_LEN: usize = 200;

/// Where the OS keeps POSIX shared-memory objects.
pub const SHM_DIR: &str = "/dev/shm";

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

    /// The object's path under [`SHM_DIR`].
    pub fn shm_path(&self) -> PathBuf {
        PathBuf::from(SHM_DIR).join(&self.0)
    }
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
        for b in 0u8..128 {
            let c = b as char;
            let ok = c.is_ascii_alphanumeric() || "._-".contains(c);
            assert_eq!(RegionName::new(format!("x{c}")).is_ok(), ok, "{c:?}");
        }
    }
}
