;; Not hostile, but suspect: a WASI reactor whose price is the hour of the
;; WASI realtime clock. In tariffd the clock is a constant, so the price
;; never changes, and it passes; the report warns that the answers follow
;; the clock (determinism.environment).
(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"bad\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 66)) ;; (0 << 32) | 66
  (func (export "tariff_price") (result i32)
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 1024)))
    ;; (ns / 3600e9) % 24
    (call $set_price (i64.add (i64.rem_u (i64.div_u (i64.load (i32.const 1024)) (i64.const 3600000000000)) (i64.const 24)) (i64.const 1)))
    (i32.const 0))
)
