//! flat: a `#![no_std]` plugin without an allocator, the smallest a Rust
//! plugin gets. Every call costs the `cogs` of its configuration
//! (`config = { cogs = 5 }`, which the plugin reads as `{"cogs":5}`); free
//! and train calls PASS to the host's own rules.
//!
//! Build:
//!
//! ```sh
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --offline --release --target wasm32-unknown-unknown \
//!     --example flat --no-default-features --features panic-handler
//! ```
// no_std on wasm32; on the build machine (cargo test --all-features) std is linked.
#![cfg_attr(target_arch = "wasm32", no_std)]

use tariff::{Error, PaymentType, Status};

/// Reads `{"cogs": N}` into a stack buffer, once per instance.
fn from_config() -> Result<u64, Error> {
    let mut buf = [0u8; 64];
    match tariff::config_into(&mut buf) {
        Ok(Some(c)) => parse_cogs(c).ok_or(Error::Plugin("flat: config must be {\"cogs\": N}")),
        Ok(None) => Err(Error::Plugin("flat: config { cogs = N } is required")),
        Err(Error::TooSmall { .. }) => Err(Error::Plugin("flat: config too long; want {\"cogs\": N}")),
        Err(e) => Err(e),
    }
}

fn price(cogs: &u64) -> Result<Status, Error> {
    match tariff::payment_type()? {
        Some(PaymentType::FreeCall) | Some(PaymentType::TrainCall) => Ok(Status::Pass),
        _ => {
            tariff::set_price(*cogs);
            Ok(Status::Ok)
        }
    }
}

tariff::plugin! {
    name: "flat",
    version: "0.1.0",
    state: u64 = from_config,
    pricing: price,
}

/// `{"cogs": N}` with any JSON whitespace; N a non-negative integer.
fn parse_cogs(s: &[u8]) -> Option<u64> {
    let s = expect(s, b"{")?;
    let s = expect(s, b"\"cogs\"")?;
    let mut s = expect(s, b":")?;
    s = skip_ws(s);
    let mut v: u64 = 0;
    let mut digits = 0;
    while let Some((&c, rest)) = s.split_first() {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
        digits += 1;
        s = rest;
    }
    if digits == 0 {
        return None;
    }
    let s = expect(s, b"}")?;
    if skip_ws(s).is_empty() {
        Some(v)
    } else {
        None
    }
}

fn skip_ws(mut s: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = s.split_first() {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        s = rest;
    }
    s
}

fn expect<'a>(s: &'a [u8], tok: &[u8]) -> Option<&'a [u8]> {
    let s = skip_ws(s);
    if s.starts_with(tok) {
        s.get(tok.len()..)
    } else {
        None
    }
}
