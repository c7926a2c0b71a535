//! A mock host for unit tests on the build machine (not on wasm32).
//!
//! It implements the `tariff_v1` functions in Rust, following the rules of
//! tariffd's host: which kind may read which field (`-2` otherwise), request
//! fields unavailable during `tariff_init`, the body only for transform or
//! `needs_body`, outputs ignored outside their kind, the `meta_set` key
//! rules, the body output cap, messages cut at 1 KiB, at most 20 log lines
//! per call. State is per thread, so tests run in parallel.
//!
//! ```ignore
//! use tariff::{mock, Status};
//!
//! #[test]
//! fn prices_mul() {
//!     assert_eq!(mock::init(Some(br#"{"base": 10}"#), tariff_init).status, Status::Ok);
//!     let out = mock::Request::pricing()
//!         .method("/example_service.Calculator/mul")
//!         .body(vec![0u8; 3000])
//!         .run(tariff_price);
//!     assert_eq!(out.status, Status::Ok);
//!     assert_eq!(out.price, Some(36));
//! }
//! ```
//!
//! `tariff_init` and `tariff_price` are the exports [`plugin!`](crate::plugin)
//! emits; [`Request::run`] also takes any function or closure that returns a
//! [`Status`], a `Result<Status, E>` or a raw `i32`.

use std::any::Any;
use std::boxed::Box;
use std::cell::RefCell;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::{IntoStatus, Kind, Level, Status, StrField, U64Field};

/// The host's default cap on the new body of a transform (4 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 4 << 20;
/// Log lines kept per call (and per init), as the host's default.
pub const LOG_LINES: usize = 20;
/// Longest log line and DENY message kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Cap on the metadata keys and values set by one transform call.
pub const MAX_META_OUT_BYTES: usize = 64 << 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Init,
    Call(Kind),
}

struct Host {
    phase: Phase,
    config: Option<Vec<u8>>,
    req: Request,
    out: Outcome,
    meta_bytes: usize,
    state: Vec<(usize, Option<Box<dyn Any>>)>,
}

impl Host {
    fn new() -> Host {
        Host {
            phase: Phase::Idle,
            config: None,
            req: Request::new(Kind::Pricing),
            out: Outcome::new(),
            meta_bytes: 0,
            state: Vec::new(),
        }
    }

    fn in_call(&self) -> bool {
        matches!(self.phase, Phase::Call(_))
    }

    fn kind(&self) -> Option<Kind> {
        match self.phase {
            Phase::Call(k) => Some(k),
            _ => None,
        }
    }
}

std::thread_local! {
    static HOST: RefCell<Host> = RefCell::new(Host::new());
}

fn with_host<R>(what: &str, f: impl FnOnce(&mut Host) -> R) -> R {
    HOST.with(|h| {
        let mut h = h.borrow_mut();
        if h.phase == Phase::Idle {
            panic!(
                "tariff::mock: {} called outside mock::init, mock::with_config or mock::Request::run",
                what
            );
        }
        f(&mut h)
    })
}

/// Sets the phase for the life of the guard, and back to Idle after, even
/// when the plugin panics.
struct PhaseGuard;

impl PhaseGuard {
    fn enter(phase: Phase, req: Option<Request>) -> PhaseGuard {
        HOST.with(|h| {
            let mut h = h.borrow_mut();
            assert!(h.phase == Phase::Idle, "tariff::mock: calls do not nest");
            h.phase = phase;
            if let Some(r) = req {
                h.req = r;
            }
            h.out = Outcome::new();
            h.meta_bytes = 0;
        });
        PhaseGuard
    }

    fn finish(self, code: i32) -> Outcome {
        let (mut out, kind) = HOST.with(|h| {
            let mut h = h.borrow_mut();
            (std::mem::replace(&mut h.out, Outcome::new()), h.kind())
        });
        out.code = code;
        out.status = Status::from_code(code);
        if let Some(k) = kind {
            out.check(k);
        }
        out
    }
}

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        HOST.with(|h| h.borrow_mut().phase = Phase::Idle);
    }
}

/// Forgets this thread's configuration and plugin state.
pub fn reset() {
    HOST.with(|h| *h.borrow_mut() = Host::new());
}

/// Starts a fresh plugin instance on this thread: resets it, sets the
/// configuration `config` answers (`None`: absent), and runs `f` as
/// `tariff_init`, where request fields are unavailable. `f` is usually the
/// `tariff_init` export of [`plugin!`](crate::plugin). The configuration stays
/// for the calls that follow.
pub fn init<R: IntoStatus>(config: Option<&[u8]>, f: impl FnOnce() -> R) -> Outcome {
    reset();
    HOST.with(|h| h.borrow_mut().config = config.map(|c| c.to_vec()));
    let g = PhaseGuard::enter(Phase::Init, None);
    let code = f().into_status();
    g.finish(code)
}

/// Like [`init`], for a function returning anything, such as a plugin's own
/// `fn from_config() -> Result<State, Error>`: returns what `f` returns.
/// Its log lines are echoed to standard error.
pub fn with_config<T>(config: Option<&[u8]>, f: impl FnOnce() -> T) -> T {
    reset();
    HOST.with(|h| h.borrow_mut().config = config.map(|c| c.to_vec()));
    let g = PhaseGuard::enter(Phase::Init, None);
    let v = f();
    drop(g);
    v
}

/// The request of one call: its kind, input fields, metadata and body.
#[derive(Clone, Debug)]
pub struct Request {
    kind: Kind,
    strs: [Option<Vec<u8>>; 13],
    nums: [Option<u64>; 13],
    meta: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    needs_body: bool,
    body_limit: usize,
}

impl Request {
    /// A request for an entry point of kind `kind`, with no fields set.
    pub fn new(kind: Kind) -> Request {
        Request {
            kind,
            strs: Default::default(),
            nums: [None; 13],
            meta: Vec::new(),
            body: Vec::new(),
            needs_body: false,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// A pricing request (`tariff_price`).
    pub fn pricing() -> Request {
        Request::new(Kind::Pricing)
    }

    /// A free-call request (`tariff_free_call`).
    pub fn free_call() -> Request {
        Request::new(Kind::FreeCall)
    }

    /// A transform request (`tariff_transform`).
    pub fn transform() -> Request {
        Request::new(Kind::Transform)
    }

    /// Sets a string field to any bytes (also invalid UTF-8).
    pub fn string(mut self, field: StrField, value: impl AsRef<[u8]>) -> Request {
        self.strs[field as usize] = Some(value.as_ref().to_vec());
        self
    }

    /// Sets a numeric field. [`U64Field::BodyLen`] is always the body's
    /// length: set the body instead.
    pub fn number(mut self, field: U64Field, value: u64) -> Request {
        assert!(
            field != U64Field::BodyLen,
            "tariff::mock: BODY_LEN is the length of the body; set Request::body"
        );
        self.nums[field as usize] = Some(value);
        self
    }

    /// Sets the method, `/package.Service/Method`.
    pub fn method(self, v: &str) -> Request {
        self.string(StrField::Method, v)
    }

    /// Sets the service id.
    pub fn service_id(self, v: &str) -> Request {
        self.string(StrField::ServiceId, v)
    }

    /// Sets the organization id.
    pub fn org_id(self, v: &str) -> Request {
        self.string(StrField::OrgId, v)
    }

    /// Sets the payment group id.
    pub fn group_id(self, v: &str) -> Request {
        self.string(StrField::GroupId, v)
    }

    /// Sets the caller's address.
    pub fn caller(self, v: &str) -> Request {
        self.string(StrField::Caller, v)
    }

    /// Sets the payment type (`escrow`, `prepaid-call`, `free-call`,
    /// `train-call`).
    pub fn payment_type(self, v: &str) -> Request {
        self.string(StrField::PaymentType, v)
    }

    /// Sets the free-call user id.
    pub fn free_call_user_id(self, v: &str) -> Request {
        self.string(StrField::FreeCallUserId, v)
    }

    /// Sets the channel id.
    pub fn channel_id(self, v: u64) -> Request {
        self.number(U64Field::ChannelId, v)
    }

    /// Sets the free calls used.
    pub fn free_calls_used(self, v: u64) -> Request {
        self.number(U64Field::FreeCallsUsed, v)
    }

    /// Sets the free calls allowed.
    pub fn free_calls_allowed(self, v: u64) -> Request {
        self.number(U64Field::FreeCallsAllowed, v)
    }

    /// Sets the request time.
    pub fn request_time_unix_ms(self, v: u64) -> Request {
        self.number(U64Field::RequestTimeUnixMs, v)
    }

    /// Adds a value to a metadata key (lowercased, as gRPC does).
    pub fn meta(mut self, key: &str, value: impl AsRef<[u8]>) -> Request {
        self.meta.push((key.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }

    /// Sets the request message; BODY_LEN is its length.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Whether the plugin declared `needs_body` (pricing and free_call may
    /// then read the body).
    pub fn needs_body(mut self, yes: bool) -> Request {
        self.needs_body = yes;
        self
    }

    /// The cap on the new body a transform writes (default 4 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Request {
        self.body_limit = bytes;
        self
    }

    /// Runs `f` as the entry point of this request's kind, on this thread's
    /// instance (configuration and state from [`init`]), and returns what the
    /// plugin returned and set.
    pub fn run<R: IntoStatus>(self, f: impl FnOnce() -> R) -> Outcome {
        let g = PhaseGuard::enter(Phase::Call(self.kind), Some(self));
        let code = f().into_status();
        g.finish(code)
    }

    fn meta_values(&self, key: &[u8]) -> impl Iterator<Item = &Vec<u8>> {
        let key = key.to_ascii_lowercase();
        self.meta
            .iter()
            .filter(move |(k, _)| k.as_bytes() == key.as_slice())
            .map(|(_, v)| v)
    }

    fn meta_keys(&self) -> Vec<u8> {
        let mut keys: Vec<&str> = self.meta.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.join("\0").into_bytes()
    }
}

/// A log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// Its level.
    pub level: Level,
    /// The message, cut at 1 KiB and made valid UTF-8.
    pub message: String,
}

/// What a call returned and set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status, as the host reads the code.
    pub status: Status,
    /// The code the entry point returned.
    pub code: i32,
    /// The price given to `set_price` (pricing).
    pub price: Option<u64>,
    /// The decision given to `set_free_call`: allowed, and free calls
    /// remaining (free_call).
    pub free_call: Option<(bool, u64)>,
    /// The new body, when `body_write` was called at least once (transform).
    pub body: Option<Vec<u8>>,
    /// The metadata set with `meta_set`, in call order (transform).
    pub meta: Vec<(String, Vec<u8>)>,
    /// The code and message given to `fail`; the host turns a code outside
    /// 1..=16 into 7 (PermissionDenied).
    pub fail: Option<(u32, String)>,
    /// Log lines kept.
    pub logs: Vec<Log>,
    /// Log lines over the per-call cap.
    pub logs_dropped: usize,
    /// Why the host would make this call an ERROR whatever its status
    /// (an output over its cap, OK without the kind's output), if it would.
    pub host_error: Option<String>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            status: Status::Ok,
            code: 0,
            price: None,
            free_call: None,
            body: None,
            meta: Vec::new(),
            fail: None,
            logs: Vec::new(),
            logs_dropped: 0,
            host_error: None,
        }
    }

    /// The messages of the log lines, for assertions.
    pub fn messages(&self) -> Vec<&str> {
        self.logs.iter().map(|l| l.message.as_str()).collect()
    }

    fn check(&mut self, kind: Kind) {
        if self.status != Status::Ok || self.host_error.is_some() {
            return;
        }
        match kind {
            Kind::Pricing if self.price.is_none() => {
                self.host_error = Some("returned OK without calling set_price".to_string())
            }
            Kind::FreeCall if self.free_call.is_none() => {
                self.host_error = Some("returned OK without calling set_free_call".to_string())
            }
            _ => {}
        }
    }
}

/// Text as the host keeps it: valid UTF-8, at most `max` bytes, cut at a
/// character boundary.
fn cut_text(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    let mut s = String::from_utf8_lossy(b).into_owned();
    while s.len() > max {
        s.pop();
    }
    s
}

fn settable_key(key: &[u8]) -> bool {
    !key.is_empty()
        && !key.starts_with(b"snet-")
        && !key.starts_with(b"grpc-")
        && key
            .iter()
            .all(|&c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.'))
}

fn str_field(id: i32) -> Option<StrField> {
    Some(match id {
        1 => StrField::Method,
        2 => StrField::ServiceId,
        3 => StrField::OrgId,
        4 => StrField::GroupId,
        5 => StrField::Caller,
        6 => StrField::PaymentType,
        12 => StrField::FreeCallUserId,
        _ => return None,
    })
}

fn u64_field(id: i32) -> Option<U64Field> {
    Some(match id {
        7 => U64Field::ChannelId,
        8 => U64Field::BodyLen,
        9 => U64Field::FreeCallsUsed,
        10 => U64Field::FreeCallsAllowed,
        11 => U64Field::RequestTimeUnixMs,
        _ => return None,
    })
}

pub(crate) fn state_set(key: usize, s: Box<dyn Any>) {
    HOST.with(|h| {
        let mut h = h.borrow_mut();
        match h.state.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = Some(s),
            None => h.state.push((key, Some(s))),
        }
    })
}

/// Lends the state to f without holding the host borrowed, so f may call
/// host functions.
pub(crate) fn state_with<R>(key: usize, f: impl FnOnce(&dyn Any) -> Option<R>) -> Option<R> {
    let taken = HOST.with(|h| {
        let mut h = h.borrow_mut();
        h.state
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|slot| slot.1.take())
    })?;
    struct PutBack(usize, Option<Box<dyn Any>>);
    impl Drop for PutBack {
        fn drop(&mut self) {
            let s = self.1.take();
            let key = self.0;
            let _ = HOST.try_with(|h| {
                if let Some(slot) = h.borrow_mut().state.iter_mut().find(|(k, _)| *k == key) {
                    if slot.1.is_none() {
                        slot.1 = s;
                    }
                }
            });
        }
    }
    let back = PutBack(key, Some(taken));
    f(back.1.as_deref().expect("state present"))
}

unsafe fn bytes<'a>(ptr: *const u8, len: i32) -> &'a [u8] {
    let n = len as u32 as usize;
    if n == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, n)
    }
}

/// The read-accessor convention: the full length, the value written only
/// if it fits.
unsafe fn answer(buf: *mut u8, buf_len: i32, v: &[u8]) -> i64 {
    if !v.is_empty() && v.len() <= buf_len as u32 as usize {
        std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len());
    }
    v.len() as i64
}

/// The host functions, with the signatures of the wasm imports. Reached
/// as [`crate::raw`] on the build machine.
pub mod raw {
    use super::*;

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn input(field: i32, buf: *mut u8, buf_len: i32) -> i64 {
        with_host("input", |h| {
            let f = match str_field(field) {
                Some(f) => f,
                None => return -1,
            };
            match h.kind() {
                Some(k) if f.readable_by(k) => match &h.req.strs[f as usize] {
                    Some(v) => answer(buf, buf_len, v),
                    None => -1,
                },
                _ => -2,
            }
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn input_u64(field: i32) -> i64 {
        with_host("input_u64", |h| {
            let f = match u64_field(field) {
                Some(f) => f,
                None => return -1,
            };
            match h.kind() {
                Some(k) if f.readable_by(k) => {
                    let v = if f == U64Field::BodyLen {
                        Some(h.req.body.len() as u64)
                    } else {
                        h.req.nums[f as usize]
                    };
                    match v {
                        Some(v) if v <= i64::MAX as u64 => v as i64,
                        _ => -1,
                    }
                }
                _ => -2,
            }
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn meta(name: *const u8, name_len: i32, index: i32, buf: *mut u8, buf_len: i32) -> i64 {
        with_host("meta", |h| {
            if !h.in_call() {
                return -2;
            }
            if index < 0 {
                return -1;
            }
            match h.req.meta_values(bytes(name, name_len)).nth(index as usize) {
                Some(v) => answer(buf, buf_len, v),
                None => -1,
            }
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn meta_keys(buf: *mut u8, buf_len: i32) -> i64 {
        with_host("meta_keys", |h| {
            if !h.in_call() {
                return -2;
            }
            answer(buf, buf_len, &h.req.meta_keys())
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn body(offset: i32, buf: *mut u8, buf_len: i32) -> i64 {
        with_host("body", |h| {
            match h.kind() {
                Some(Kind::Transform) => {}
                Some(_) if h.req.needs_body => {}
                _ => return -2,
            }
            let body = &h.req.body;
            let off = offset as u32 as usize;
            if off >= body.len() {
                return 0;
            }
            let rest = &body[off..];
            let n = rest.len().min(buf_len as u32 as usize);
            if n > 0 {
                std::ptr::copy_nonoverlapping(rest.as_ptr(), buf, n);
            }
            rest.len() as i64
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn config(buf: *mut u8, buf_len: i32) -> i64 {
        with_host("config", |h| match &h.config {
            Some(c) => answer(buf, buf_len, c),
            None => -1,
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn set_price(cogs: i64) {
        with_host("set_price", |h| {
            if h.kind() == Some(Kind::Pricing) {
                h.out.price = Some(cogs as u64);
            }
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn set_free_call(allow: i32, remaining: i64) {
        with_host("set_free_call", |h| {
            if h.kind() == Some(Kind::FreeCall) {
                h.out.free_call = Some((allow != 0, remaining.max(0) as u64));
            }
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn body_write(ptr: *const u8, len: i32) -> i32 {
        with_host("body_write", |h| {
            if h.kind() != Some(Kind::Transform) {
                return -2;
            }
            let b = bytes(ptr, len);
            let have = h.out.body.as_ref().map_or(0, |v| v.len());
            if h.out.host_error.is_some() || have + b.len() > h.req.body_limit {
                h.out.host_error = Some(std::format!(
                    "body_write: new body over the limit of {} bytes",
                    h.req.body_limit
                ));
                return -1;
            }
            h.out.body.get_or_insert_with(Vec::new).extend_from_slice(b);
            0
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn meta_set(name: *const u8, name_len: i32, val: *const u8, val_len: i32) -> i32 {
        with_host("meta_set", |h| {
            if h.kind() != Some(Kind::Transform) {
                return -2;
            }
            let (name, val) = (bytes(name, name_len), bytes(val, val_len));
            if !settable_key(name) {
                return -1;
            }
            if h.out.host_error.is_some() || h.meta_bytes + name.len() + val.len() > MAX_META_OUT_BYTES {
                h.out.host_error = Some(std::format!(
                    "meta_set: metadata set over the limit of {} bytes",
                    MAX_META_OUT_BYTES
                ));
                return -1;
            }
            h.meta_bytes += name.len() + val.len();
            let key = String::from_utf8_lossy(name).into_owned();
            h.out.meta.push((key, val.to_vec()));
            0
        })
    }

    /// See [`crate::raw`].
    ///
    /// # Safety
    /// Each pointer must be valid for its length, as for the wasm import.
    pub unsafe fn fail(code: i32, msg: *const u8, msg_len: i32) {
        with_host("fail", |h| {
            let code = if (1..=16).contains(&code) {
                code as u32
            } else {
                crate::code::PERMISSION_DENIED
            };
            h.out.fail = Some((code, cut_text(bytes(msg, msg_len), MAX_MESSAGE_BYTES)));
        })
    }

    /// See [`crate::raw`]. Kept lines are also echoed to standard error
    /// (shown by `cargo test` for failing tests).
    ///
    /// # Safety
    /// The pointer must be valid for its length, as for the wasm import.
    pub unsafe fn log(level: i32, msg: *const u8, msg_len: i32) {
        with_host("log", |h| {
            let level = match level {
                i32::MIN..=0 => Level::Debug,
                1 => Level::Info,
                2 => Level::Warn,
                _ => Level::Error,
            };
            if h.out.logs.len() >= LOG_LINES {
                h.out.logs_dropped += 1;
                return;
            }
            let message = cut_text(bytes(msg, msg_len), MAX_MESSAGE_BYTES);
            std::eprintln!("plugin log {:?}: {}", level, message);
            h.out.logs.push(Log { level, message });
        })
    }
}
