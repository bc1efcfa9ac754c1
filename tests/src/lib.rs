//! End-to-end tests live in `tests/tests/`; see `tests/tests/common/mod.rs` for how they find the built plugins.
#![forbid(unsafe_code)]
