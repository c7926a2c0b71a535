;; A correct plugin of all three kinds, which the suite must pass with or
;; without vectors (testdata/good.vectors.json).
;;
;; tariff_price: metadata x-units (decimal, at most 1000000) gives the price,
;; 10 cogs a unit; another value is DENY InvalidArgument. Without it:
;; 10 for /example_service.Calculator/add, 20 for another method, PASS
;; without a method or with one over 128 KiB.
;; tariff_free_call: allowed while FREE_CALLS_USED < FREE_CALLS_ALLOWED
;; (default 5), else DENY ResourceExhausted.
;; tariff_transform: sets x-plan to "free" for free calls, else "paid";
;; the body is forwarded unchanged.
;;
;; Strings are read the careful way: into a 16-byte buffer first, then again
;; with the full length if it did not fit (the retry path).
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "input_u64" (func $input_u64 (param i32) (result i64)))
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "tariff_v1" "set_free_call" (func $set_free_call (param i32 i64)))
  (import "tariff_v1" "meta_set" (func $meta_set (param i32 i32 i32 i32) (result i32)))
  (import "tariff_v1" "fail" (func $fail (param i32 i32 i32)))
  (memory (export "memory") 3)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"good\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\",\"free_call\",\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 110)) ;; (0 << 32) | 110
  (data (i32.const 256) "x-units")
  (data (i32.const 272) "/example_service.Calculator/add")
  (data (i32.const 320) "x-plan")
  (data (i32.const 336) "free")
  (data (i32.const 344) "paid")
  (data (i32.const 352) "free-call")
  (data (i32.const 400) "x-units: not a number")
  (data (i32.const 448) "no free calls left")

  ;; The buffer: [65536, 196608), 128 KiB.
  (global $buf i32 (i32.const 65536))
  (global $bufLen i64 (i64.const 131072))

  ;; $read reads string field $f into $buf and returns its length, or a
  ;; negative number: -1 absent, -2 not available, -3 longer than $buf.
  (func $read (param $f i32) (result i64)
    (local $n i64)
    (local.set $n (call $input (local.get $f) (global.get $buf) (i32.const 16)))
    (if (i64.le_s (local.get $n) (i64.const 16)) (then (return (local.get $n))))
    (if (i64.gt_s (local.get $n) (global.get $bufLen)) (then (return (i64.const -3))))
    (call $input (local.get $f) (global.get $buf) (i32.wrap_i64 (local.get $n))))

  ;; $atoi parses the decimal digits at [p, p+n); -1 when empty or not digits.
  (func $atoi (param $p i32) (param $n i32) (result i64)
    (local $v i64) (local $c i32) (local $end i32)
    (if (i32.eqz (local.get $n)) (then (return (i64.const -1))))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (if (i32.gt_u (local.get $c) (i32.const 9)) (then (return (i64.const -1))))
        (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
        (if (i64.gt_u (local.get $v) (i64.const 1000000)) (then (return (i64.const -1))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $v))

  ;; $eq compares n bytes at a and b.
  (func $eq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $no
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $no (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func (export "tariff_price") (result i32)
    (local $n i64) (local $v i64)
    (local.set $n (call $meta (i32.const 256) (i32.const 7) (i32.const 0) (global.get $buf) (i32.const 16)))
    (if (i64.ge_s (local.get $n) (i64.const 0))
      (then
        (local.set $v (i64.const -1))
        (if (i64.le_s (local.get $n) (i64.const 16))
          (then (local.set $v (call $atoi (global.get $buf) (i32.wrap_i64 (local.get $n))))))
        (if (i64.lt_s (local.get $v) (i64.const 0))
          (then
            (call $fail (i32.const 3) (i32.const 400) (i32.const 21))
            (return (i32.const 2))))
        (call $set_price (i64.mul (local.get $v) (i64.const 10)))
        (return (i32.const 0))))
    (local.set $n (call $read (i32.const 1)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (i32.const 1))))
    (if (i32.and
          (i64.eq (local.get $n) (i64.const 31))
          (call $eq (global.get $buf) (i32.const 272) (i32.const 31)))
      (then (call $set_price (i64.const 10)))
      (else (call $set_price (i64.const 20))))
    (i32.const 0))

  (func (export "tariff_free_call") (result i32)
    (local $used i64) (local $allowed i64)
    (local.set $used (call $input_u64 (i32.const 9)))
    (if (i64.lt_s (local.get $used) (i64.const 0)) (then (local.set $used (i64.const 0))))
    (local.set $allowed (call $input_u64 (i32.const 10)))
    (if (i64.lt_s (local.get $allowed) (i64.const 0)) (then (local.set $allowed (i64.const 5))))
    (if (i64.lt_u (local.get $used) (local.get $allowed))
      (then
        (call $set_free_call (i32.const 1) (i64.sub (i64.sub (local.get $allowed) (local.get $used)) (i64.const 1)))
        (return (i32.const 0))))
    (call $fail (i32.const 8) (i32.const 448) (i32.const 18))
    (i32.const 2))

  (func (export "tariff_transform") (result i32)
    (local $n i64) (local $plan i32)
    (local.set $plan (i32.const 344))
    (local.set $n (call $read (i32.const 6)))
    (if (i32.and
          (i64.eq (local.get $n) (i64.const 9))
          (call $eq (global.get $buf) (i32.const 352) (i32.const 9)))
      (then (local.set $plan (i32.const 336))))
    (if (call $meta_set (i32.const 320) (i32.const 6) (local.get $plan) (i32.const 4))
      (then (return (i32.const -1))))
    (i32.const 0))
)
