//! Lock-free atomic cells over single elements, for element types of the region's native word width.

use seqring_core::{Element, RawRegion};

mod sealed {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

/// An element type that can be used as an [`atomic::Atomic`] cell in place: exactly one aligned 8-byte word of
/// the region (`u64`, `i64`, `f64`). Sealed: other types do not compile with
/// [`SharedArray::atomic`](super::SharedArray::atomic).
///
/// # Examples
/// ```
/// use seqring::shared_array::{AtomicElement, SharedArray};
/// use std::sync::atomic::Ordering;
/// fn first_cell<T: AtomicElement>(a: &SharedArray<T>) -> T {
///     a.atomic(&[0]).unwrap().load(Ordering::Acquire)
/// }
/// let a = SharedArray::<f64>::create(&format!("doc-atomic-element-{}", std::process::id()), &[1])?;
/// a.write(&[2.5])?;
/// assert_eq!(first_cell(&a), 2.5);
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
///
/// Other element types have no cells:
/// ```compile_fail
/// # use seqring::shared_array::SharedArray;
/// fn flag(a: &SharedArray<u8>) {
///     let _ = a.atomic(&[0]); // u8 is not an AtomicElement
/// }
/// ```
pub trait AtomicElement: Element + sealed::Sealed {}

impl AtomicElement for u64 {}
impl AtomicElement for i64 {}
impl AtomicElement for f64 {}

/// The cell at byte `offset` of `raw`.
///
/// # Panics
/// If `offset` is not a multiple of 8 or lies outside the region (callers pass an offset inside the data).
pub(super) fn at<'a, T: AtomicElement>(raw: &RawRegion<'a>, offset: usize) -> &'a atomic::Atomic<T> {
    const {
        assert!(size_of::<atomic::Atomic<T>>() == 8 && align_of::<atomic::Atomic<T>>() == 8);
        assert!(atomic::Atomic::<T>::is_lock_free());
    }
    assert!(offset.is_multiple_of(8), "unaligned cell offset {offset}");
    let word = &raw.words()[offset / 8];
    // SAFETY: `word` is a live `AtomicU64` of the region for 'a. `Atomic<T>` is `repr(transparent)` over
    // `UnsafeCell<T>` with the size and alignment of `AtomicU64` (checked above) and is lock-free, so it performs
    // the same native 8-byte atomic instructions on the same word: no access to this word mixes sizes or is
    // non-atomic. Every bit pattern is a valid `T` (`T: Element` is `Pod`).
    unsafe { &*std::ptr::from_ref(word).cast::<atomic::Atomic<T>>() }
}
