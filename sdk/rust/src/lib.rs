//! Write [tariffd] plugins in Rust.
//!
//! A plugin is a WebAssembly module that decides the price of a call, whether
//! a free call is allowed, or rewrites a request before it is forwarded. It
//! talks to tariffd through the host functions of module `tariff_v1`
//! (`plugins/ABI.md` in the tariff repository). This crate wraps them:
//!
//! - [`plugin!`] emits the exports the host looks for (`tariff_abi_v1`,
//!   `tariff_info`, `tariff_init`, `tariff_price`, ...), wired to your
//!   functions;
//! - readers for the request: the typed input fields ([`method`],
//!   [`body_len`], [`payment_type`], ...), metadata ([`meta`]), the body
//!   ([`body_chunk`], [`body`]) and the plugin's configuration ([`config`]);
//! - outputs: [`set_price`], [`set_free_call`], [`body_write`], [`meta_set`],
//!   [`fail`] / [`deny`], [`log`];
//! - [`mock`] (not on wasm32): the same host functions in Rust, so plugin
//!   logic is unit-tested with `cargo test` on the build machine.
//!
//! The crate is `no_std` and has no dependencies. Every reader has a form
//! that fills a buffer you own (`*_into`, returning [`Error::TooSmall`] with
//! the length needed) and, with the default feature `alloc`, a form that
//! returns a `Vec` or `String` and does the buffer-too-small retry itself.
//!
//! ```
//! use tariff::{mock, Error, Status};
//!
//! /// Prices `mul` at 20 cogs; other methods PASS to the host's price list.
//! fn price() -> Result<Status, Error> {
//!     match tariff::method()? {
//!         Some(m) if m == "/example_service.Calculator/mul" => tariff::set_price(20),
//!         _ => return Ok(Status::Pass),
//!     }
//!     Ok(Status::Ok)
//! }
//!
//! tariff::plugin! {
//!     name: "mul-only",
//!     version: "0.1.0",
//!     pricing: price,
//! }
//!
//! // On the build machine, the mock host runs the export:
//! let out = mock::Request::pricing().method("/example_service.Calculator/mul").run(tariff_price);
//! assert_eq!((out.status, out.price), (Status::Ok, Some(20)));
//! let out = mock::Request::pricing().method("/example_service.Calculator/add").run(tariff_price);
//! assert_eq!(out.status, Status::Pass);
//! ```
//!
//! Rust 1.63 (Debian 12's rustc) is the oldest supported compiler.
//!
//! [tariffd]: https://github.com/tariffd/tariff
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};

mod macros;
#[cfg(not(target_arch = "wasm32"))]
pub mod mock;
pub mod raw;

/// The highest minor version of ABI v1 this crate uses; `tariff_info`
/// states it as `abi_minor`.
pub const ABI_MINOR: u32 = 0;

/// What a plugin decides. A module may implement several kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The price of a call: entry point `tariff_price`, output [`set_price`].
    Pricing,
    /// Whether a free call is allowed: `tariff_free_call`, [`set_free_call`].
    FreeCall,
    /// A new body or metadata: `tariff_transform`, [`body_write`], [`meta_set`].
    Transform,
}

impl Kind {
    /// The kind's name in `tariff_info` and in the host configuration.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Pricing => "pricing",
            Kind::FreeCall => "free_call",
            Kind::Transform => "transform",
        }
    }

    /// The name of the kind's entry export.
    pub const fn entry(self) -> &'static str {
        match self {
            Kind::Pricing => "tariff_price",
            Kind::FreeCall => "tariff_free_call",
            Kind::Transform => "tariff_transform",
        }
    }
}

/// What an entry point returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// `0`: use the outputs. A pricing call must have called [`set_price`],
    /// a free-call call [`set_free_call`].
    Ok = 0,
    /// `1`: decline; the host applies its fallback (the configured price,
    /// the built-in free-call rule, the request unchanged).
    Pass = 1,
    /// `2`: reject the call with the code and message given to [`fail`]
    /// (default PermissionDenied). See [`deny`].
    Deny = 2,
    /// `-1`: something went wrong; the host applies the plugin's
    /// `on_error` (pricing: refuse the call).
    Error = -1,
}

impl Status {
    /// The status as the entry point returns it.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The status of a returned code: any value other than 0, 1 and 2 is an
    /// ERROR, as the host reads it.
    pub const fn from_code(code: i32) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::Pass,
            2 => Status::Deny,
            _ => Status::Error,
        }
    }
}

/// A string input field (ABI §4), read with [`input_into`] or [`input`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum StrField {
    /// `/package.Service/Method`. All kinds.
    Method = 1,
    /// The service id. All kinds.
    ServiceId = 2,
    /// The organization id. All kinds.
    OrgId = 3,
    /// The payment group id, base64 as in the metadata. All kinds.
    GroupId = 4,
    /// The payer's checksummed address, or the free-call user's. All kinds.
    Caller = 5,
    /// `escrow`, `prepaid-call`, `free-call` or `train-call`; see
    /// [`payment_type`]. All kinds.
    PaymentType = 6,
    /// The free-call user id; may be empty. Kind free_call.
    FreeCallUserId = 12,
}

/// A numeric input field (ABI §4), read with [`input_u64`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum U64Field {
    /// The payment channel id; absent for free calls. Kinds pricing and
    /// transform.
    ChannelId = 7,
    /// The length of the request message. All kinds.
    BodyLen = 8,
    /// Free calls this user has made. Kind free_call.
    FreeCallsUsed = 9,
    /// Free calls this user may make. Kind free_call.
    FreeCallsAllowed = 10,
    /// The request's time, taken once by the host; the only clock a plugin
    /// has. All kinds.
    RequestTimeUnixMs = 11,
}

impl StrField {
    /// The kinds that may read the field; other kinds get
    /// [`Error::Unavailable`].
    pub const fn readable_by(self, kind: Kind) -> bool {
        match self {
            StrField::FreeCallUserId => matches!(kind, Kind::FreeCall),
            _ => true,
        }
    }
}

impl U64Field {
    /// The kinds that may read the field; other kinds get
    /// [`Error::Unavailable`].
    pub const fn readable_by(self, kind: Kind) -> bool {
        match self {
            U64Field::ChannelId => matches!(kind, Kind::Pricing | Kind::Transform),
            U64Field::FreeCallsUsed | U64Field::FreeCallsAllowed => matches!(kind, Kind::FreeCall),
            U64Field::BodyLen | U64Field::RequestTimeUnixMs => true,
        }
    }
}

/// The level of a [`log`] line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    /// `0`
    Debug = 0,
    /// `1`
    Info = 1,
    /// `2`
    Warn = 2,
    /// `3`
    Error = 3,
}

/// gRPC status codes for [`fail`] and [`deny`]. The host turns a code
/// outside 1..=16 into [`PERMISSION_DENIED`](code::PERMISSION_DENIED).
pub mod code {
    /// The operation was cancelled.
    pub const CANCELLED: u32 = 1;
    /// Unknown error.
    pub const UNKNOWN: u32 = 2;
    /// The client sent an invalid argument.
    pub const INVALID_ARGUMENT: u32 = 3;
    /// A deadline expired.
    pub const DEADLINE_EXCEEDED: u32 = 4;
    /// Something was not found.
    pub const NOT_FOUND: u32 = 5;
    /// Something already exists.
    pub const ALREADY_EXISTS: u32 = 6;
    /// The caller may not do this: the default of a DENY.
    pub const PERMISSION_DENIED: u32 = 7;
    /// A quota or resource is exhausted.
    pub const RESOURCE_EXHAUSTED: u32 = 8;
    /// The system is not in a state to do this.
    pub const FAILED_PRECONDITION: u32 = 9;
    /// Aborted, usually by a concurrency conflict.
    pub const ABORTED: u32 = 10;
    /// Out of the valid range.
    pub const OUT_OF_RANGE: u32 = 11;
    /// Not implemented or not supported.
    pub const UNIMPLEMENTED: u32 = 12;
    /// Internal error.
    pub const INTERNAL: u32 = 13;
    /// The service is unavailable.
    pub const UNAVAILABLE: u32 = 14;
    /// Data loss.
    pub const DATA_LOSS: u32 = 15;
    /// The caller is not authenticated.
    pub const UNAUTHENTICATED: u32 = 16;
}

/// Why a reader or an output did not succeed. An absent value is not an
/// error: readers return `Ok(None)` for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The host answered `-2`: not available to this kind, or not during
    /// `tariff_init` (request fields), or the body without `needs_body`.
    Unavailable,
    /// The value did not fit the buffer given to an `*_into` reader; it
    /// holds the value's full length. Read again with a buffer that large.
    TooSmall {
        /// The value's full length in bytes.
        needed: usize,
    },
    /// A string reader met bytes that are not UTF-8. The `Vec<u8>` readers
    /// return such values as they are.
    Utf8,
    /// The host refused an output: [`body_write`] over the output cap (the
    /// call then fails whatever it returns), or [`meta_set`] with a key a
    /// plugin may not set.
    Refused,
    /// Memory for a value could not be allocated (`alloc` readers).
    NoMemory,
    /// The host gave an answer outside the ABI.
    Host(i64),
    /// An error of the plugin itself, with its message.
    Plugin(&'static str),
}

impl Error {
    /// A short description, for logs.
    pub const fn message(&self) -> &'static str {
        match self {
            Error::Unavailable => "tariff: not available to this kind or phase",
            Error::TooSmall { .. } => "tariff: value longer than the buffer",
            Error::Utf8 => "tariff: value is not valid UTF-8",
            Error::Refused => "tariff: output refused by the host",
            Error::NoMemory => "tariff: out of memory",
            Error::Host(_) => "tariff: unexpected answer from the host",
            Error::Plugin(msg) => msg,
        }
    }
}

impl AsRef<str> for Error {
    fn as_ref(&self) -> &str {
        self.message()
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::TooSmall { needed } => write!(f, "tariff: value of {} bytes is longer than the buffer", needed),
            Error::Host(n) => write!(f, "tariff: unexpected answer {} from the host", n),
            _ => f.write_str(self.message()),
        }
    }
}

/// So that a plugin returning `Result<Status, String>` can use `?` on this
/// crate's calls.
#[cfg(feature = "alloc")]
impl From<Error> for String {
    fn from(e: Error) -> String {
        String::from(e.message())
    }
}

/// What an entry point function may return; [`plugin!`] turns it into the
/// status code. `Result::Err` is logged at level error and becomes
/// [`Status::Error`].
pub trait IntoStatus {
    /// The status code the entry export returns.
    fn into_status(self) -> i32;

    /// The status code `tariff_init` returns. An `Err` goes to [`fail`]
    /// instead of the log: tariffd puts that message in its load error.
    #[doc(hidden)]
    fn into_init_status(self) -> i32
    where
        Self: Sized,
    {
        self.into_status()
    }
}

impl IntoStatus for Status {
    fn into_status(self) -> i32 {
        self.code()
    }
}

impl IntoStatus for i32 {
    fn into_status(self) -> i32 {
        self
    }
}

impl IntoStatus for () {
    fn into_status(self) -> i32 {
        0
    }
}

impl<E: AsRef<str>> IntoStatus for Result<Status, E> {
    fn into_status(self) -> i32 {
        match self {
            Ok(s) => s.code(),
            Err(e) => {
                log(Level::Error, e.as_ref());
                Status::Error.code()
            }
        }
    }

    fn into_init_status(self) -> i32 {
        match self {
            Ok(s) => s.code(),
            Err(e) => __private::init_error(e.as_ref()),
        }
    }
}

impl<E: AsRef<str>> IntoStatus for Result<(), E> {
    fn into_status(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => {
                log(Level::Error, e.as_ref());
                Status::Error.code()
            }
        }
    }

    fn into_init_status(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => __private::init_error(e.as_ref()),
        }
    }
}

// ---- Readers that fill a caller's buffer (no allocation). ----

/// A buffer length as the host reads it: an unsigned 32-bit number. On
/// wasm32 this is exact; on a 64-bit build machine (the mock) it caps.
fn len32(n: usize) -> i32 {
    if n > u32::MAX as usize {
        u32::MAX as i32
    } else {
        n as u32 as i32
    }
}

/// The length a read accessor answered: `None` for absent (`-1`).
fn length(n: i64) -> Result<Option<usize>, Error> {
    match n {
        -1 => Ok(None),
        -2 => Err(Error::Unavailable),
        n if n < 0 => Err(Error::Host(n)),
        n => match usize::try_from(n) {
            Ok(len) => Ok(Some(len)),
            Err(_) => Err(Error::Host(n)),
        },
    }
}

/// The value a read accessor wrote into buf, given its answer n.
fn filled(n: i64, buf: &[u8]) -> Result<Option<&[u8]>, Error> {
    match length(n)? {
        None => Ok(None),
        Some(len) => match buf.get(..len) {
            Some(v) => Ok(Some(v)),
            None => Err(Error::TooSmall { needed: len }),
        },
    }
}

/// Reads a string field into `buf`: `Ok(Some(value))` (a prefix of `buf`),
/// `Ok(None)` when absent, [`Error::TooSmall`] with the full length when it
/// does not fit. An empty `buf` asks for the length alone.
pub fn input_into(field: StrField, buf: &mut [u8]) -> Result<Option<&[u8]>, Error> {
    let n = unsafe { raw::input(field as i32, buf.as_mut_ptr(), len32(buf.len())) };
    filled(n, buf)
}

/// Reads a numeric field; `Ok(None)` when absent.
pub fn input_u64(field: U64Field) -> Result<Option<u64>, Error> {
    // Not through length(): values are 64-bit, usize is 32-bit on wasm32.
    match unsafe { raw::input_u64(field as i32) } {
        -1 => Ok(None),
        -2 => Err(Error::Unavailable),
        n if n < 0 => Err(Error::Host(n)),
        n => Ok(Some(n as u64)),
    }
}

/// The payment channel id; absent for free calls. Kinds pricing and
/// transform.
pub fn channel_id() -> Result<Option<u64>, Error> {
    input_u64(U64Field::ChannelId)
}

/// The length of the request message, in bytes.
pub fn body_len() -> Result<u64, Error> {
    Ok(input_u64(U64Field::BodyLen)?.unwrap_or(0))
}

/// Free calls the user has made. Kind free_call.
pub fn free_calls_used() -> Result<Option<u64>, Error> {
    input_u64(U64Field::FreeCallsUsed)
}

/// Free calls the user may make. Kind free_call.
pub fn free_calls_allowed() -> Result<Option<u64>, Error> {
    input_u64(U64Field::FreeCallsAllowed)
}

/// The request's time in milliseconds since the Unix epoch, taken once per
/// request by the host: the plugin's only clock.
pub fn request_time_unix_ms() -> Result<Option<u64>, Error> {
    input_u64(U64Field::RequestTimeUnixMs)
}

/// How the call is paid ([`StrField::PaymentType`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentType {
    /// `escrow`: a Multi-Party Escrow channel.
    Escrow,
    /// `prepaid-call`
    PrepaidCall,
    /// `free-call`
    FreeCall,
    /// `train-call`
    TrainCall,
    /// A type this SDK does not know (a newer host).
    Other,
}

impl PaymentType {
    /// The type named by s.
    pub fn parse(s: &[u8]) -> PaymentType {
        match s {
            b"escrow" => PaymentType::Escrow,
            b"prepaid-call" => PaymentType::PrepaidCall,
            b"free-call" => PaymentType::FreeCall,
            b"train-call" => PaymentType::TrainCall,
            _ => PaymentType::Other,
        }
    }
}

/// How the call is paid; `Ok(None)` when the host did not say.
pub fn payment_type() -> Result<Option<PaymentType>, Error> {
    let mut buf = [0u8; 16];
    match input_into(StrField::PaymentType, &mut buf) {
        Ok(v) => Ok(v.map(PaymentType::parse)),
        Err(Error::TooSmall { .. }) => Ok(Some(PaymentType::Other)),
        Err(e) => Err(e),
    }
}

/// Reads value number `index` (from 0) of request metadata key `name` into
/// `buf`, like [`input_into`]. Keys are lowercase; the values of `-bin` keys
/// are the decoded bytes.
pub fn meta_into<'a>(name: &str, index: u32, buf: &'a mut [u8]) -> Result<Option<&'a [u8]>, Error> {
    let n = unsafe {
        raw::meta(
            name.as_ptr(),
            len32(name.len()),
            index as i32,
            buf.as_mut_ptr(),
            len32(buf.len()),
        )
    };
    filled(n, buf)
}

/// Reads the request's metadata keys into `buf`, sorted and separated by a
/// NUL byte; split them with [`split_keys`].
pub fn meta_keys_into(buf: &mut [u8]) -> Result<&[u8], Error> {
    let n = unsafe { raw::meta_keys(buf.as_mut_ptr(), len32(buf.len())) };
    Ok(filled(n, buf)?.unwrap_or(&[]))
}

/// The keys in an answer of [`meta_keys_into`].
pub fn split_keys(keys: &[u8]) -> impl Iterator<Item = &[u8]> {
    keys.split(|&b| b == 0).filter(|k| !k.is_empty())
}

/// Reads the plugin's configuration (the `config` block of the host
/// configuration, as JSON) into `buf`, like [`input_into`]; `Ok(None)` when
/// there is none. Readable in every phase; meant for `tariff_init`.
pub fn config_into(buf: &mut [u8]) -> Result<Option<&[u8]>, Error> {
    let n = unsafe { raw::config(buf.as_mut_ptr(), len32(buf.len())) };
    filled(n, buf)
}

/// Reads request body bytes from `offset` into `buf` and returns how many it
/// wrote: `min(buf.len(), remaining)`, 0 at or past the end. Read the body
/// in chunks by adding what you got to `offset`. Available to kind transform
/// and to plugins that declare `needs_body`; [`Error::Unavailable`]
/// otherwise.
///
/// ```ignore
/// let mut chunk = [0u8; 4096];
/// let mut offset = 0;
/// loop {
///     let n = tariff::body_chunk(offset, &mut chunk)?;
///     if n == 0 { break; }
///     consume(&chunk[..n]);
///     offset += n;
/// }
/// ```
pub fn body_chunk(offset: usize, buf: &mut [u8]) -> Result<usize, Error> {
    let remaining = body_remaining(offset, buf)?;
    Ok(remaining.min(buf.len()))
}

/// The `body` host function: writes `min(buf.len(), remaining)` bytes and
/// returns `remaining`, the bytes from `offset` to the end.
fn body_remaining(offset: usize, buf: &mut [u8]) -> Result<usize, Error> {
    if offset > u32::MAX as usize {
        return Ok(0);
    }
    let n = unsafe { raw::body(offset as u32 as i32, buf.as_mut_ptr(), len32(buf.len())) };
    match length(n)? {
        Some(rem) => Ok(rem),
        None => Err(Error::Host(-1)),
    }
}

// ---- Readers that allocate (feature alloc). ----

/// Calls a read accessor with a small buffer, then again with one of the
/// full length. The value does not change during a call; a few more
/// rounds guard against a host that answers otherwise.
///
/// The large buffer is not zeroed first: the host writes the value into
/// the spare capacity, and only what it wrote becomes the Vec's contents.
/// (Zeroing is a byte loop in wasm32 without bulk memory: 4 MiB takes
/// tens of milliseconds, more than a pricing call's deadline.)
#[cfg(feature = "alloc")]
fn read_vec(mut get: impl FnMut(*mut u8, i32) -> i64) -> Result<Option<Vec<u8>>, Error> {
    let mut small = [0u8; 128];
    let mut n = get(small.as_mut_ptr(), small.len() as i32);
    let mut want = match length(n)? {
        None => return Ok(None),
        Some(len) => len,
    };
    if let Some(v) = small.get(..want) {
        return Ok(Some(v.to_vec()));
    }
    for _ in 0..4 {
        let mut v = Vec::new();
        if v.try_reserve_exact(want).is_err() {
            return Err(Error::NoMemory);
        }
        n = get(v.as_mut_ptr(), len32(want));
        match length(n)? {
            None => return Ok(None),
            Some(len) if len <= want => {
                // SAFETY: the host wrote the value, len bytes, into the
                // buffer of capacity want >= len (ABI: written when it fits).
                unsafe { v.set_len(len) };
                return Ok(Some(v));
            }
            Some(len) => want = len,
        }
    }
    Err(Error::Host(n))
}

#[cfg(feature = "alloc")]
fn utf8(v: Option<Vec<u8>>) -> Result<Option<String>, Error> {
    match v {
        None => Ok(None),
        Some(v) => String::from_utf8(v).map(Some).map_err(|_| Error::Utf8),
    }
}

/// A string field's bytes; `Ok(None)` when absent.
#[cfg(feature = "alloc")]
pub fn input(field: StrField) -> Result<Option<Vec<u8>>, Error> {
    read_vec(|buf, len| unsafe { raw::input(field as i32, buf, len) })
}

/// A string field; [`Error::Utf8`] if it is not UTF-8.
#[cfg(feature = "alloc")]
pub fn input_string(field: StrField) -> Result<Option<String>, Error> {
    utf8(input(field)?)
}

/// The gRPC method, `/package.Service/Method`.
#[cfg(feature = "alloc")]
pub fn method() -> Result<Option<String>, Error> {
    input_string(StrField::Method)
}

/// The service id.
#[cfg(feature = "alloc")]
pub fn service_id() -> Result<Option<String>, Error> {
    input_string(StrField::ServiceId)
}

/// The organization id.
#[cfg(feature = "alloc")]
pub fn org_id() -> Result<Option<String>, Error> {
    input_string(StrField::OrgId)
}

/// The payment group id, base64.
#[cfg(feature = "alloc")]
pub fn group_id() -> Result<Option<String>, Error> {
    input_string(StrField::GroupId)
}

/// The payer's checksummed address, or the free-call user's.
#[cfg(feature = "alloc")]
pub fn caller() -> Result<Option<String>, Error> {
    input_string(StrField::Caller)
}

/// The free-call user id (may be empty). Kind free_call.
#[cfg(feature = "alloc")]
pub fn free_call_user_id() -> Result<Option<String>, Error> {
    input_string(StrField::FreeCallUserId)
}

/// The first value of request metadata key `name`.
#[cfg(feature = "alloc")]
pub fn meta(name: &str) -> Result<Option<Vec<u8>>, Error> {
    meta_at(name, 0)
}

/// Value number `index` (from 0) of request metadata key `name`.
#[cfg(feature = "alloc")]
pub fn meta_at(name: &str, index: u32) -> Result<Option<Vec<u8>>, Error> {
    read_vec(|buf, len| unsafe { raw::meta(name.as_ptr(), len32(name.len()), index as i32, buf, len) })
}

/// The first value of metadata key `name`, as UTF-8.
#[cfg(feature = "alloc")]
pub fn meta_string(name: &str) -> Result<Option<String>, Error> {
    utf8(meta(name)?)
}

/// Every value of metadata key `name`, in order.
#[cfg(feature = "alloc")]
pub fn meta_values(name: &str) -> Result<Vec<Vec<u8>>, Error> {
    let mut vals = Vec::new();
    let mut i = 0u32;
    while let Some(v) = meta_at(name, i)? {
        vals.push(v);
        i += 1;
    }
    Ok(vals)
}

/// The request's metadata keys, sorted.
#[cfg(feature = "alloc")]
pub fn meta_keys() -> Result<Vec<String>, Error> {
    let all = read_vec(|buf, len| unsafe { raw::meta_keys(buf, len) })?.unwrap_or_default();
    split_keys(&all)
        .map(|k| core::str::from_utf8(k).map(String::from).map_err(|_| Error::Utf8))
        .collect()
}

/// The plugin's configuration as JSON; `Ok(None)` when there is none.
#[cfg(feature = "alloc")]
pub fn config() -> Result<Option<Vec<u8>>, Error> {
    read_vec(|buf, len| unsafe { raw::config(buf, len) })
}

/// The whole request body. See [`body_chunk`] for when it is available.
#[cfg(feature = "alloc")]
pub fn body() -> Result<Vec<u8>, Error> {
    let total = body_remaining(0, &mut [])?;
    let mut v: Vec<u8> = Vec::new();
    if v.try_reserve_exact(total).is_err() {
        return Err(Error::NoMemory);
    }
    // Into the spare capacity, not zeroed first (see read_vec).
    while v.len() < total {
        let off = v.len();
        let room = total - off;
        let n = unsafe { raw::body(off as u32 as i32, v.as_mut_ptr().add(off), len32(room)) };
        let n = match length(n)? {
            Some(remaining) => remaining.min(room),
            None => return Err(Error::Host(-1)),
        };
        if n == 0 {
            break;
        }
        // SAFETY: the host wrote min(remaining, room) bytes at off.
        unsafe { v.set_len(off + n) };
    }
    Ok(v)
}

// ---- Outputs. ----

/// Sets the price of the call in cogs (kind pricing). Ignored by other
/// kinds and during `tariff_init`.
pub fn set_price(cogs: u64) {
    unsafe { raw::set_price(cogs as i64) }
}

/// Sets the free-call decision (kind free_call): whether this call is
/// allowed, and how many free calls remain (capped at 2^63-1).
pub fn set_free_call(allow: bool, remaining: u64) {
    let rem = if remaining > i64::MAX as u64 {
        i64::MAX
    } else {
        remaining as i64
    };
    unsafe { raw::set_free_call(allow as i32, rem) }
}

fn output(n: i32) -> Result<(), Error> {
    match n {
        0 => Ok(()),
        -1 => Err(Error::Refused),
        -2 => Err(Error::Unavailable),
        n => Err(Error::Host(n as i64)),
    }
}

/// Appends to the new request body (kind transform). Calling it at all,
/// even with no bytes, replaces the body. [`Error::Refused`] past the
/// output cap: the call then fails whatever the plugin returns.
pub fn body_write(data: &[u8]) -> Result<(), Error> {
    output(unsafe { raw::body_write(data.as_ptr(), len32(data.len())) })
}

/// Adds a value to metadata key `name` of the forwarded request (kind
/// transform); the keys set replace the request's values. Refused: keys
/// that are not lowercase gRPC header names (`a-z 0-9 - _ .`), and keys
/// starting with `snet-`, `grpc-` or `:`.
pub fn meta_set(name: &str, value: &[u8]) -> Result<(), Error> {
    output(unsafe { raw::meta_set(name.as_ptr(), len32(name.len()), value.as_ptr(), len32(value.len())) })
}

/// Sets the gRPC code (see [`code`]) and message of a DENY; in
/// `tariff_init`, the message explains a non-zero status. The host cuts the
/// message at 1 KiB.
pub fn fail(code: u32, message: &str) {
    unsafe { raw::fail(code as i32, message.as_ptr(), len32(message.len())) }
}

/// [`fail`], then [`Status::Deny`]: `return Ok(tariff::deny(code::RESOURCE_EXHAUSTED, "quota"))`.
pub fn deny(code: u32, message: &str) -> Status {
    fail(code, message);
    Status::Deny
}

/// Writes a log line. The host cuts lines at 1 KiB and caps the lines per
/// call and per second.
pub fn log(level: Level, message: &str) {
    unsafe { raw::log(level as i32, message.as_ptr(), len32(message.len())) }
}

/// A log line at level debug.
pub fn debug(message: &str) {
    log(Level::Debug, message)
}

/// A log line at level info.
pub fn info(message: &str) {
    log(Level::Info, message)
}

/// A log line at level warn.
pub fn warn(message: &str) {
    log(Level::Warn, message)
}

/// A log line at level error.
pub fn error(message: &str) {
    log(Level::Error, message)
}

// ---- For the plugin! macro. ----

#[doc(hidden)]
pub mod __private {
    use super::{code, fail, log, IntoStatus, Level, Status};

    /// `(ptr << 32) | len` of the tariff_info JSON. Meaningful on wasm32,
    /// where pointers are 32-bit.
    pub fn info(json: &'static str) -> i64 {
        (((json.as_ptr() as usize as u64) << 32) | (json.len() as u64 & 0xffff_ffff)) as i64
    }

    /// Whether s may sit between the quotes of a JSON string as it is: not
    /// empty, no quote, backslash or control character.
    pub const fn json_safe(s: &str) -> bool {
        let b = s.as_bytes();
        if b.is_empty() {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20 {
                return false;
            }
            i += 1;
        }
        true
    }

    pub fn run<R: IntoStatus>(f: impl FnOnce() -> R) -> i32 {
        f().into_status()
    }

    /// Runs init and keeps the state it returns; an error fails the
    /// instance with its message.
    pub fn init_state<S: 'static, E: AsRef<str>>(slot: &'static Slot<S>, init: impl FnOnce() -> Result<S, E>) -> i32 {
        match init() {
            Ok(s) => {
                slot.set(s);
                0
            }
            Err(e) => init_error(e.as_ref()),
        }
    }

    /// Fails tariff_init with a message for tariffd's load error.
    pub fn init_error(msg: &str) -> i32 {
        fail(code::FAILED_PRECONDITION, msg);
        Status::Error.code()
    }

    pub fn run_init<R: IntoStatus>(f: impl FnOnce() -> R) -> i32 {
        f().into_init_status()
    }

    /// Runs an entry point with the state; ERROR when tariff_init did not
    /// set it.
    pub fn call_state<S: 'static, R: IntoStatus>(slot: &'static Slot<S>, f: impl FnOnce(&S) -> R) -> i32 {
        match slot.with(|s| f(s).into_status()) {
            Some(code) => code,
            None => {
                log(Level::Error, "tariff: entry point called before tariff_init succeeded");
                Status::Error.code()
            }
        }
    }

    /// The plugin's state, set by tariff_init. On wasm32 a plain cell: a
    /// plugin instance runs one call at a time on one thread. On the build
    /// machine each test thread has its own, kept by the mock host.
    pub struct Slot<S> {
        #[cfg(target_arch = "wasm32")]
        cell: core::cell::UnsafeCell<Option<S>>,
        #[cfg(not(target_arch = "wasm32"))]
        _id: u8, // a distinct address per static
        #[cfg(not(target_arch = "wasm32"))]
        _s: core::marker::PhantomData<fn() -> S>,
    }

    // SAFETY (wasm32): wasm32-unknown-unknown without the atomics feature
    // has no threads, and the host runs one export at a time per instance;
    // set and with are never called re-entrantly (only from the exports).
    unsafe impl<S> Sync for Slot<S> {}

    impl<S: 'static> Slot<S> {
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            Slot {
                #[cfg(target_arch = "wasm32")]
                cell: core::cell::UnsafeCell::new(None),
                #[cfg(not(target_arch = "wasm32"))]
                _id: 0,
                #[cfg(not(target_arch = "wasm32"))]
                _s: core::marker::PhantomData,
            }
        }

        #[cfg(target_arch = "wasm32")]
        pub fn set(&'static self, s: S) {
            unsafe { *self.cell.get() = Some(s) }
        }

        #[cfg(target_arch = "wasm32")]
        pub fn with<R>(&'static self, f: impl FnOnce(&S) -> R) -> Option<R> {
            unsafe { (*self.cell.get()).as_ref().map(f) }
        }

        #[cfg(not(target_arch = "wasm32"))]
        pub fn set(&'static self, s: S) {
            crate::mock::state_set(self as *const Self as usize, std::boxed::Box::new(s));
        }

        #[cfg(not(target_arch = "wasm32"))]
        pub fn with<R>(&'static self, f: impl FnOnce(&S) -> R) -> Option<R> {
            crate::mock::state_with(self as *const Self as usize, |any| any.downcast_ref::<S>().map(f))
        }
    }
}

#[cfg(all(feature = "panic-handler", target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
