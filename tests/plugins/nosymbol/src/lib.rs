//! A shared library that is not an rdpbench plugin: no entry symbol.
#![forbid(unsafe_code)]

/// Something to export, so the library is not empty.
pub fn not_a_plugin() -> u32 {
    42
}
