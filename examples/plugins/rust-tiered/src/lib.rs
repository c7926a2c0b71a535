//! rust-tiered: a tariffd pricing plugin in Rust.
//!
//! The price of a call is made of three tiers:
//!
//! ```text
//! price = base + methods[method] + per_kib × ⌈BODY_LEN / 1024⌉
//! ```
//!
//! Only the methods listed in `methods` are priced; any other method PASSes,
//! and tariffd applies its fallback (the method or fixed price of the service
//! metadata). The configuration is the plugin's HCL `config` block, which
//! the plugin reads once per instance as JSON:
//!
//! ```hcl
//! config = {
//!   base    = 10   # cogs on every priced call (default 0)
//!   per_kib = 2    # cogs per started KiB of request message (default 0)
//!   methods = {
//!     "/example_service.Calculator/mul" = 20  # exact method
//!     "/example_service.Calculator/*"   = 5   # any other method of the service
//!   }
//! }
//! ```
//!
//! A key `"/pkg.Service/*"` matches the methods of that service, `"*"` every
//! method; an exact key wins over a pattern, and a longer pattern over a
//! shorter one. Amounts are whole numbers of cogs, as JSON numbers or as
//! strings of digits (for amounts above 2^53). Unknown keys are an error, so
//! a typo fails the load instead of pricing at 0.
//!
//! With this configuration, `mul` with a 3000-byte request costs
//! 10 + 20 + 2 × 3 = 36 cogs, `add` with a 10-byte request 10 + 5 + 2 = 17.

use std::collections::BTreeMap;

use tariff::{Error, Status, StrField};

mod json;

use json::Value;

/// The configuration, parsed once per instance by `tariff_init`.
#[derive(Debug, Default, PartialEq)]
pub struct Tiered {
    base: u64,
    per_kib: u64,
    exact: BTreeMap<Vec<u8>, u64>,
    /// Method prefixes ("/pkg.Service/", or "" for "*"), longest first.
    prefixes: Vec<(Vec<u8>, u64)>,
}

tariff::plugin! {
    name: "rust-tiered",
    version: "0.1.0",
    state: Tiered = Tiered::from_config,
    pricing: Tiered::price,
}

impl Tiered {
    /// Reads and checks the configuration. An error fails the load, with
    /// its message.
    pub fn from_config() -> Result<Tiered, String> {
        let raw = match tariff::config()? {
            Some(raw) => raw,
            None => {
                tariff::warn("no config: every method PASSes");
                return Ok(Tiered::default());
            }
        };
        let t = Tiered::parse(&raw).map_err(|e| format!("rust-tiered config: {}", e))?;
        if t.exact.is_empty() && t.prefixes.is_empty() {
            tariff::warn("config lists no methods: every method PASSes");
        }
        Ok(t)
    }

    /// Parses the configuration JSON.
    pub fn parse(raw: &[u8]) -> Result<Tiered, String> {
        let top = match json::parse(raw).map_err(|e| e.to_string())? {
            Value::Object(pairs) => pairs,
            v => return Err(format!("want an object, got {}", v.kind())),
        };
        let mut t = Tiered::default();
        for (key, v) in &top {
            match key.as_str() {
                "base" => t.base = cogs(key, v)?,
                "per_kib" => t.per_kib = cogs(key, v)?,
                "methods" => {
                    let methods = match v {
                        Value::Object(m) => m,
                        v => {
                            return Err(format!(
                                "\"methods\": want an object of method = cogs, got {}",
                                v.kind()
                            ))
                        }
                    };
                    for (m, v) in methods {
                        let price = cogs(m, v)?;
                        if m == "*" {
                            t.prefixes.push((Vec::new(), price));
                        } else if !m.starts_with('/') {
                            return Err(format!("\"methods\": {:?} is not a method: want \"/package.Service/Method\", \"/package.Service/*\" or \"*\"", m));
                        } else if m.contains('*') {
                            match m.strip_suffix("/*") {
                                Some(service) if !service.contains('*') => {
                                    t.prefixes.push((format!("{}/", service).into_bytes(), price))
                                }
                                _ => return Err(format!("\"methods\": {:?}: a pattern is \"/package.Service/*\"", m)),
                            }
                        } else {
                            t.exact.insert(m.as_bytes().to_vec(), price);
                        }
                    }
                }
                _ => return Err(format!("unknown key {:?} (known: base, per_kib, methods)", key)),
            }
        }
        // Longest first; JSON duplicates resolve to the last one, as with exact keys.
        t.prefixes.reverse();
        t.prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        t.prefixes.dedup_by(|dup, kept| dup.0 == kept.0);
        Ok(t)
    }

    /// The fee of a method, or None when the configuration does not list it.
    pub fn method_fee(&self, method: &[u8]) -> Option<u64> {
        if let Some(&fee) = self.exact.get(method) {
            return Some(fee);
        }
        self.prefixes
            .iter()
            .find(|(p, _)| method.starts_with(p))
            .map(|&(_, fee)| fee)
    }

    /// tariff_price: the three tiers, or PASS for a method not listed.
    pub fn price(&self) -> Result<Status, Error> {
        // Bytes, not a String: a method that is not UTF-8 is not an error;
        // it can only match a pattern.
        let method = match tariff::input(StrField::Method)? {
            Some(m) => m,
            None => return Ok(Status::Pass),
        };
        let fee = match self.method_fee(&method) {
            Some(fee) => fee,
            None => return Ok(Status::Pass),
        };
        let kib = (tariff::body_len()? + 1023) / 1024;
        let price = self
            .per_kib
            .checked_mul(kib)
            .and_then(|size| size.checked_add(self.base))
            .and_then(|p| p.checked_add(fee))
            .ok_or(Error::Plugin("rust-tiered: price overflows 64 bits"))?;
        tariff::set_price(price);
        Ok(Status::Ok)
    }
}

/// An amount of cogs: a whole JSON number, or a string of digits.
fn cogs(key: &str, v: &Value) -> Result<u64, String> {
    let text = match v {
        Value::Number(n) | Value::String(n) => n.as_str(),
        v => return Err(format!("{:?}: want a whole number of cogs, got {}", key, v.kind())),
    };
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{:?}: want a whole number of cogs, got {}", key, text));
    }
    text.parse()
        .map_err(|_| format!("{:?}: {} is over 2^64-1 cogs", key, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tariff::mock::{self, Request};

    const CONFIG: &[u8] = br#"{
        "base": 10,
        "per_kib": 2,
        "methods": {
            "/example_service.Calculator/mul": 20,
            "/example_service.Calculator/*": 5
        }
    }"#;

    const MUL: &str = "/example_service.Calculator/mul";
    const ADD: &str = "/example_service.Calculator/add";

    fn init(config: &[u8]) {
        let out = mock::init(Some(config), tariff_init);
        assert_eq!(out.status, Status::Ok, "{:?}", out.fail);
    }

    fn price(method: &str, body_len: usize) -> (Status, Option<u64>) {
        let out = Request::pricing()
            .method(method)
            .body(vec![0; body_len])
            .run(tariff_price);
        assert_eq!(out.host_error, None);
        (out.status, out.price)
    }

    #[test]
    fn info() {
        assert_eq!(
            TARIFF_INFO,
            r#"{"name":"rust-tiered","version":"0.1.0","abi_minor":0,"kinds":["pricing"],"needs_body":false}"#
        );
    }

    #[test]
    fn three_tiers() {
        init(CONFIG);
        assert_eq!(price(MUL, 3000), (Status::Ok, Some(10 + 20 + 2 * 3)));
        assert_eq!(price(ADD, 10), (Status::Ok, Some(10 + 5 + 2)));
        assert_eq!(price(MUL, 0), (Status::Ok, Some(30)), "an empty message has no KiB");
        assert_eq!(price(MUL, 1024), (Status::Ok, Some(32)));
        assert_eq!(price(MUL, 1025), (Status::Ok, Some(34)), "a started KiB counts");
    }

    #[test]
    fn exact_then_longest_pattern() {
        let t = Tiered::parse(CONFIG).unwrap();
        assert_eq!(t.method_fee(MUL.as_bytes()), Some(20));
        assert_eq!(t.method_fee(b"/example_service.Calculator/div"), Some(5));
        assert_eq!(t.method_fee(b"/example_service.Calculator/"), Some(5));
        assert_eq!(t.method_fee(b"/other.Service/mul"), None);

        let t = Tiered::parse(br#"{"methods": {"*": 1, "/a.B/*": 2, "/a.B/C": 3}}"#).unwrap();
        assert_eq!(t.method_fee(b"/a.B/C"), Some(3));
        assert_eq!(t.method_fee(b"/a.B/D"), Some(2));
        assert_eq!(t.method_fee(b"/x.Y/Z"), Some(1));
        assert_eq!(t.method_fee(b""), Some(1));

        let t = Tiered::parse(br#"{"methods": {"/a.B/*": 1, "/a.B/C": 2, "/a.B/*": 3, "/a.B/C": 4}}"#).unwrap();
        assert_eq!(t.method_fee(b"/a.B/C"), Some(4), "the last of duplicate keys wins");
        assert_eq!(t.method_fee(b"/a.B/D"), Some(3));
    }

    #[test]
    fn unknown_methods_pass() {
        init(CONFIG);
        assert_eq!(price("/other.Service/mul", 10), (Status::Pass, None));
        let out = Request::pricing().run(tariff_price);
        assert_eq!(out.status, Status::Pass, "no method");
        let out = Request::pricing()
            .string(StrField::Method, b"/example_service.Calculator\xff")
            .run(tariff_price);
        assert_eq!(out.status, Status::Pass, "not UTF-8");
    }

    #[test]
    fn long_methods_take_the_retry_path() {
        let long = format!("/example_service.Calculator/{}", "x".repeat(5000));
        init(CONFIG);
        assert_eq!(price(&long, 1), (Status::Ok, Some(10 + 5 + 2)));
        let exact = format!(r#"{{"methods": {{"{}": 7}}}}"#, long);
        init(exact.as_bytes());
        assert_eq!(price(&long, 0), (Status::Ok, Some(7)));
    }

    #[test]
    fn without_config_everything_passes() {
        let out = mock::init(None, tariff_init);
        assert_eq!(out.status, Status::Ok);
        assert_eq!(out.messages(), vec!["no config: every method PASSes"]);
        assert_eq!(price(MUL, 10), (Status::Pass, None));
        let out = mock::init(Some(b"{}"), tariff_init);
        assert_eq!(out.messages(), vec!["config lists no methods: every method PASSes"]);
    }

    #[test]
    fn amounts() {
        let t = Tiered::parse(br#"{"base": "18446744073709551615", "per_kib": 0}"#).unwrap();
        assert_eq!((t.base, t.per_kib), (u64::MAX, 0));
        init(br#"{"base": "18446744073709551615", "methods": {"*": 1}}"#);
        let out = Request::pricing().method(MUL).run(tariff_price);
        assert_eq!(out.status, Status::Error, "an overflow fails closed");
        assert_eq!(out.messages(), vec!["rust-tiered: price overflows 64 bits"]);
    }

    #[test]
    fn bad_configs_fail_the_load() {
        for (config, want) in [
            (&b"[]"[..], "want an object, got an array"),
            (b"{\"base\": 1", "invalid JSON"),
            (br#"{"bsae": 1}"#, r#"unknown key "bsae""#),
            (br#"{"base": -1}"#, "got -1"),
            (br#"{"base": 1.5}"#, "got 1.5"),
            (br#"{"base": 1e3}"#, "got 1e3"),
            (br#"{"base": true}"#, "got a boolean"),
            (br#"{"per_kib": "18446744073709551616"}"#, "over 2^64-1"),
            (br#"{"methods": []}"#, "want an object of method = cogs"),
            (br#"{"methods": {"mul": 1}}"#, "is not a method"),
            (br#"{"methods": {"/a.B/C*": 1}}"#, "a pattern is"),
            (br#"{"methods": {"/a.*/C": 1}}"#, "\"/a.*/C\": a pattern is"),
        ] {
            let out = mock::init(Some(config), tariff_init);
            assert_eq!(out.status, Status::Error);
            let msg = out.fail.expect("a message").1;
            assert!(msg.starts_with("rust-tiered config: "), "{}", msg);
            assert!(msg.contains(want), "{:?}: {}", String::from_utf8_lossy(config), msg);
        }
    }

    #[test]
    fn the_plugin_is_deterministic() {
        init(CONFIG);
        let first = price(MUL, 2048);
        for _ in 0..100 {
            assert_eq!(price(MUL, 2048), first);
        }
    }
}
