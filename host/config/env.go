package config

import (
	"slices"
	"strings"
)

// EnvPrefix prefixes environment overrides: SNET_ + the upper-cased
// snet-daemon key, as snetd reads them (SNET_DAEMON_ENDPOINT,
// SNET_BLOCKCHAIN_ENABLED). They apply to top-level keys whatever the file
// format. A key whose value is an object (SNET_LOG,
// SNET_PAYMENT_CHANNEL_STORAGE_SERVER) takes a JSON object; a list key takes
// a JSON list or items separated by commas or spaces.
const EnvPrefix = "SNET_"

// decodeEnv reads the overrides through lookup, shaped as a JSON object so
// the snetd translation (aliases included) applies unchanged.
func decodeEnv(lookup func(string) (string, bool)) (*userConfig, []Warning, Errors) {
	d := &jdecoder{u: &userConfig{}}
	root := &jnode{kind: jobject}
	origins := map[string]Origin{}
	keys := make([]string, 0, len(snetdKeys)+len(deprecatedKeys))
	for k := range snetdKeys {
		keys = append(keys, k)
	}
	for k := range deprecatedKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		envName := EnvPrefix + strings.ToUpper(key)
		val, ok := lookup(envName)
		if !ok {
			continue
		}
		o := Origin{Source: "env", Key: envName}
		kind := kScalar
		if k, ok := snetdKeys[key]; ok {
			kind = k.kind
		} else if k, ok := snetdKeys[deprecatedKeys[key]]; ok {
			kind = k.kind
		}
		n := &jnode{kind: jstring, text: val}
		trimmed := strings.TrimSpace(val)
		if kind == kObject || kind == kList && strings.HasPrefix(trimmed, "[") {
			parsed, err := parseJSONValue([]byte(trimmed))
			if err != nil {
				d.fail(o, ErrSyntax, err)
				continue
			}
			n = parsed
		}
		root.members = append(root.members, jmember{key: key, val: n})
		origins[key] = o
	}
	d.origin = func(key string, _ int64) Origin {
		top, rest, nested := strings.Cut(key, ".")
		o := origins[strings.ToLower(top)]
		if nested {
			o.Key += " (" + rest + ")"
		}
		return o
	}
	d.object(root, snetdKeys, "", deprecatedKeys)
	return d.u, d.warnings, d.errs
}
