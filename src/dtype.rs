//! numpy dtype tags, the [`Element`] trait, and shapes.
//!
//! Invariants: every [`Element`] is a [`bytemuck::Pod`] type whose size equals [`DType::itemsize`] of its tag, so
//! any byte pattern read from a region is a valid value. numpy's `bool` is carried as [`Bool`], a `u8` wrapper,
//! because Rust's `bool` has invalid bit patterns. A [`DType::Record`] is any other fixed-size numpy dtype
//! (strings, structured records, big-endian numbers, datetimes): opaque bytes of a known size here, whose numpy
//! description travels beside it (a seqlock region's descriptor); no [`Element`] has that tag.

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
/// let record = DType::Record { itemsize: 12 };
/// assert_eq!((record.code(), record.itemsize(), record.is_record()), (15, 12, true));
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
    /// Any other fixed-size numpy dtype (`'<U8'`, `'|S16'`, `'|V4'`, structured records, big-endian numbers,
    /// datetimes), held as opaque elements of `itemsize` bytes; its numpy description is stored beside it (in a
    /// seqlock region, the descriptor area). In a header word the code is the low 32 bits and the item size the
    /// high 32 ([`DType::word`]).
    Record {
        /// The size of one element in bytes (non-zero).
        itemsize: u32,
    } = 15,
}

/// The code of [`DType::Record`].
///
/// # Examples
/// ```
/// use seqring_core::dtype::RECORD_CODE;
/// use seqring_core::DType;
/// assert_eq!(DType::Record { itemsize: 4 }.code(), RECORD_CODE);
/// ```
pub const RECORD_CODE: u8 = 15;

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
        match self {
            DType::Bool => 1,
            DType::I8 => 2,
            DType::I16 => 3,
            DType::I32 => 4,
            DType::I64 => 5,
            DType::U8 => 6,
            DType::U16 => 7,
            DType::U32 => 8,
            DType::U64 => 9,
            DType::F16 => 10,
            DType::F32 => 11,
            DType::F64 => 12,
            DType::Complex64 => 13,
            DType::Complex128 => 14,
            DType::Record { .. } => RECORD_CODE,
        }
    }

    /// Whether this is a [`DType::Record`] (opaque elements described elsewhere).
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert!(DType::Record { itemsize: 32 }.is_record());
    /// assert!(!DType::U8.is_record());
    /// ```
    pub const fn is_record(self) -> bool {
        matches!(self, DType::Record { .. })
    }

    /// The header word of this dtype: the code, and for a [`DType::Record`] its item size in the high 32 bits (so
    /// the words of the plain dtypes are their codes, as regions before records stored them).
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::F64.word(), 12);
    /// assert_eq!(DType::Record { itemsize: 3 }.word(), 15 | 3 << 32);
    /// assert_eq!(DType::from_word(DType::Record { itemsize: 3 }.word()), Some(DType::Record { itemsize: 3 }));
    /// ```
    pub const fn word(self) -> u64 {
        match self {
            DType::Record { itemsize } => RECORD_CODE as u64 | (itemsize as u64) << 32,
            plain => plain.code() as u64,
        }
    }

    /// The dtype of a header word ([`DType::word`]), if valid: a known code, and a record's item size non-zero
    /// (the high bits of a plain dtype's word are zero).
    ///
    /// # Examples
    /// ```
    /// use seqring_core::DType;
    /// assert_eq!(DType::from_word(4), Some(DType::I32));
    /// assert_eq!(DType::from_word(15 | 8 << 32), Some(DType::Record { itemsize: 8 }));
    /// assert_eq!(DType::from_word(15), None, "a record of zero bytes");
    /// assert_eq!(DType::from_word(4 | 1 << 32), None, "stray high bits");
    /// ```
    pub fn from_word(word: u64) -> Option<DType> {
        let (code, high) = (word & 0xffff_ffff, (word >> 32) as u32);
        if code == u64::from(RECORD_CODE) {
            return (high != 0).then_some(DType::Record { itemsize: high });
        }
        if high != 0 {
            return None;
        }
        DType::from_code(code)
    }

    /// The plain dtype with this header code, if any ([`DType::Record`]'s code needs its item size: see
    /// [`DType::from_word`]).
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

    /// The numpy `descr` string, little-endian, e.g. `'<f8'`. A [`DType::Record`] gives `'|V'` (raw bytes, size
    /// not spelled): its full description lives beside it, e.g. in the region's descriptor.
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
            DType::Record { .. } => "|V",
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
            DType::Record { itemsize } => itemsize as usize,
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

    #[test]
    fn words_keep_the_old_codes_and_carry_a_records_size() {
        for d in DType::ALL {
            assert_eq!(d.word(), u64::from(d.code()));
            assert_eq!(DType::from_word(d.word()), Some(d));
            assert!(!d.is_record());
        }
        let r = DType::Record { itemsize: u32::MAX };
        assert_eq!(DType::from_word(r.word()), Some(r));
        assert_eq!(r.itemsize(), u32::MAX as usize);
        assert_eq!(DType::from_code(u64::from(RECORD_CODE)), None);
        assert_eq!(DType::from_word(16), None);
        assert_eq!(DType::from_word(0), None);
        assert_eq!(DType::from_descr(r.descr()), None);
    }
}
