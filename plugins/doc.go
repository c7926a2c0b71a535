// Package plugins runs sandboxed WebAssembly plugins (ABI tariff_v1) with
// wazero. It knows nothing about payments.
package plugins
