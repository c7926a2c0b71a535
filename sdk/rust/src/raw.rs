//! The `tariff_v1` host functions exactly as ABI v1 declares them. Unsafe:
//! prefer the wrappers at the crate root, which pass valid buffers and
//! decode the answers.
//!
//! On wasm32 these are the module's imports (module `tariff_v1`, and no
//! other). Elsewhere they are the [mock](crate::mock) host's Rust functions,
//! with the same signatures, so code written against them also runs in
//! `cargo test`.
//!
//! Pointers and lengths are 32-bit on wasm32; the host reads lengths as
//! unsigned. Read accessors (`input`, `meta`, `meta_keys`, `config`) return
//! the value's full length and write it only if it fits `buf_len`, `-1`
//! when absent, `-2` when not available to this kind or phase. `body`
//! writes `min(remaining, buf_len)` bytes from `offset` and returns
//! `remaining`.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "tariff_v1")]
extern "C" {
    /// `input(field, buf, buf_len) -> i64`: a string field.
    pub fn input(field: i32, buf: *mut u8, buf_len: i32) -> i64;
    /// `input_u64(field) -> i64`: a numeric field, `-1` absent.
    pub fn input_u64(field: i32) -> i64;
    /// `meta(name, name_len, index, buf, buf_len) -> i64`: a metadata value.
    pub fn meta(name: *const u8, name_len: i32, index: i32, buf: *mut u8, buf_len: i32) -> i64;
    /// `meta_keys(buf, buf_len) -> i64`: the keys, sorted, NUL-separated.
    pub fn meta_keys(buf: *mut u8, buf_len: i32) -> i64;
    /// `body(offset, buf, buf_len) -> i64`: body bytes from offset.
    pub fn body(offset: i32, buf: *mut u8, buf_len: i32) -> i64;
    /// `config(buf, buf_len) -> i64`: the plugin's configuration as JSON.
    pub fn config(buf: *mut u8, buf_len: i32) -> i64;
    /// `set_price(cogs)`: unsigned 64-bit cogs.
    pub fn set_price(cogs: i64);
    /// `set_free_call(allow, remaining)`.
    pub fn set_free_call(allow: i32, remaining: i64);
    /// `body_write(ptr, len) -> i32`: appends to the new body.
    pub fn body_write(ptr: *const u8, len: i32) -> i32;
    /// `meta_set(name, name_len, val, val_len) -> i32`.
    pub fn meta_set(name: *const u8, name_len: i32, val: *const u8, val_len: i32) -> i32;
    /// `fail(code, msg, msg_len)`: the code and message of a DENY.
    pub fn fail(code: i32, msg: *const u8, msg_len: i32);
    /// `log(level, msg, msg_len)`.
    pub fn log(level: i32, msg: *const u8, msg_len: i32);
}

#[cfg(not(target_arch = "wasm32"))]
pub use crate::mock::raw::*;
