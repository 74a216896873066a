//! Schema side-file parsing (`seqring::format::schema`) over arbitrary bytes: never panics, and whatever parses
//! writes back to JSON that parses to the same source and schema (the writer checked against the reader on every
//! input), with an element size that can be computed.

use seqring::format::schema::Schema;

/// Parses `data` as a schema side file; on success, checks the write/parse round trip.
pub fn fuzz(data: &[u8]) {
    if let Ok((source_id, schema)) = Schema::from_json(data) {
        let written = schema.to_json(source_id);
        let back =
            Schema::from_json(written.as_bytes()).unwrap_or_else(|e| panic!("rewritten schema fails: {e}\n{written}"));
        assert_eq!(
            back,
            (source_id, schema.clone()),
            "round trip changed the schema:\n{written}"
        );
        assert!(schema.validate().is_ok());
        let _ = schema.to_string();
        let _ = schema.payload_len();
    }
}
