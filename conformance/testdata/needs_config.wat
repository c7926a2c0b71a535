;; A plugin that needs a config: tariff_init fails (logging why) when there
;; is none. With one, it prices every call at 7 cogs.
(module
  (import "tariff_v1" "config" (func $config (param i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (import "tariff_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"needs_config\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 75)) ;; (0 << 32) | 75
  (data (i32.const 256) "needs_config: a config is required")
  (func (export "tariff_init") (result i32)
    (if (i64.lt_s (call $config (i32.const 1024) (i32.const 0)) (i64.const 0))
      (then
        (call $log (i32.const 3) (i32.const 256) (i32.const 34))
        (return (i32.const 1))))
    (i32.const 0))
  (func (export "tariff_price") (result i32)
    (call $set_price (i64.const 7))
    (i32.const 0))
)
