;; A pricing plugin: price per metadata value or per method.
;;   metadata "x-price" (decimal)   that price; "" is OK without set_price (an
;;                                  ERROR: missing output); not digits: status -1
;;   /calc.Calculator/add           10 cogs
;;   /calc.Calculator/echo          one cog per byte of the request (BODY_LEN)
;;   any other method               PASS: the price table decides
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "input_u64" (func $input_u64 (param i32) (result i64)))
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"tiered\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 88)) ;; (0 << 32) | 88
  (data (i32.const 256) "x-price")
  (data (i32.const 272) "/calc.Calculator/add")
  (data (i32.const 304) "/calc.Calculator/echo")

  ;; $atoi parses the decimal digits at [p, p+n); -1 when not digits.
  (func $atoi (param $p i32) (param $n i32) (result i64)
    (local $v i64) (local $c i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (if (i32.gt_u (local.get $c) (i32.const 9)) (then (return (i64.const -1))))
        (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
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
    (local.set $n (call $meta (i32.const 256) (i32.const 7) (i32.const 0) (i32.const 2048) (i32.const 32)))
    (if (i64.ge_s (local.get $n) (i64.const 0))
      (then
        (if (i64.eqz (local.get $n)) (then (return (i32.const 0))))
        (if (i64.gt_s (local.get $n) (i64.const 32)) (then (return (i32.const -1))))
        (local.set $v (call $atoi (i32.const 2048) (i32.wrap_i64 (local.get $n))))
        (if (i64.lt_s (local.get $v) (i64.const 0)) (then (return (i32.const -1))))
        (call $set_price (local.get $v))
        (return (i32.const 0))))
    (local.set $n (call $input (i32.const 1) (i32.const 4096) (i32.const 256)))
    (if (i32.and (i64.eq (local.get $n) (i64.const 20))
                 (call $eq (i32.const 4096) (i32.const 272) (i32.const 20)))
      (then (call $set_price (i64.const 10)) (return (i32.const 0))))
    (if (i32.and (i64.eq (local.get $n) (i64.const 21))
                 (call $eq (i32.const 4096) (i32.const 304) (i32.const 21)))
      (then (call $set_price (call $input_u64 (i32.const 8))) (return (i32.const 0))))
    (i32.const 1))
)
