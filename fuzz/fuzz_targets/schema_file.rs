#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seqring_fuzz::schema_file::fuzz(data));
