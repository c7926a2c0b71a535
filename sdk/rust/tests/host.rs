//! The readers and outputs against the mock host, which follows tariffd's
//! host rules.

use tariff::mock::{self, Request};
use tariff::{code, Error, Level, PaymentType, Status, StrField, U64Field};

const MUL: &str = "/example_service.Calculator/mul";

#[test]
fn string_fields_and_the_retry_path() {
    let long = format!("/pkg.Service/{}", "M".repeat(300)); // longer than the first buffer
    let out = Request::pricing().method(&long).caller("0xAbC").run(|| {
        assert_eq!(tariff::method().unwrap().as_deref(), Some(long.as_str()));
        assert_eq!(tariff::caller().unwrap().as_deref(), Some("0xAbC"));
        assert_eq!(tariff::service_id().unwrap(), None); // absent is not an error

        let mut small = [0u8; 8];
        assert_eq!(
            tariff::input_into(StrField::Method, &mut small),
            Err(Error::TooSmall { needed: long.len() })
        );
        assert_eq!(small, [0u8; 8], "nothing is written when the value does not fit");
        assert_eq!(
            tariff::input_into(StrField::Method, &mut []),
            Err(Error::TooSmall { needed: long.len() }),
            "an empty buffer asks for the length"
        );
        let mut buf = vec![0u8; long.len()];
        assert_eq!(
            tariff::input_into(StrField::Method, &mut buf).unwrap(),
            Some(long.as_bytes())
        );
        Status::Pass
    });
    assert_eq!(out.status, Status::Pass);
}

#[test]
fn fields_by_kind() {
    Request::pricing()
        .free_call_user_id("u")
        .free_calls_used(3)
        .channel_id(9)
        .run(|| {
            assert_eq!(tariff::free_call_user_id(), Err(Error::Unavailable));
            assert_eq!(tariff::free_calls_used(), Err(Error::Unavailable));
            assert_eq!(tariff::channel_id(), Ok(Some(9)));
            Status::Pass
        });
    Request::free_call()
        .free_call_user_id("")
        .free_calls_used(3)
        .channel_id(9)
        .run(|| {
            assert_eq!(
                tariff::free_call_user_id().unwrap().as_deref(),
                Some(""),
                "empty is not absent"
            );
            assert_eq!(tariff::free_calls_used(), Ok(Some(3)));
            assert_eq!(tariff::free_calls_allowed(), Ok(None));
            assert_eq!(tariff::channel_id(), Err(Error::Unavailable));
            Status::Pass
        });
    Request::transform()
        .request_time_unix_ms(u64::MAX)
        .body(vec![1, 2, 3])
        .run(|| {
            assert_eq!(tariff::request_time_unix_ms(), Ok(None), "above 2^63-1 reads as absent");
            assert_eq!(tariff::body_len(), Ok(3));
            assert_eq!(tariff::input_u64(U64Field::BodyLen), Ok(Some(3)));
            Status::Pass
        });
}

#[test]
fn unknown_field_ids_are_absent() {
    Request::pricing().method(MUL).run(|| {
        let mut buf = [0u8; 64];
        assert_eq!(unsafe { tariff::raw::input(99, buf.as_mut_ptr(), 64) }, -1);
        assert_eq!(
            unsafe { tariff::raw::input(8, buf.as_mut_ptr(), 64) },
            -1,
            "numeric id to input"
        );
        assert_eq!(unsafe { tariff::raw::input_u64(1) }, -1, "string id to input_u64");
        assert_eq!(unsafe { tariff::raw::input_u64(99) }, -1);
        Status::Pass
    });
}

#[test]
fn invalid_utf8() {
    Request::pricing().string(StrField::Method, [0xff, 0xfe, b'/']).run(|| {
        assert_eq!(tariff::method(), Err(Error::Utf8));
        assert_eq!(tariff::input(StrField::Method), Ok(Some(vec![0xff, 0xfe, b'/'])));
        Status::Pass
    });
}

#[test]
fn payment_type() {
    for (s, want) in [
        ("escrow", PaymentType::Escrow),
        ("prepaid-call", PaymentType::PrepaidCall),
        ("free-call", PaymentType::FreeCall),
        ("train-call", PaymentType::TrainCall),
        ("barter", PaymentType::Other),
        ("a-payment-type-longer-than-the-buffer", PaymentType::Other),
    ] {
        Request::pricing().payment_type(s).run(|| {
            assert_eq!(tariff::payment_type(), Ok(Some(want)), "{}", s);
            Status::Pass
        });
    }
    Request::pricing().run(|| {
        assert_eq!(tariff::payment_type(), Ok(None));
        Status::Pass
    });
}

#[test]
fn metadata() {
    let bin = [0u8, 159, 146, 150];
    Request::pricing()
        .meta("X-Tier", "gold")
        .meta("x-tier", "silver")
        .meta("a-bin", bin)
        .meta("big", "v".repeat(1000))
        .run(|| {
            assert_eq!(tariff::meta_string("x-tier").unwrap().as_deref(), Some("gold"));
            assert_eq!(
                tariff::meta_string("X-TIER").unwrap().as_deref(),
                Some("gold"),
                "names are lowercased"
            );
            assert_eq!(tariff::meta_at("x-tier", 1).unwrap(), Some(b"silver".to_vec()));
            assert_eq!(tariff::meta_at("x-tier", 2).unwrap(), None);
            assert_eq!(
                tariff::meta_values("x-tier").unwrap(),
                vec![b"gold".to_vec(), b"silver".to_vec()]
            );
            assert_eq!(
                tariff::meta("a-bin").unwrap(),
                Some(bin.to_vec()),
                "-bin values are raw bytes"
            );
            assert_eq!(tariff::meta("big").unwrap().map(|v| v.len()), Some(1000));
            assert_eq!(tariff::meta("none").unwrap(), None);
            assert_eq!(tariff::meta_keys().unwrap(), vec!["a-bin", "big", "x-tier"]);

            let mut buf = [0u8; 4];
            assert_eq!(tariff::meta_into("x-tier", 0, &mut buf), Ok(Some(&b"gold"[..])));
            assert_eq!(
                tariff::meta_into("x-tier", 1, &mut buf),
                Err(Error::TooSmall { needed: 6 })
            );
            let mut keys = [0u8; 64];
            let keys = tariff::meta_keys_into(&mut keys).unwrap();
            assert_eq!(
                tariff::split_keys(keys).collect::<Vec<_>>(),
                vec![&b"a-bin"[..], b"big", b"x-tier"]
            );
            Status::Pass
        });
    Request::pricing().run(|| {
        assert_eq!(tariff::meta_keys().unwrap(), Vec::<String>::new());
        Status::Pass
    });
}

#[test]
fn body_needs_the_kind_or_needs_body() {
    Request::pricing().body(vec![7; 10]).run(|| {
        assert_eq!(tariff::body(), Err(Error::Unavailable));
        assert_eq!(tariff::body_len(), Ok(10), "the length is always readable");
        Status::Pass
    });
    Request::pricing().needs_body(true).body(vec![7; 10]).run(|| {
        assert_eq!(tariff::body(), Ok(vec![7; 10]));
        Status::Pass
    });
}

#[test]
fn body_in_chunks() {
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let want = body.clone();
    Request::transform().body(body).run(move || {
        assert_eq!(tariff::body().unwrap(), want);
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut offset = 0;
        loop {
            let n = tariff::body_chunk(offset, &mut chunk).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
            offset += n;
        }
        assert_eq!(got, want);
        assert_eq!(tariff::body_chunk(want.len() + 5, &mut chunk), Ok(0), "past the end");
        assert_eq!(tariff::body_chunk(0, &mut []), Ok(0));
        Status::Pass
    });
    Request::transform().run(|| {
        assert_eq!(tariff::body(), Ok(Vec::new()));
        Status::Pass
    });
}

#[test]
fn config_in_every_phase() {
    let cfg = br#"{"base": 10}"#;
    let got = mock::with_config(Some(cfg), || {
        assert_eq!(tariff::method(), Err(Error::Unavailable), "no request during init");
        assert_eq!(tariff::meta("x"), Err(Error::Unavailable));
        tariff::config()
    });
    assert_eq!(got, Ok(Some(cfg.to_vec())));
    Request::pricing().run(|| {
        assert_eq!(tariff::config(), Ok(Some(cfg.to_vec())), "config stays for the calls");
        let mut buf = [0u8; 4];
        assert_eq!(
            tariff::config_into(&mut buf),
            Err(Error::TooSmall { needed: cfg.len() })
        );
        Status::Pass
    });
    assert_eq!(mock::with_config(None, tariff::config), Ok(None));
}

#[test]
fn outputs_only_for_their_kind() {
    let out = Request::free_call().run(|| {
        tariff::set_price(5);
        tariff::set_free_call(true, u64::MAX);
        assert_eq!(tariff::body_write(b"x"), Err(Error::Unavailable));
        assert_eq!(tariff::meta_set("x-a", b"1"), Err(Error::Unavailable));
        Status::Ok
    });
    assert_eq!(out.price, None);
    assert_eq!(out.free_call, Some((true, i64::MAX as u64)));
    assert_eq!(out.body, None);
    assert_eq!(out.host_error, None);

    let out = Request::pricing().run(|| {
        tariff::set_price(u64::MAX);
        Status::Ok
    });
    assert_eq!(out.price, Some(u64::MAX), "prices are unsigned 64-bit");
}

#[test]
fn ok_without_the_output_is_an_error_for_the_host() {
    let out = Request::pricing().run(|| Status::Ok);
    assert_eq!(out.status, Status::Ok);
    assert_eq!(out.host_error.as_deref(), Some("returned OK without calling set_price"));
    let out = Request::free_call().run(|| Status::Ok);
    assert!(out.host_error.is_some());
    let out = Request::transform().run(|| Status::Ok);
    assert_eq!(out.host_error, None, "a transform may change nothing");
}

#[test]
fn transform_outputs() {
    let out = Request::transform()
        .body(b"hello".to_vec())
        .run(|| -> Result<Status, Error> {
            let b = tariff::body()?;
            tariff::body_write(&b.to_ascii_uppercase())?;
            tariff::body_write(b"!")?;
            tariff::meta_set("x-upper", b"1")?;
            tariff::meta_set("x-upper", b"2")?;
            for bad in ["snet-payment-type", "grpc-timeout", ":authority", "X-Upper", "", "a b"] {
                assert_eq!(tariff::meta_set(bad, b"v"), Err(Error::Refused), "{:?}", bad);
            }
            Ok(Status::Ok)
        });
    assert_eq!(out.status, Status::Ok);
    assert_eq!(out.body.as_deref(), Some(&b"HELLO!"[..]));
    assert_eq!(
        out.meta,
        vec![
            ("x-upper".to_string(), b"1".to_vec()),
            ("x-upper".to_string(), b"2".to_vec())
        ]
    );
    assert_eq!(out.host_error, None);

    let out = Request::transform().run(|| tariff::body_write(&[]).map(|_| Status::Ok));
    assert_eq!(out.body, Some(Vec::new()), "an empty write replaces the body");
}

#[test]
fn body_write_over_the_cap() {
    let out = Request::transform().body_limit(10).run(|| {
        assert_eq!(tariff::body_write(&[1; 8]), Ok(()));
        assert_eq!(tariff::body_write(&[1; 3]), Err(Error::Refused));
        assert_eq!(tariff::body_write(&[1; 1]), Err(Error::Refused), "the call has failed");
        Status::Ok
    });
    assert!(out.host_error.unwrap().contains("over the limit of 10 bytes"));
}

#[test]
fn deny_and_fail() {
    let out = Request::pricing().run(|| tariff::deny(code::RESOURCE_EXHAUSTED, "quota"));
    assert_eq!(out.status, Status::Deny);
    assert_eq!(out.fail, Some((code::RESOURCE_EXHAUSTED, "quota".to_string())));

    let long = "é".repeat(1000); // 2000 bytes
    let out = Request::pricing().run(|| tariff::deny(99, &long));
    let (code, msg) = out.fail.unwrap();
    assert_eq!(
        code,
        code::PERMISSION_DENIED,
        "codes outside 1..=16 become PermissionDenied"
    );
    assert_eq!(msg.len(), 1024, "cut at 1 KiB, at a character boundary");
    assert!(msg.chars().all(|c| c == 'é'));
}

#[test]
fn logs() {
    let out = Request::pricing().run(|| {
        tariff::debug("d");
        tariff::info("i");
        tariff::warn("w");
        tariff::error("e");
        for _ in 0..30 {
            tariff::log(Level::Info, "again");
        }
        Status::Pass
    });
    assert_eq!(&out.messages()[..4], &["d", "i", "w", "e"]);
    assert_eq!(out.logs[3].level, Level::Error);
    assert_eq!(out.logs.len(), mock::LOG_LINES);
    assert_eq!(out.logs_dropped, 34 - mock::LOG_LINES);
}

#[test]
fn statuses() {
    assert_eq!(
        Request::pricing().run(|| 7).status,
        Status::Error,
        "unknown codes are ERROR"
    );
    assert_eq!(Request::pricing().run(|| -5).code, -5);
    let out = Request::pricing().run(|| -> Result<Status, Error> { Err(Error::Plugin("no luck")) });
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.messages(), vec!["no luck"], "an Err is logged");
    let out = Request::pricing().run(|| -> Result<Status, String> {
        tariff::method()?;
        Err(format!("bad method {}", 1))
    });
    assert_eq!(out.messages(), vec!["bad method 1"]);
    for s in [Status::Ok, Status::Pass, Status::Deny, Status::Error] {
        assert_eq!(Status::from_code(s.code()), s);
    }
}

#[test]
#[should_panic(expected = "outside mock::init")]
fn host_functions_need_a_phase() {
    mock::reset();
    let _ = tariff::method();
}
