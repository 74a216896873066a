#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| seqring_fuzz::shared_array_open::fuzz(data));
