;; A pricing plugin with one flat price, the first number in its config
;; (e.g. config = { price = 7 }), for tests that swap prices quickly.
(module
  (import "tariff_v1" "config" (func $config (param i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (global $price (mut i64) (i64.const 0))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"flat\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 86))
  ;; tariff_init: read the config at 1024 and parse its first run of digits.
  (func (export "tariff_init") (result i32)
    (local $n i32) (local $p i32) (local $c i32) (local $seen i32)
    (local.set $n (i32.wrap_i64 (call $config (i32.const 1024) (i32.const 4096))))
    (if (i32.or (i32.lt_s (local.get $n) (i32.const 1)) (i32.gt_s (local.get $n) (i32.const 4096)))
      (then (return (i32.const 1))))
    (local.set $p (i32.const 1024))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (i32.add (i32.const 1024) (local.get $n))))
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (if (i32.le_u (local.get $c) (i32.const 9))
          (then
            (local.set $seen (i32.const 1))
            (global.set $price (i64.add (i64.mul (global.get $price) (i64.const 10)) (i64.extend_i32_u (local.get $c)))))
          (else (br_if $done (local.get $seen))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.eqz (local.get $seen)))
  (func (export "tariff_price") (result i32)
    (call $set_price (global.get $price))
    (i32.const 0)))
