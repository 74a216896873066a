//! numpy dtype tags, the [`Element`] trait, and shapes.
//!
//! Invariants: every [`Element`] is a [`bytemuck::Pod`] type whose size equals [`DType::itemsize`] of its tag, so
//! any byte pattern read from a region is a valid value. numpy's `bool` is carried as [`Bool`], a `u8` wrapper,
//! because Rust's `bool` has invalid bit patterns.

use bytemuck::{Pod, Zeroable};

/// The most dimensions a shape may have.
///
/// # Examples
/// ```
/// use seqring_core::{Shape, MAX_DIMS};
/// let full = Shape::from_slice(&[1; MAX_DIMS]).unwrap();
/// assert_eq!(full.len(), 8);
/// assert!(Shape::from_slice(&[1; MAX_DIMS + 1]).is_err());
/// ```
pub const MAX_DIMS: usize = 8;

/// A shape of at most [`MAX_DIMS`] dimensions.
///
/// # Examples
/// ```
/// use seqring_core::dtype::element_count;
/// use seqring_core::Shape;
/// let frame = Shape::from_slice(&[480, 640, 3]).unwrap();
/// assert_eq!(element_count(&frame), Some(921_600));
/// ```
pub type Shape = heapless::Vec<u64, MAX_DIMS>;

/// A numpy element type. The discriminant is the code stored in region headers; never renumber.
///
/// # Examples
/// ```
/// use seqring_core::DType;
/// let d = DType::F64;
/// assert_eq!((d.code(), d.descr(), d.itemsize()), (12, "<f8", 8));
/// assert_eq!(DType::from_descr(d.descr()), Some(d));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum DType {
    /// `'|b1'`
    Bool = 1,
    /// `'|i1'`
    I8 = 2,
    /// `'<i2'`
    I16 = 3,
    /// `'<i4'`
    I32 = 4,
    /// `'<i8'`
    I64 = 5,
    /// `'|u1'`
    U8 = 6,
    /// `'<u2'`
    U16 = 7,
    /// `'<u4'`
    U32 = 8,
    /// `'<u8'`
    U64 = 9,
    /// `'<f2'`
    F16 = 10,
    /// `'<f4'`
    F32 = 11,
    /// `'<f8'`
    F64 = 12,
    /// `'<c8'`
    Complex64 = 13,
    /// `'<c16'`
    Complex128 = 14,
}

impl DType {
    /// Every dtype, in code order.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::ALL.len(), 14);
    /// for (i, d) in DType::ALL.into_iter().enumerate() {
    ///     assert_eq!(usize::from(d.code()), i + 1);
    ///     assert_eq!(DType::from_code(u64::from(d.code())), Some(d));
    /// }
    /// ```
    pub const ALL: [DType; 14] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F16,
        DType::F32,
        DType::F64,
        DType::Complex64,
        DType::Complex128,
    ];

    /// The code stored in headers.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::Bool.code(), 1);
    /// assert_eq!(DType::Complex128.code(), 14);
    /// ```
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The dtype with this header code, if any.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::from_code(12), Some(DType::F64));
    /// assert_eq!(DType::from_code(0), None);
    /// ```
    pub fn from_code(code: u64) -> Option<DType> {
        let index = usize::try_from(code).ok()?.checked_sub(1)?;
        DType::ALL.get(index).copied()
    }

    /// The numpy `descr` string, little-endian, e.g. `'<f8'`.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::U8.descr(), "|u1");
    /// assert_eq!(DType::I32.descr(), "<i4");
    /// assert_eq!(DType::Complex64.descr(), "<c8");
    /// ```
    pub const fn descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I8 => "|i1",
            DType::I16 => "<i2",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::U8 => "|u1",
            DType::U16 => "<u2",
            DType::U32 => "<u4",
            DType::U64 => "<u8",
            DType::F16 => "<f2",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::Complex64 => "<c8",
            DType::Complex128 => "<c16",
        }
    }

    /// The dtype of a numpy `descr` string. Native-order (`'='`) and byte-order-free (`'|'`) spellings are
    /// accepted for one-byte types; big-endian descriptors are not supported.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::from_descr("<c16"), Some(DType::Complex128));
    /// assert_eq!(DType::from_descr(">f8"), None);
    /// ```
    pub fn from_descr(descr: &str) -> Option<DType> {
        let (order, rest) = descr.split_at_checked(1)?;
        DType::ALL.into_iter().find(|d| {
            &d.descr()[1..] == rest
                && (order == &d.descr()[..1] || order == "=" || (d.itemsize() == 1 && (order == "<" || order == "|")))
        })
    }

    /// The size of one element in bytes.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::Bool.itemsize(), 1);
    /// assert_eq!(DType::F16.itemsize(), 2);
    /// assert_eq!(DType::Complex64.itemsize(), 8);
    /// assert_eq!(DType::Complex128.itemsize(), 16);
    /// ```
    pub const fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
        }
    }
}

/// A type that may live in a shared region: plain old data tagged with its numpy dtype.
///
/// # Safety
/// Implementors must be [`Pod`] with `size_of::<Self>() == Self::DTYPE.itemsize()` and the exact little-endian
/// in-memory representation numpy uses for that dtype. Readers in other
/// languages rely on it.
///
/// # Examples
/// ```
/// use seqring_core::dtype::Bool;
/// use seqring_core::{DType, Element};
/// fn descr_of<T: Element>() -> &'static str {
///     T::DTYPE.descr()
/// }
/// assert_eq!(descr_of::<f64>(), "<f8");
/// assert_eq!(descr_of::<u16>(), "<u2");
/// assert_eq!(descr_of::<Bool>(), "|b1");
/// assert_eq!(descr_of::<num_complex::Complex<f32>>(), "<c8");
/// assert_eq!(core::mem::size_of::<i64>(), i64::DTYPE.itemsize());
/// ```
pub unsafe trait Element: Pod {
    /// The numpy dtype of this type.
    const DTYPE: DType;
}

/// numpy's one-byte boolean (`'|b1'`): 0 is false, anything else is true.
///
/// # Examples
/// ```
/// use seqring_core::dtype::Bool;
/// let flag = Bool::from(true);
/// assert_eq!(flag, Bool(1));
/// assert!(bool::from(flag));
/// assert!(!bool::from(Bool::default()));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
#[repr(transparent)]
pub struct Bool(pub u8);

impl Bool {
    /// The value as a Rust `bool`.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::dtype::Bool;
    /// assert!(Bool(1).get());
    /// assert!(Bool(0xff).get()); // numpy reads any non-zero byte as true
    /// assert!(!Bool(0).get());
    /// ```
    pub const fn get(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for Bool {
    fn from(b: bool) -> Self {
        Bool(u8::from(b))
    }
}

impl From<Bool> for bool {
    fn from(b: Bool) -> Self {
        b.get()
    }
}

macro_rules! element {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        // SAFETY: `$t` is Pod, its size is the itemsize of `DType::$d` (checked by the unit test
        // `element_sizes_match_itemsize`), and on the little-endian targets seqring supports its layout is numpy's.
        unsafe impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}

element! {
    Bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, f32 => F32, f64 => F64,
    num_complex::Complex<f32> => Complex64, num_complex::Complex<f64> => Complex128,
}
#[cfg(feature = "f16")]
element! { half::f16 => F16 }

#[cfg(target_endian = "big")]
compile_error!("seqring's layouts are little-endian and its Element impls assume a little-endian target");

/// The number of elements in `shape` (1 for a 0-d shape), or `None` on overflow.
///
/// # Examples
/// ```
/// use seqring_core::dtype::element_count;
/// assert_eq!(element_count(&[2, 3, 4]), Some(24));
/// assert_eq!(element_count(&[]), Some(1));
/// assert_eq!(element_count(&[u64::MAX, 2]), None);
/// ```
pub fn element_count(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of_tag<T: Element>() -> (usize, usize) {
        (core::mem::size_of::<T>(), T::DTYPE.itemsize())
    }

    #[test]
    fn element_sizes_match_itemsize() {
        for (a, b) in [
            size_of_tag::<Bool>(),
            size_of_tag::<i8>(),
            size_of_tag::<i16>(),
            size_of_tag::<i32>(),
            size_of_tag::<i64>(),
            size_of_tag::<u8>(),
            size_of_tag::<u16>(),
            size_of_tag::<u32>(),
            size_of_tag::<u64>(),
            size_of_tag::<f32>(),
            size_of_tag::<f64>(),
            size_of_tag::<num_complex::Complex<f32>>(),
            size_of_tag::<num_complex::Complex<f64>>(),
        ] {
            assert_eq!(a, b);
        }
    }

    #[test]
    fn codes_and_descrs_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_code(u64::from(d.code())), Some(d));
            assert_eq!(DType::from_descr(d.descr()), Some(d));
        }
        assert_eq!(DType::from_descr("=f8"), Some(DType::F64));
        assert_eq!(DType::from_descr("<u1"), Some(DType::U8));
        assert_eq!(DType::from_descr("<f3"), None);
        assert_eq!(DType::from_descr(""), None);
    }
}
