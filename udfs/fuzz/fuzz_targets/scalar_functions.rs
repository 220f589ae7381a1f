//! Every Persona scalar function called directly on hostile columns and literals drawn from the
//! fuzzer's bytes: `fuzz_scalar_function` in `udfs/tests/scalar_fuzz.rs`.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../tests/scalar_fuzz.rs"]
mod scalar;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let problems = scalar::fuzz_scalar_function(data);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});
