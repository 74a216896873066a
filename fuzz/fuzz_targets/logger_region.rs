#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seqring_fuzz::logger_region::fuzz(data));
