//! Row-major (C order) n-d indexing.

/// The number of elements of `shape` (its byte length is checked at creation, so this cannot overflow `usize`).
pub(crate) fn count(shape: &[u64]) -> usize {
    shape.iter().map(|&d| d as usize).product()
}

/// The flat row-major position of `index` in `shape`, or `None` if it has another number of dimensions or any
/// coordinate is out of range.
pub(crate) fn flat(shape: &[u64], index: &[u64]) -> Option<usize> {
    if shape.len() != index.len() {
        return None;
    }
    let mut flat = 0u64;
    for (&i, &d) in index.iter().zip(shape) {
        if i >= d {
            return None;
        }
        flat = flat * d + i;
    }
    usize::try_from(flat).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_positions_and_rejections() {
        assert_eq!(flat(&[2, 3, 4], &[1, 2, 3]), Some(23));
        assert_eq!(flat(&[2, 3, 4], &[0, 0, 1]), Some(1));
        assert_eq!(flat(&[2, 3, 4], &[0, 1, 0]), Some(4));
        assert_eq!(flat(&[], &[]), Some(0), "a 0-d array has one element");
        assert_eq!(flat(&[2, 3], &[2, 0]), None);
        assert_eq!(flat(&[2, 3], &[0, 3]), None);
        assert_eq!(flat(&[2, 3], &[1]), None);
        assert_eq!((count(&[2, 3, 4]), count(&[]), count(&[5, 0])), (24, 1, 0));
    }
}
