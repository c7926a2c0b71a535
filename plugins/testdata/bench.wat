;; For benchmarks: tariff_price reads the method N times (N from the config,
;; a JSON number, default 0), then sets price 1.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "config" (func $config (param i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bench\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 87)) ;; (0 << 32) | 87

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
  (global $reads (mut i32) (i32.const 0))
  (func (export "tariff_init") (result i32)
    (local $n i64)
    (local.set $n (call $config (i32.const 1024) (i32.const 32)))
    (if (i64.gt_s (local.get $n) (i64.const 0))
      (then (global.set $reads (i32.wrap_i64 (call $atoi (i32.const 1024) (i32.wrap_i64 (local.get $n)))))))
    (i32.const 0))
  (func (export "tariff_price") (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $reads)))
        (drop (call $input (i32.const 1) (i32.const 4096) (i32.const 256)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $set_price (i64.const 1))
    (i32.const 0))
)
