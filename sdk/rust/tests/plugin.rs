//! A plugin of every kind with state, through the exports plugin! emits.

use tariff::mock::{self, Request};
use tariff::{Error, Status};

struct Plugin {
    surcharge: u64,
}

/// `{"surcharge": N}`, by hand: this test is about the glue.
fn from_config() -> Result<Plugin, String> {
    let cfg = tariff::config()?.ok_or("config { surcharge = N } is required")?;
    let s = std::str::from_utf8(&cfg).map_err(|_| "config is not UTF-8")?;
    let n = s
        .trim_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .map_err(|_| format!("bad config {}", s))?;
    tariff::info("configured");
    Ok(Plugin { surcharge: n })
}

impl Plugin {
    fn price(&self) -> Result<Status, Error> {
        let method = match tariff::method()? {
            Some(m) => m,
            None => return Ok(Status::Pass),
        };
        tariff::set_price(method.len() as u64 + self.surcharge + tariff::body().map(|b| b.len() as u64)?);
        Ok(Status::Ok)
    }

    fn free_call(&self) -> Status {
        match (tariff::free_calls_used(), tariff::free_calls_allowed()) {
            (Ok(Some(used)), Ok(Some(allowed))) if used < allowed => {
                tariff::set_free_call(true, allowed - used - 1);
                Status::Ok
            }
            (Ok(Some(_)), Ok(Some(_))) => tariff::deny(tariff::code::RESOURCE_EXHAUSTED, "no free calls left"),
            _ => Status::Pass,
        }
    }

    fn transform(&self) -> Result<Status, Error> {
        tariff::meta_set("x-surcharge", self.surcharge.to_string().as_bytes())?;
        Ok(Status::Ok)
    }
}

tariff::plugin! {
    name: "glue",
    version: "1.2.3",
    needs_body: true,
    state: Plugin = from_config,
    pricing: Plugin::price,
    free_call: Plugin::free_call,
    transform: Plugin::transform,
}

#[test]
fn info() {
    assert_eq!(
        TARIFF_INFO,
        r#"{"name":"glue","version":"1.2.3","abi_minor":0,"kinds":["pricing","free_call","transform"],"needs_body":true}"#
    );
    assert_eq!(tariff_info() as u64 & 0xffff_ffff, TARIFF_INFO.len() as u64);
    tariff_abi_v1();
}

#[test]
fn init_keeps_the_state() {
    let out = mock::init(Some(br#"{"surcharge": 5}"#), tariff_init);
    assert_eq!(out.status, Status::Ok);
    assert_eq!(out.messages(), vec!["configured"]);

    let out = Request::pricing()
        .method("/a.B/C")
        .body(vec![0; 4])
        .needs_body(true)
        .run(tariff_price);
    assert_eq!((out.status, out.price), (Status::Ok, Some(6 + 5 + 4)));
    assert_eq!(Request::pricing().run(tariff_price).status, Status::Pass);

    let out = Request::free_call()
        .free_calls_used(1)
        .free_calls_allowed(3)
        .run(tariff_free_call);
    assert_eq!(out.free_call, Some((true, 1)));
    let out = Request::free_call()
        .free_calls_used(3)
        .free_calls_allowed(3)
        .run(tariff_free_call);
    assert_eq!(out.status, Status::Deny);

    let out = Request::transform().run(tariff_transform);
    assert_eq!(out.meta, vec![("x-surcharge".to_string(), b"5".to_vec())]);
}

#[test]
fn init_errors_fail_the_instance_with_a_message() {
    let out = mock::init(None, tariff_init);
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.fail.unwrap().1, "config { surcharge = N } is required");
    let out = mock::init(Some(b"{}"), tariff_init);
    assert_eq!(out.fail.unwrap().1, "bad config {}");
}

#[test]
fn calls_before_init_are_errors() {
    mock::reset();
    let out = Request::pricing().method("/a.B/C").run(tariff_price);
    assert_eq!(out.status, Status::Error);
    assert!(out.messages()[0].contains("before tariff_init"));
}

#[test]
fn errors_in_entry_points_are_logged() {
    mock::init(Some(b"1"), tariff_init);
    // Without needs_body the body is unavailable: the ? turns it into ERROR.
    let out = Request::pricing().method("/a.B/C").run(tariff_price);
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.messages(), vec![Error::Unavailable.message()]);
}

#[test]
fn instances_are_per_thread() {
    mock::init(Some(b"100"), tariff_init);
    std::thread::spawn(|| {
        mock::init(Some(b"1"), tariff_init);
        let out = Request::pricing().method("/").needs_body(true).run(tariff_price);
        assert_eq!(out.price, Some(2));
    })
    .join()
    .unwrap();
    let out = Request::pricing().method("/").needs_body(true).run(tariff_price);
    assert_eq!(out.price, Some(101));
}
