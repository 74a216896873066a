//! The log formats' naming rules for Python, from `seqring::format` and `seqring::logger` (so `seqring.compat`
//! does not spell them again): ataraxis's entry names (`{source:03}_{timestamp:020}.npy`) and the log directory
//! suffix (`_data_log`).

use crate::errors::{raise, Kind};
use pyo3::prelude::*;
use seqring::format::EntryName;

/// The file name of the ataraxis log entry of `source_id`'s message stamped `timestamp_us` (µs since the source's
/// onset; 0 names the onset entry): `{source:03}_{timestamp:020}.npy`.
#[pyfunction]
pub(crate) fn log_entry_name(source_id: &Bound<'_, PyAny>, timestamp_us: &Bound<'_, PyAny>) -> PyResult<String> {
    let source_id: u8 = source_id.extract().map_err(|_| {
        raise(
            Kind::InvalidOption,
            format!("source_id {source_id} is not an int in 0..=255"),
        )
    })?;
    let timestamp: u64 = timestamp_us.extract().map_err(|_| {
        raise(
            Kind::InvalidOption,
            format!("timestamp_us {timestamp_us} is not an int in 0..2**64"),
        )
    })?;
    Ok(EntryName {
        source_id,
        timestamp,
        duplicate: 0,
    }
    .to_string())
}

/// The suffix of a logger's directory name: `{output_directory}/{name}{LOG_DIR_SUFFIX}`.
pub(crate) const LOG_DIR_SUFFIX: &str = seqring::logger::LOG_DIR_SUFFIX;
