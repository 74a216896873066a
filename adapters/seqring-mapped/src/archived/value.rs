//! [`Value`]: a self-describing value (what a JSON document holds, plus bytes, tuples, 64-bit integers of either
//! sign, maps with any keys and n-d arrays), for records whose shape is only known at run time: the objects of
//! Python's `sharedbuffers` schemas, or any other dynamically typed caller. `ArchivedRecords<Value>` and
//! `ArchivedIdMap<K, Value>` map them like any other rkyv record, validated on access.
//!
//! A value is a flat list of [`Node`]s: node 0 is the root, and a list, tuple or map refers to its elements by
//! their index in the list. Flat, not a recursive enum, because a file is untrusted: rkyv validates a recursive
//! type by recursing, so a hostile file of a few MiB nesting a million lists would overflow the reader's stack,
//! while a flat list validates in a loop. Indices are only data: [`ArchivedValue::node`] bounds them, and a reader
//! that walks the tree bounds its depth (a hostile file may point a list at itself).
//!
//! Invariants: the archived form is rkyv's for these types; [`Node`] variants are only ever appended (the type name
//! [`Value::TYPE_NAME`] carries a version that changes with any other change), so files stay readable; a
//! [`Node::Array`]'s `data` holds `shape`'s product times the dtype's itemsize bytes when built by
//! [`Node::array`], and readers check it again (see [`array_len`]).

use super::Archivable;

/// One node of a [`Value`].
#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Node {
    /// No value (Python's `None`).
    None,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX` (smaller ones are [`Node::Int`]).
    UInt(u64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A sequence (Python's `list`): its elements' node indices.
    List(Vec<u32>),
    /// A fixed sequence (Python's `tuple`): its elements' node indices.
    Tuple(Vec<u32>),
    /// Key and value node indices in insertion order (Python's `dict`).
    Map(Vec<(u32, u32)>),
    /// An n-d array of fixed-size elements: numpy's dtype description (`numpy.lib.format.dtype_to_descr`: a plain
    /// string such as `<f4`, or for a structured dtype the Python literal of its field list, as in an `.npy`
    /// header), the shape, and the elements in C order.
    Array {
        /// The dtype description.
        descr: String,
        /// The extents.
        shape: Vec<u64>,
        /// The elements' bytes, C order.
        data: Vec<u8>,
    },
}

/// A dynamically typed value: a flat list of [`Node`]s, node 0 the root, containers referring to their elements by
/// index. Flat, not a recursive enum, so that validating a hostile file loops instead of recursing; indices are
/// data, bounded by [`ArchivedValue::node`], and a reader walking the tree bounds its depth.
///
/// # Examples
/// ```
/// use seqring_mapped::{ArchivedNode, ArchivedRecords, Node, Value};
/// // {"name": "s1", "trials": [3, -4]}
/// let mut session = Value::default();
/// let root = session.push(Node::None); // filled in below, once its children have indices
/// let (name_key, name) = (session.push(Node::Str("name".into())), session.push(Node::Str("s1".into())));
/// let (a, b) = (session.push(Node::Int(3)), session.push(Node::Int(-4)));
/// let (trials_key, trials) = (session.push(Node::Str("trials".into())), session.push(Node::List(vec![a, b])));
/// session.nodes[root as usize] = Node::Map(vec![(name_key, name), (trials_key, trials)]);
///
/// let records = ArchivedRecords::<Value>::build_in_memory([&session])?;
/// let value = records.get(0)?.unwrap();
/// let Some(ArchivedNode::Map(fields)) = value.node(0) else { panic!() };
/// assert!(matches!(value.node(fields[0].1.to_native()), Some(ArchivedNode::Str(s)) if s == "s1"));
/// let Some(ArchivedNode::List(items)) = value.node(fields[1].1.to_native()) else { panic!() };
/// assert!(matches!(value.node(items[1].to_native()), Some(ArchivedNode::Int(i)) if *i == -4));
/// assert!(value.node(99).is_none(), "indices are bounded, never trusted");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Value {
    /// The nodes; node 0 is the root.
    pub nodes: Vec<Node>,
}

impl Archivable for Value {
    const TYPE_NAME: &'static str = "seqring::Value/v1";
}

impl Value {
    /// Appends `node` and returns its index.
    ///
    /// # Panics
    /// If the value already holds `u32::MAX` nodes.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Node, Value};
    /// let mut v = Value::default();
    /// assert_eq!((v.push(Node::Int(1)), v.push(Node::None)), (0, 1));
    /// ```
    pub fn push(&mut self, node: Node) -> u32 {
        let i = u32::try_from(self.nodes.len()).expect("a value of at most u32::MAX nodes");
        self.nodes.push(node);
        i
    }
}

impl ArchivedValue {
    /// Node `i`, or `None` past the end: indices come from the file and are checked here.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{ArchivedNode, ArchivedRecords, Node, Value};
    /// let records = ArchivedRecords::<Value>::build_in_memory([Value { nodes: vec![Node::Bool(true)] }])?;
    /// let value = records.get(0)?.unwrap();
    /// assert!(matches!(value.node(0), Some(ArchivedNode::Bool(true))));
    /// assert!(value.node(1).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn node(&self, i: u32) -> Option<&ArchivedNode> {
        self.nodes.get(usize::try_from(i).ok()?)
    }
}

impl Node {
    /// The integer `i` as the node that holds it exactly: [`Node::Int`] up to `i64::MAX`, else [`Node::UInt`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::Node;
    /// assert_eq!(Node::from_u64(7), Node::Int(7));
    /// assert_eq!(Node::from_u64(u64::MAX), Node::UInt(u64::MAX));
    /// ```
    pub fn from_u64(i: u64) -> Node {
        i64::try_from(i).map_or(Node::UInt(i), Node::Int)
    }

    /// An array node, checked: `data` must hold `shape`'s element count times `itemsize` bytes.
    ///
    /// # Errors
    /// The expected length (`None` if it overflows), when `data` has another length.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::Node;
    /// let frame = Node::array("<u2".into(), vec![2, 3], 2, vec![0; 12]).unwrap();
    /// assert!(matches!(frame, Node::Array { ref shape, .. } if shape == &[2, 3]));
    /// assert_eq!(Node::array("<u2".into(), vec![2, 3], 2, vec![0; 11]), Err(Some(12)));
    /// ```
    pub fn array(descr: String, shape: Vec<u64>, itemsize: usize, data: Vec<u8>) -> Result<Node, Option<usize>> {
        let expected = array_len(&shape, itemsize);
        if expected != Some(data.len()) {
            return Err(expected);
        }
        Ok(Node::Array { descr, shape, data })
    }
}

/// The byte length of an array of `shape` with elements of `itemsize` bytes, or `None` if it overflows.
///
/// # Examples
/// ```
/// use seqring_mapped::archived::array_len;
/// assert_eq!(array_len(&[2, 3], 8), Some(48));
/// assert_eq!(array_len(&[], 8), Some(8), "a 0-d array holds one element");
/// assert_eq!(array_len(&[u64::MAX, 2], 1), None);
/// ```
pub fn array_len(shape: &[u64], itemsize: usize) -> Option<usize> {
    shape
        .iter()
        .try_fold(itemsize, |n, &d| usize::try_from(d).ok().and_then(|d| n.checked_mul(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArchivedIdMap, ArchivedRecords, Mapped, MappedError, MAX_ALIGN};

    /// `{"id": i, 2: (0.5, True), "raw": b"\0\xff", "big": 2**64-1, "nested": [[None], {}], "frame": <f4 [1, 2]}`.
    fn sample(i: i64) -> Value {
        let mut v = Value::default();
        let root = v.push(Node::None);
        let field = |v: &mut Value, key: Node, value: Node| (v.push(key), v.push(value));
        let id = field(&mut v, Node::Str("id".into()), Node::Int(i));
        let (half, yes) = (v.push(Node::Float(0.5)), v.push(Node::Bool(true)));
        let pair = field(&mut v, Node::Int(2), Node::Tuple(vec![half, yes]));
        let raw = field(&mut v, Node::Str("raw".into()), Node::Bytes(vec![0, 255]));
        let big = field(&mut v, Node::Str("big".into()), Node::from_u64(u64::MAX));
        let none = v.push(Node::None);
        let (inner, empty) = (v.push(Node::List(vec![none])), v.push(Node::Map(vec![])));
        let nested = field(&mut v, Node::Str("nested".into()), Node::List(vec![inner, empty]));
        let data = vec![0, 0, 128, 63, 0, 0, 0, 64];
        let frame = field(
            &mut v,
            Node::Str("frame".into()),
            Node::array("<f4".into(), vec![2], 4, data).unwrap(),
        );
        v.nodes[root as usize] = Node::Map(vec![id, pair, raw, big, nested, frame]);
        v
    }

    #[test]
    fn values_round_trip_through_a_verified_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.map");
        let values: Vec<Value> = (0..50).map(sample).collect();
        ArchivedRecords::<Value>::build(&values, &path).unwrap();
        let records = ArchivedRecords::<Value>::open_verified(&path).unwrap();
        assert_eq!(records.len(), 50);
        for (i, value) in values.iter().enumerate() {
            let archived = records.get(i).unwrap().unwrap();
            let back: Value = rkyv::deserialize::<Value, rkyv::rancor::Error>(archived).unwrap();
            assert_eq!(&back, value);
        }
    }

    #[test]
    fn an_id_map_of_values_looks_up_by_string() {
        let map = ArchivedIdMap::<str, Value>::build_in_memory([("a", sample(1)), ("b", sample(2))]).unwrap();
        let b = map.get("b").unwrap().unwrap();
        let back: Value = rkyv::deserialize::<Value, rkyv::rancor::Error>(b).unwrap();
        assert_eq!(back, sample(2));
        assert!(map.get("c").unwrap().is_none());
    }

    #[test]
    fn a_deeply_nested_value_validates_without_recursing() {
        // A million nested lists: a recursive archived type would overflow the stack validating this.
        let n = 1_000_000u32;
        let nodes = (0..n)
            .map(|i| Node::List(if i + 1 < n { vec![i + 1] } else { vec![] }))
            .collect();
        let records = ArchivedRecords::<Value>::build_in_memory([Value { nodes }]).unwrap();
        let value = records.get(0).unwrap().unwrap();
        assert_eq!(value.nodes.len(), n as usize);
        // A list that holds itself is only data too.
        let looped = ArchivedRecords::<Value>::build_in_memory([Value {
            nodes: vec![Node::List(vec![0])],
        }])
        .unwrap();
        assert!(matches!(looped.get(0).unwrap().unwrap().node(0), Some(ArchivedNode::List(l)) if l[0] == 0));
    }

    #[test]
    fn a_corrupted_value_is_an_error_not_garbage() {
        let records = ArchivedRecords::<Value>::build_in_memory([sample(7)]).unwrap();
        let clean = records.as_bytes().to_vec();
        // Flip every byte of the file in turn: opening or reading gives a value or a typed error, never a panic.
        let mut errors = 0;
        for at in 0..clean.len() {
            let mut image = rkyv::util::AlignedVec::<MAX_ALIGN>::new();
            image.extend_from_slice(&clean);
            image[at] ^= 0x5a;
            let Ok(records) = ArchivedRecords::<Value>::from_image(image) else {
                errors += 1;
                continue;
            };
            if let Err(e) = records.get(0) {
                assert!(
                    matches!(e, MappedError::InvalidRecord { .. } | MappedError::Corrupt { .. }),
                    "{e}"
                );
                errors += 1;
            }
        }
        assert!(errors > 0);
    }
}
