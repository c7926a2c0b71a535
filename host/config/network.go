package config

import (
	"slices"

	"github.com/ethereum/go-ethereum/common"
)

// Network is an entry of the built-in network table: the networks
// snet-daemon knows by name, with the SingularityNET contract addresses
// deployed there (snet-ecosystem-contracts v1.0.1).
type Network struct {
	Name    string
	ChainID uint64
	// RPCEndpoint and WSEndpoint are the defaults. They are empty for
	// public networks: their public endpoints need an API key, so the
	// operator must name an endpoint.
	RPCEndpoint, WSEndpoint string
	Registry                common.Address // zero when not deployed
	MPE                     common.Address // informational: the MPE in use is service metadata's
	Token                   common.Address // FET/ASI token, for free-call balance checks
	LegacyToken             common.Address // AGIX
}

var networks = []Network{
	{
		Name:        "local",
		ChainID:     42,
		RPCEndpoint: "http://localhost:8545",
		Registry:    common.HexToAddress("0x4e74fefa82e83e0964f0d9f53c68e03f7298a8b2"),
	},
	{
		Name:        "main",
		ChainID:     1,
		Registry:    common.HexToAddress("0x247DEbEBB766E4fA99667265A158060018D5f4F8"),
		MPE:         common.HexToAddress("0xdF8d4826E016aFA8803d94A716FEB70aD5D2B8Ac"),
		Token:       common.HexToAddress("0xaea46A60368A7bD060eec7DF8CBa43b7EF41Ad85"),
		LegacyToken: common.HexToAddress("0x5B7533812759B45C2B44C19e320ba2cD2681b542"),
	},
	{
		Name:    "goerli",
		ChainID: 5,
	},
	{
		Name:        "sepolia",
		ChainID:     11155111,
		Registry:    common.HexToAddress("0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D"),
		MPE:         common.HexToAddress("0x042d31F61c598eADcAc729B845406514521db520"),
		Token:       common.HexToAddress("0x3A54192862D1c52C8175d4912f1f778d1E3C2449"),
		LegacyToken: common.HexToAddress("0xf703b9aB8931B6590CFc95183be4fEf278732016"),
	},
}

// Networks returns the built-in network table.
func Networks() []Network { return slices.Clone(networks) }

// LookupNetwork returns the built-in network called name.
func LookupNetwork(name string) (Network, bool) {
	for _, n := range networks {
		if n.Name == name {
			return n, true
		}
	}
	return Network{}, false
}

// NetworkByChainID returns the built-in network with the given chain id.
func NetworkByChainID(id uint64) (Network, bool) {
	for _, n := range networks {
		if n.ChainID == id {
			return n, true
		}
	}
	return Network{}, false
}

func networkNames() []string {
	out := make([]string, len(networks))
	for i, n := range networks {
		out[i] = n.Name
	}
	return out
}
