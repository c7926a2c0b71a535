//! plugin! without state: entry points are plain functions.

use tariff::mock::{self, Request};
use tariff::{Error, Status};

fn setup() -> Result<(), Error> {
    match tariff::config()? {
        Some(_) => Ok(()),
        None => Err(Error::Plugin("config required")),
    }
}

fn free_call() -> Status {
    tariff::set_free_call(true, 0);
    Status::Ok
}

fn transform() -> Result<Status, Error> {
    let mut chunk = [0u8; 2];
    let mut offset = 0;
    loop {
        let n = tariff::body_chunk(offset, &mut chunk)?;
        if n == 0 {
            break;
        }
        let mut rev = chunk;
        rev[..n].reverse();
        tariff::body_write(&rev[..n])?;
        offset += n;
    }
    Ok(Status::Ok)
}

tariff::plugin! {
    name: "stateless",
    version: "0.0.1",
    init: setup,
    free_call: free_call,
    transform: transform,
}

#[test]
fn info_lists_the_kinds_given() {
    assert_eq!(
        TARIFF_INFO,
        r#"{"name":"stateless","version":"0.0.1","abi_minor":0,"kinds":["free_call","transform"],"needs_body":false}"#
    );
}

#[test]
fn init_and_calls() {
    let out = mock::init(None, tariff_init);
    assert_eq!(out.status, Status::Error);
    assert_eq!(
        out.fail,
        Some((tariff::code::FAILED_PRECONDITION, "config required".to_string()))
    );
    assert_eq!(mock::init(Some(b"{}"), tariff_init).status, Status::Ok);
    assert_eq!(Request::free_call().run(tariff_free_call).free_call, Some((true, 0)));
    let out = Request::transform().body(b"abcde".to_vec()).run(tariff_transform);
    assert_eq!(out.body.as_deref(), Some(&b"badce"[..]));
}
