//! `interpolate`: resampling a series at new coordinates (ataraxis `interpolate_data`).
//!
//! - Continuous data is interpolated linearly, exactly like `numpy.interp`: targets left of the first source
//!   coordinate take the first value, right of the last take the last value; at a repeated source coordinate the
//!   last of the repeated values applies; a NaN target gives NaN. The result is `f64`.
//! - Discrete data takes the last known value at or left of each target (`searchsorted(side="right") - 1`), clamped
//!   to the first value on the left. The result keeps the input type.
//!
//! Invariants: source coordinates must be non-decreasing (repeats allowed) and free of NaN, and the source arrays
//! must be non-empty and of equal length; otherwise a typed error, never a panic or a silent garbage result.
//! Targets need not be sorted.

/// A numeric sample or coordinate: the integer and float primitives.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{interpolate_linear, Sample};
/// // Coordinates and values may be any integer or float primitive.
/// let times_us: [u64; 2] = [1_000, 2_000];
/// let position: [f32; 2] = [0.0, 10.0];
/// assert_eq!(interpolate_linear(&times_us, &position, &[1_500u64])?, [5.0]);
/// fn mean<T: Sample>(xs: &[T]) -> f64 {
///     xs.iter().map(|x| x.to_f64()).sum::<f64>() / xs.len() as f64
/// }
/// assert_eq!(mean(&[1u8, 2, 3]), 2.0);
/// # Ok::<(), seqring_state::processing::InterpolateError>(())
/// ```
pub trait Sample: Copy + PartialOrd {
    /// The value as `f64` (rounded for 64-bit integers beyond 2^53).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::processing::Sample;
    /// assert_eq!(3u8.to_f64(), 3.0);
    /// assert_eq!((-2i64).to_f64(), -2.0);
    /// assert_eq!(0.5f32.to_f64(), 0.5);
    /// assert_eq!((u64::MAX).to_f64(), 18_446_744_073_709_551_615.0); // rounded to 2^64
    /// ```
    fn to_f64(self) -> f64;
}

macro_rules! sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
sample!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, isize, usize);

/// A rejected interpolation input.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{interpolate_linear, InterpolateError};
/// let none: [f64; 0] = [];
/// assert_eq!(interpolate_linear(&none, &none, &[1.0]), Err(InterpolateError::Empty));
/// assert_eq!(
///     interpolate_linear(&[0.0, 1.0], &[5.0], &[0.5]),
///     Err(InterpolateError::LengthMismatch { coordinates: 2, values: 1 })
/// );
/// let err = interpolate_linear(&[0.0, 2.0, 1.0], &[0.0, 1.0, 2.0], &[0.5]).unwrap_err();
/// assert_eq!(err, InterpolateError::NotSorted { index: 2 });
/// assert_eq!(interpolate_linear(&[0.0, f64::NAN], &[0.0, 1.0], &[0.5]), Err(InterpolateError::NotSorted { index: 1 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolateError {
    /// The source is empty.
    #[error("cannot interpolate: the source coordinates are empty")]
    Empty,
    /// The source coordinates and values differ in length.
    #[error("cannot interpolate: {coordinates} source coordinates but {values} source values")]
    LengthMismatch {
        /// Number of source coordinates.
        coordinates: usize,
        /// Number of source values.
        values: usize,
    },
    /// The source coordinates decrease (or are NaN) at this index.
    #[error("cannot interpolate: the source coordinates are not non-decreasing at index {index}")]
    NotSorted {
        /// The first offending index.
        index: usize,
    },
}

fn check<X: Sample, Y>(src_x: &[X], src_y: &[Y]) -> Result<(), InterpolateError> {
    if src_x.len() != src_y.len() {
        return Err(InterpolateError::LengthMismatch {
            coordinates: src_x.len(),
            values: src_y.len(),
        });
    }
    if src_x.is_empty() {
        return Err(InterpolateError::Empty);
    }
    #[allow(clippy::eq_op)] // x != x detects NaN for float types
    if let Some(i) = src_x.iter().position(|x| x != x) {
        return Err(InterpolateError::NotSorted { index: i });
    }
    if let Some(i) = src_x.windows(2).position(|w| w[1] < w[0]) {
        return Err(InterpolateError::NotSorted { index: i + 1 });
    }
    Ok(())
}

/// Linear interpolation of `src_y` (at `src_x`) at `target_x`, as `numpy.interp`.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::interpolate_linear;
/// let y = interpolate_linear(&[0u32, 10, 20], &[0i16, 100, 0], &[5, 15, 25, 0])?;
/// assert_eq!(y, [50.0, 50.0, 0.0, 0.0]);
/// # Ok::<(), seqring_state::processing::InterpolateError>(())
/// ```
///
/// # Errors
///
/// [`InterpolateError`] for empty, mismatched or unsorted sources.
pub fn interpolate_linear<X: Sample, Y: Sample>(
    src_x: &[X],
    src_y: &[Y],
    target_x: &[X],
) -> Result<Vec<f64>, InterpolateError> {
    check(src_x, src_y)?;
    let n = src_x.len();
    let (first, last) = (src_x[0].to_f64(), src_x[n - 1].to_f64());
    Ok(target_x
        .iter()
        .map(|&t| {
            let x = t.to_f64();
            if x.is_nan() {
                f64::NAN
            } else if x < first {
                src_y[0].to_f64()
            } else if x >= last {
                src_y[n - 1].to_f64()
            } else {
                // j: the last index with src_x[j] <= t; then src_x[j] <= t < src_x[j + 1], so the gap is positive.
                let j = src_x.partition_point(|&v| v.to_f64() <= x) - 1;
                let (x0, x1) = (src_x[j].to_f64(), src_x[j + 1].to_f64());
                let (y0, y1) = (src_y[j].to_f64(), src_y[j + 1].to_f64());
                let slope = (y1 - y0) / (x1 - x0);
                let y = slope * (x - x0) + y0;
                if y.is_nan() {
                    // numpy's fallback for infinite slopes.
                    let y = slope * (x - x1) + y1;
                    if y.is_nan() && y0 == y1 {
                        y0
                    } else {
                        y
                    }
                } else {
                    y
                }
            }
        })
        .collect())
}

/// Last-known-value interpolation of `src_y` (at `src_x`) at `target_x`; keeps the value type.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::interpolate_discrete;
/// let y = interpolate_discrete(&[1.0, 2.0, 2.0, 3.0], &[10u8, 20, 21, 30], &[0.0, 1.5, 2.0, 2.9, 9.0])?;
/// assert_eq!(y, [10, 10, 21, 21, 30]);
/// # Ok::<(), seqring_state::processing::InterpolateError>(())
/// ```
///
/// # Errors
///
/// [`InterpolateError`] for empty, mismatched or unsorted sources.
pub fn interpolate_discrete<X: Sample, Y: Copy>(
    src_x: &[X],
    src_y: &[Y],
    target_x: &[X],
) -> Result<Vec<Y>, InterpolateError> {
    check(src_x, src_y)?;
    Ok(target_x
        .iter()
        .map(|t| {
            // Clamped: a target left of the first coordinate (or NaN) takes the first value.
            let after = src_x.partition_point(|v| v <= t);
            src_y[after.saturating_sub(1)]
        })
        .collect())
}

/// Interpolates `src_y` (at `src_x`) at `target_x`: last-known-value when `discrete`, else linear; as `f64`.
/// Use [`interpolate_discrete`] to keep an integer type exactly.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::interpolate;
/// assert_eq!(interpolate(&[0, 10], &[0, 10], &[4], false)?, [4.0]);
/// assert_eq!(interpolate(&[0, 10], &[0, 10], &[4], true)?, [0.0]);
/// # Ok::<(), seqring_state::processing::InterpolateError>(())
/// ```
///
/// # Errors
///
/// [`InterpolateError`] for empty, mismatched or unsorted sources.
pub fn interpolate<X: Sample, Y: Sample>(
    src_x: &[X],
    src_y: &[Y],
    target_x: &[X],
    discrete: bool,
) -> Result<Vec<f64>, InterpolateError> {
    if discrete {
        Ok(interpolate_discrete(src_x, src_y, target_x)?
            .into_iter()
            .map(Sample::to_f64)
            .collect())
    } else {
        interpolate_linear(src_x, src_y, target_x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_matches_numpy_values() {
        // Expected values from numpy.interp([-1, 0, 0.5, 1, 1.5, 2, 2.5, 3, 4], [0, 1, 1, 2, 3], [0, 10, 20, 30, 40]).
        let xs = [0.0, 1.0, 1.0, 2.0, 3.0];
        let ys = [0.0, 10.0, 20.0, 30.0, 40.0];
        let t = [-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
        let got = interpolate_linear(&xs, &ys, &t).unwrap();
        assert_eq!(got, [0.0, 0.0, 5.0, 20.0, 25.0, 30.0, 35.0, 40.0, 40.0]);
        assert!(interpolate_linear(&xs, &ys, &[f64::NAN]).unwrap()[0].is_nan());
    }

    #[test]
    fn integer_inputs_and_single_point() {
        assert_eq!(
            interpolate_linear(&[5i64], &[7u8], &[0, 5, 10]).unwrap(),
            [7.0, 7.0, 7.0]
        );
        assert_eq!(
            interpolate_linear(&[0u64, 3], &[0i32, -3], &[1, 2]).unwrap(),
            [-1.0, -2.0]
        );
        assert_eq!(
            interpolate_discrete(&[0u64, 3], &[-1i64, i64::MAX], &[2, 3]).unwrap(),
            [-1, i64::MAX]
        );
    }

    #[test]
    fn discrete_edges() {
        let xs = [10, 20, 20, 30];
        let ys = ['a', 'b', 'c', 'd'];
        assert_eq!(
            interpolate_discrete(&xs, &ys, &[0, 10, 19, 20, 25, 30, 99]).unwrap(),
            ['a', 'a', 'a', 'c', 'c', 'd', 'd']
        );
        assert_eq!(interpolate_discrete(&xs, &ys, &[]).unwrap(), Vec::<char>::new());
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert_eq!(
            interpolate_linear::<f64, f64>(&[], &[], &[1.0]),
            Err(InterpolateError::Empty)
        );
        assert_eq!(
            interpolate_linear(&[1.0, 2.0], &[1.0], &[1.0]),
            Err(InterpolateError::LengthMismatch {
                coordinates: 2,
                values: 1
            })
        );
        assert_eq!(
            interpolate_discrete(&[1, 3, 2], &[0, 0, 0], &[1]),
            Err(InterpolateError::NotSorted { index: 2 })
        );
        assert_eq!(
            interpolate_linear(&[0.0, f64::NAN], &[0.0, 1.0], &[1.0]),
            Err(InterpolateError::NotSorted { index: 1 })
        );
    }
}
