;; Calls one host accessor chosen by metadata and reports the answer, to test
;; the accessors' semantics. All three kinds run the same probe:
;;   "x-op" first byte: i input(a, buf, b)      u input_u64(a)
;;                      m meta(x-name, a, buf, b) k meta_keys(buf, b)
;;                      y body(a, buf, b)       c config(buf, b)
;;                      P input(1, a, b): a raw pointer
;;                      s meta_set(x-name, x-val) w body_write(buf, a)
;;   "x-a", "x-b": decimal arguments (default 0); buf is at 8192.
;; pricing: set_price(answer); free_call: set_free_call(1, answer);
;; transform: writes the answer as 8 little-endian bytes, then the buffer's
;; first min(answer, b) bytes, as the new body.
;; tariff_init checks that request accessors answer -2 during init.
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "input_u64" (func $input_u64 (param i32) (result i64)))
  (import "tariff_v1" "meta" (func $meta (param i32 i32 i32 i32 i32) (result i64)))
  (import "tariff_v1" "meta_keys" (func $meta_keys (param i32 i32) (result i64)))
  (import "tariff_v1" "body" (func $body (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "config" (func $config (param i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "tariff_v1" "set_free_call" (func $set_free_call (param i32 i64)))
  (import "tariff_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (import "tariff_v1" "meta_set" (func $meta_set (param i32 i32 i32 i32) (result i32)))
  (import "tariff_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"probe\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\",\"free_call\",\"transform\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 111)) ;; (0 << 32) | 111
  (data (i32.const 512) "x-op")
  (data (i32.const 520) "x-a")
  (data (i32.const 528) "x-b")
  (data (i32.const 536) "x-name")
  (data (i32.const 544) "x-val")
  (data (i32.const 560) "probe started")

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

  ;; $num reads a decimal metadata value; 0 when absent.
  (func $num (param $name i32) (param $len i32) (result i64)
    (local $n i64)
    (local.set $n (call $meta (local.get $name) (local.get $len) (i32.const 0) (i32.const 7000) (i32.const 32)))
    (if (i64.lt_s (local.get $n) (i64.const 1)) (then (return (i64.const 0))))
    (if (i64.gt_s (local.get $n) (i64.const 32)) (then (return (i64.const 0))))
    (call $atoi (i32.const 7000) (i32.wrap_i64 (local.get $n))))

  ;; $str reads a metadata value into [at, at+64) and returns its length (0 when absent).
  (func $str (param $name i32) (param $len i32) (param $at i32) (result i32)
    (local $n i64)
    (local.set $n (call $meta (local.get $name) (local.get $len) (i32.const 0) (local.get $at) (i32.const 64)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (i32.const 0))))
    (if (i64.gt_s (local.get $n) (i64.const 64)) (then (return (i32.const 0))))
    (i32.wrap_i64 (local.get $n)))

  (func (export "tariff_init") (result i32)
    (if (i64.ne (call $input (i32.const 1) (i32.const 0) (i32.const 0)) (i64.const -2)) (then (return (i32.const 10))))
    (if (i64.ne (call $input_u64 (i32.const 11)) (i64.const -2)) (then (return (i32.const 11))))
    (if (i64.ne (call $meta_keys (i32.const 0) (i32.const 0)) (i64.const -2)) (then (return (i32.const 12))))
    (if (i64.ne (call $body (i32.const 0) (i32.const 0) (i32.const 0)) (i64.const -2)) (then (return (i32.const 13))))
    (if (i32.ne (call $body_write (i32.const 0) (i32.const 0)) (i32.const -2)) (then (return (i32.const 14))))
    (call $log (i32.const 1) (i32.const 560) (i32.const 13))
    (i32.const 0))

  (func $probe (result i64)
    (local $op i32) (local $a i32) (local $b i32) (local $nl i32) (local $vl i32)
    (drop (call $meta (i32.const 512) (i32.const 4) (i32.const 0) (i32.const 600) (i32.const 1)))
    (local.set $op (i32.load8_u (i32.const 600)))
    (local.set $a (i32.wrap_i64 (call $num (i32.const 520) (i32.const 3))))
    (local.set $b (i32.wrap_i64 (call $num (i32.const 528) (i32.const 3))))
    (local.set $nl (call $str (i32.const 536) (i32.const 6) (i32.const 7100)))
    (local.set $vl (call $str (i32.const 544) (i32.const 5) (i32.const 7200)))
    (if (i32.eq (local.get $op) (i32.const 105)) ;; i
      (then (return (call $input (local.get $a) (i32.const 8192) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 117)) ;; u
      (then (return (call $input_u64 (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 109)) ;; m
      (then (return (call $meta (i32.const 7100) (local.get $nl) (local.get $a) (i32.const 8192) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 107)) ;; k
      (then (return (call $meta_keys (i32.const 8192) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 121)) ;; y
      (then (return (call $body (local.get $a) (i32.const 8192) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 99)) ;; c
      (then (return (call $config (i32.const 8192) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 80)) ;; P
      (then (return (call $input (i32.const 1) (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 115)) ;; s
      (then (return (i64.extend_i32_s (call $meta_set (i32.const 7100) (local.get $nl) (i32.const 7200) (local.get $vl))))))
    (if (i32.eq (local.get $op) (i32.const 119)) ;; w
      (then (return (i64.extend_i32_s (call $body_write (i32.const 8192) (local.get $a))))))
    (i64.const -100))

  (func (export "tariff_price") (result i32)
    (call $set_price (call $probe))
    (i32.const 0))
  (func (export "tariff_free_call") (result i32)
    (call $set_free_call (i32.const 1) (call $probe))
    (i32.const 0))
  (func (export "tariff_transform") (result i32)
    (local $r i64) (local $n i32) (local $b i32)
    (local.set $r (call $probe))
    (i64.store (i32.const 7300) (local.get $r))
    (drop (call $body_write (i32.const 7300) (i32.const 8)))
    (local.set $b (i32.wrap_i64 (call $num (i32.const 528) (i32.const 3))))
    (local.set $n (local.get $b))
    (if (i64.lt_s (local.get $r) (i64.extend_i32_u (local.get $n))) (then (local.set $n (i32.wrap_i64 (local.get $r)))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (local.set $n (i32.const 0))))
    (drop (call $body_write (i32.const 8192) (local.get $n)))
    (i32.const 0))
)
