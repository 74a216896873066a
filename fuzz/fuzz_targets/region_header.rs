#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seqring_fuzz::region_header::fuzz(data));
