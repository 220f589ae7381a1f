//! Every Persona aggregate through DataFusion's seven accumulator paths, on hostile columns drawn
//! from the fuzzer's bytes: `fuzz_aggregate_paths` in `udfs/tests/aggregate_paths.rs`.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../tests/aggregate_paths.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let problems = paths::fuzz_aggregate_paths(data);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
});
