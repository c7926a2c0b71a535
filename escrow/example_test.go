package escrow_test

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tariffd/tariff/escrow"
)

// A client authorises a cumulative 12345 cogs on channel 42 at nonce 3; the
// daemon rebuilds the same message from the payment headers and recovers who
// signed it.
func Example() {
	mpe := common.HexToAddress("0x042d31F61c598eADcAc729B845406514521db520")
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		panic(err)
	}

	msg, err := escrow.ClaimMessage(mpe, big.NewInt(42), big.NewInt(3), big.NewInt(12345))
	if err != nil {
		panic(err)
	}
	sig, err := escrow.Sign(msg, key)
	if err != nil {
		panic(err)
	}

	signer, err := escrow.RecoverSigner(msg, sig)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(msg), len(sig))
	fmt.Println(signer.Hex())
	// Output:
	// 135 65
	// 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23
}
