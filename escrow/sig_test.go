package escrow_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/escrow"
)

// Fixed keys and constants of the wire test vectors (spec §13).
const (
	wvClientKey   = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	wvClientAddr  = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
	wvProviderKey = "8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"
	wvProvider    = "0x63FaC9201494f0bd17B9892B9fae4d52fe3BD377"
	wvFreeKey     = "aeaa9fb59c0dd868260af55ea65be077dbcaa063c067dfc0865845a0af5de84c"
	wvFreeSigner  = "0xF627CE8635cdC34b2f619FDDb4E4b61308D6BD68"
	wvMPE         = "0x042d31F61c598eADcAc729B845406514521db520"
	wvBlock       = 7000000
	wvOrg         = "snet"
	wvService     = "example-service"
	wvGroupB64    = "EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ="
	wvGroupName   = "default_group"

	// Vector 1 signature (escrow payment, channel 42, nonce 3, amount 12345).
	wvSig1 = "a33e0f3582b0b8d67d4ddd0deae6397dbab38ab256a115c5c2d0f4482c01640953b7c6e852a02c9880575932c34bf4af5359433ec2bc63d3b2f3639c790e648301"
	// Vector 8 free-call token, expiry 7172800.
	wvToken = "93808e7c07d26909adbd96da616df0b7c462aeea0048ec8d090afac9a197e94529f35ca5143e0ded48f810f523603c8e1901c872f11f0ac86292c6685f638d91015f37313732383030"
)

func wvHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func wvKey(t testing.TB, s string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.HexToECDSA(s)
	require.NoError(t, err)
	return k
}

func wvU256(v uint64) string {
	return hex.EncodeToString(common.BigToHash(new(big.Int).SetUint64(v)).Bytes())
}

func TestKeysMatchAddresses(t *testing.T) {
	for key, addr := range map[string]string{
		wvClientKey:   wvClientAddr,
		wvProviderKey: wvProvider,
		wvFreeKey:     wvFreeSigner,
	} {
		require.Equal(t, addr, crypto.PubkeyToAddress(wvKey(t, key).PublicKey).Hex())
	}
}

// TestDaemonVectors covers §13.1: signatures taken from the daemon's tests,
// whose keys we do not have, so only recovery is checked.
func TestDaemonVectors(t *testing.T) {
	row1Sig := "a4d2ae6f3edd1f7fe77e4f6f78ba18d62e6093bcae01ef86d5de902d33662fa372011287ea2d8d8436d9db8a366f43480678df25453b484c67f80941ef2c05ef01"
	row2Sig := "de4e998341307b036e460b1cc1593ddefe2e9ea261bd6c3d75967b29b2c3d0a24969b4a32b099ae2eded90bbc213ad0a159a66af6d55be7e04f724ffa52ce3cc1b"
	tests := []struct {
		name       string
		mpe        string
		msgHex     string
		keccak     string
		prefixed   string
		sig        string
		wantSigner string
		wantErr    error
	}{
		{
			name: "row 1, v=1",
			mpe:  "0xf25186b5081ff5ce73482ad761db0eb0d25abfbf",
			msgHex: "5f5f4d50455f636c61696d5f6d657373616765 f25186b5081ff5ce73482ad761db0eb0d25abfbf" +
				wvU256(0x6fd) + wvU256(0x77d) + wvU256(0x7ab7),
			keccak:     "12b3293fe2ff0a2e5cae00a6461b7a7569623987afae5134eed8021ccbe047d8",
			prefixed:   "a844e6defd97fac28d0662b8d0c985dc2a71006182f01dc94a7195a46f0e262f",
			sig:        row1Sig,
			wantSigner: "0x77D524c6e0FD652aA9A9bFcAd1d92Fe0781767dF",
		},
		{
			name:       "row 1, v=28",
			mpe:        "0xf25186b5081ff5ce73482ad761db0eb0d25abfbf",
			keccak:     "12b3293fe2ff0a2e5cae00a6461b7a7569623987afae5134eed8021ccbe047d8",
			sig:        row1Sig[:128] + "1c",
			wantSigner: "0x77D524c6e0FD652aA9A9bFcAd1d92Fe0781767dF",
		},
		{
			name:       "row 2, v=27",
			mpe:        "0x39ee715b50e78a920120c1ded58b1a47f571ab75",
			keccak:     "e9a240e27fff51dbea247c3b46b96a0350f761c5e8692f1629dfb927ba0b3efc",
			prefixed:   "dd2b7132dd708319fdc35a3b439fa43da1037f35323c891464296c82d1a2fe45",
			sig:        row2Sig,
			wantSigner: "0x6b1E951a2F9dE2480C613C1dCDDee4DD4CaE1e4e",
		},
		{
			name:       "row 2, v=0",
			mpe:        "0x39ee715b50e78a920120c1ded58b1a47f571ab75",
			keccak:     "e9a240e27fff51dbea247c3b46b96a0350f761c5e8692f1629dfb927ba0b3efc",
			sig:        row2Sig[:128] + "00",
			wantSigner: "0x6b1E951a2F9dE2480C613C1dCDDee4DD4CaE1e4e",
		},
		{
			name:    "row 3, v=0x21 gives recovery id 6",
			mpe:     "0xf25186b5081ff5ce73482ad761db0eb0d25abfbf",
			keccak:  "12b3293fe2ff0a2e5cae00a6461b7a7569623987afae5134eed8021ccbe047d8",
			sig:     row1Sig[:128] + "21",
			wantErr: escrow.ErrRecoveryID,
		},
		{
			name:    "row 1 truncated",
			mpe:     "0xf25186b5081ff5ce73482ad761db0eb0d25abfbf",
			keccak:  "12b3293fe2ff0a2e5cae00a6461b7a7569623987afae5134eed8021ccbe047d8",
			sig:     row1Sig[:128],
			wantErr: escrow.ErrSignatureLength,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := escrow.ClaimMessage(common.HexToAddress(tt.mpe),
				big.NewInt(1789), big.NewInt(1917), big.NewInt(31415))
			require.NoError(t, err)
			if tt.msgHex != "" {
				require.Equal(t, wvHex(t, tt.msgHex), msg)
			}
			require.Equal(t, tt.keccak, hex.EncodeToString(crypto.Keccak256(msg)))
			if tt.prefixed != "" {
				require.Equal(t, tt.prefixed, hex.EncodeToString(escrow.SignedHash(msg)))
			}
			sig := wvHex(t, tt.sig)
			sigCopy := bytes.Clone(sig)
			got, err := escrow.RecoverSigner(msg, sig)
			require.Equal(t, sigCopy, sig, "caller's signature must not be modified")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantSigner, got.Hex())
		})
	}
}

// TestNewVectors covers §13.2: every layout, recomputed with the fixed keys
// (RFC 6979 makes the signatures deterministic) and recovered.
func TestNewVectors(t *testing.T) {
	mpe := common.HexToAddress(wvMPE)
	client := common.HexToAddress(wvClientAddr)
	token := wvHex(t, wvToken)
	msg7 := "5f5f7072656669785f667265655f747269616c307832633735333645333630354439433136613761334437623138393865353239333936613635633233736e65746578616d706c652d73657276696365456f466d4e336e7661587066366577386a4a62495056676845354e5866597570464637506b526d567947513d00000000000000000000000000000000000000000000000000000000006acfc0"

	tests := []struct {
		name     string
		msg      func(t *testing.T) []byte
		msgHex   string // empty: not given by the spec
		msgLen   int    // 0: not checked
		keccak   string
		prefixed string // empty: not given by the spec
		key      string
		sig      string
		signer   string
	}{
		{
			name: "1 escrow payment",
			msg: func(t *testing.T) []byte {
				m, err := escrow.ClaimMessage(mpe, big.NewInt(42), big.NewInt(3), big.NewInt(12345))
				require.NoError(t, err)
				return m
			},
			msgHex:   "5f5f4d50455f636c61696d5f6d657373616765042d31f61c598eadcac729b845406514521db520000000000000000000000000000000000000000000000000000000000000002a00000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000003039",
			msgLen:   135,
			keccak:   "699940bb7199e47e22a52bfdc8516002e819a239b63823c961d3109ae51ced7c",
			prefixed: "ae87a5b8901607bb130e518d224218e02b25d1ef1e99921612bd05a0f7f35910",
			key:      wvClientKey,
			sig:      wvSig1,
			signer:   wvClientAddr,
		},
		{
			name: "2 GetChannelState",
			msg: func(t *testing.T) []byte {
				m, err := escrow.ChannelStateMessage(mpe, big.NewInt(42), wvBlock)
				require.NoError(t, err)
				return m
			},
			msgHex: "5f5f6765745f6368616e6e656c5f7374617465042d31f61c598eadcac729b845406514521db520000000000000000000000000000000000000000000000000000000000000002a00000000000000000000000000000000000000000000000000000000006acfc0",
			keccak: "655c2a8b09bcacd0433f70bc72c2da37a091d7a79723b72281b6bd2cb35f4111",
			key:    wvClientKey,
			sig:    "b9c59ef3172212ad0b946d1cfd09fde455be8a9e10a7303ccfd28e6939adf9120699b3e7ee170c220a488ed25451de5f1eb0769eb4f8f9d0c91435ddc4a043cb01",
			signer: wvClientAddr,
		},
		{
			name:   "3 list unclaimed",
			msg:    func(*testing.T) []byte { return escrow.ListUnclaimedMessage(mpe, wvBlock) },
			msgHex: "5f5f6c6973745f756e636c61696d6564042d31f61c598eadcac729b845406514521db52000000000000000000000000000000000000000000000000000000000006acfc0",
			keccak: "a357c27e06c3333f6db189dbf3dccb33e393169f2d7c92990828af3ae5acf9a2",
			key:    wvProviderKey,
			sig:    "2abca825c7acec33b06b288eddc437f0f958536b00488272083bd326f7a6ff24340be06e32e3c10737a127cea62289a19051e026be7518f194d487d59e222a8800",
			signer: wvProvider,
		},
		{
			name:   "4 list in progress",
			msg:    func(*testing.T) []byte { return escrow.ListInProgressMessage(mpe, wvBlock) },
			msgHex: hex.EncodeToString([]byte("__list_in_progress")) + "042d31f61c598eadcac729b845406514521db520" + wvU256(wvBlock),
			keccak: "a795a5de46aa908878e15123399f5be247dfa2880590dd5a4dc879ba7de62213",
			key:    wvProviderKey,
			sig:    "4ff8a1d6a8fab92529d8590449bbf386683c5c7eb362b0bb7abe1b8b5f87c09c3163a2b8fb6dc4517456d35b202ca6c904bf1b0a33f0bd1b07e4bd9af42197ef00",
			signer: wvProvider,
		},
		{
			name: "5 start claim",
			msg: func(t *testing.T) []byte {
				m, err := escrow.StartClaimMessage(mpe, big.NewInt(42), big.NewInt(3))
				require.NoError(t, err)
				return m
			},
			msgHex: "5f5f73746172745f636c61696d042d31f61c598eadcac729b845406514521db520000000000000000000000000000000000000000000000000000000000000002a0000000000000000000000000000000000000000000000000000000000000003",
			keccak: "93902a2eeff5ee2bc5a1961e47a2971a60dd50ceba5ed0d7f80fb686a60d238c",
			key:    wvProviderKey,
			sig:    "a9980e7c37aa998bfeed50afacf1562e5905454c4f8a4c0e954ca3c7eeec5638509f4ef8fcaf0a61a97a19ddb407f506b0963628a74afdac7b1035b182f6297600",
			signer: wvProvider,
		},
		{
			name: "6 start claim for multiple channels, ids unsorted",
			msg: func(t *testing.T) []byte {
				ids := []uint64{42, 7, 3}
				m := escrow.StartMultipleClaimMessage(mpe, ids, wvBlock)
				require.Equal(t, []uint64{42, 7, 3}, ids, "request ids must not be reordered")
				return m
			},
			msgHex: "5f5f5374617274436c61696d466f724d756c7469706c654368616e6e656c735f042d31f61c598eadcac729b845406514521db520" +
				wvU256(3) + wvU256(7) + wvU256(42) + wvU256(wvBlock),
			msgLen: 180,
			keccak: "93b1ce36d6a417f9d0f37267505b74414d1d92c756819f64b4c2afe990e026bb",
			key:    wvProviderKey,
			sig:    "9421b0186a85afc7a7e2022618e418d171c9e5d3e0a553ed77f27662b2832bba4b6c84757514005d6131689c6b142d4b6b1e4aeedfda4670bf5a80afacf710dc01",
			signer: wvProvider,
		},
		{
			name: "7 free-call token request",
			msg: func(*testing.T) []byte {
				return escrow.FreeCallTokenRequestMessage(wvClientAddr, "", wvOrg, wvService, wvGroupB64, wvBlock)
			},
			msgHex: msg7,
			msgLen: 156,
			keccak: "c4d3ca703d490c3203bc5cbf24c744d4437e9b187cb4c2e88ae65381dc16bb09",
			key:    wvClientKey,
			sig:    "81a029a77912a40c116c9c5ce160adaae63443b5623f63f3a655e4565a2a433d743153038f3f570be81b70aeecb672cb75170ca2e403db682db1ea42c17158f300",
			signer: wvClientAddr,
		},
		{
			name: "8 free-call token body",
			msg: func(*testing.T) []byte {
				return escrow.FreeCallTokenBody(wvOrg, wvGroupName, client, "", wvBlock+172800)
			},
			msgHex: "736e657464656661756c745f67726f75702c7536e3605d9c16a7a3d7b1898e529396a65c2300000000000000000000000000000000000000000000000000000000006d72c0",
			keccak: "9f2141cc966e9384e06f6270f63e8a5e1b607bb14b3983e41797924d08d3e6b7",
			key:    wvFreeKey,
			sig:    wvToken[:2*escrow.SignatureLength],
			signer: wvFreeSigner,
		},
		{
			name: "9 free call / GetFreeCallsAvailable",
			msg: func(*testing.T) []byte {
				return escrow.FreeCallMessage(wvClientAddr, "", wvOrg, wvService, wvGroupB64, wvBlock, token)
			},
			msgHex: msg7 + wvToken,
			msgLen: 229,
			keccak: "f2b98181a15293ede53b8dc347415e7f7a66a17ddf40799cbcc39bbddfc430ba",
			key:    wvClientKey,
			sig:    "ab3bbba4dcd56c5dd99d1c763afb9e6a0afd0939dc8e0450c18f084264eccc9142cc750d50d3d817c97d3aaf083463f54ebf8ea5593c466150e3b8716268a01501",
			signer: wvClientAddr,
		},
		{
			name:   "10 TokenService.GetToken",
			msg:    func(t *testing.T) []byte { return escrow.PrepaidTokenMessage(wvHex(t, wvSig1), wvBlock) },
			msgHex: wvSig1 + wvU256(wvBlock),
			keccak: "36ddac9f3c2975bcb92f8248a178b10e9854922529599d7aee715dc9870ec722",
			key:    wvClientKey,
			sig:    "5fbc6b887c70af5ba942824ec4f8534180e29eeccdbfc6ae9937ff3e1f4eba582d842774cb7a9dc915a8502ad564dffaf6868d5d2f0eb3e4d1cb0dd13fd4e10c00",
			signer: wvClientAddr,
		},
		{
			name:   "11 training",
			msg:    func(*testing.T) []byte { return escrow.TrainingMessage("create_model", client, wvBlock) },
			msgHex: "6372656174655f6d6f64656c2c7536e3605d9c16a7a3d7b1898e529396a65c2300000000000000000000000000000000000000000000000000000000006acfc0",
			keccak: "43c6641783e1a438728900f4b4541275e4160281e3a0b01fd7300e4243114ee6",
			key:    wvClientKey,
			sig:    "e0cb8f14bbe6c48ce4a010ade605f8944c0e95c36886a9b78e9e13ed35cb48ac5cc3edae70dcfa914c203b6561949c69ce3742a34e80f7fdd7420d47e80a945901",
			signer: wvClientAddr,
		},
		{
			name: "12 configuration",
			msg: func(*testing.T) []byte {
				return escrow.ConfigurationMessage(escrow.ConfigGetConfiguration, wvBlock)
			},
			msgHex: hex.EncodeToString([]byte("_GetConfiguration")) + wvU256(wvBlock),
			keccak: "dc4ba9a8b1e9c53d41194cd7ffe6bbd022dc89e8549b870f78f51c2fe2a73c6c",
			key:    wvProviderKey,
			sig:    "5da53a3010ff9f79289dfe5c24d3707bc3390039062dfb22a26c1d8162bf27d556db848e93683f90c8085b443c067f8053754dff42aab07f3fe75f865c1b338901",
			signer: wvProvider,
		},
		{
			name: "13 metering",
			msg: func(*testing.T) []byte {
				return escrow.MeteringMessage(wvClientAddr, wvOrg, wvService, wvGroupB64, wvBlock)
			},
			msgHex: hex.EncodeToString([]byte("_usage"+wvClientAddr+wvOrg+wvService+wvGroupB64)) + wvU256(wvBlock),
			keccak: "1ebc4e4947339829674241955490c0e68880a1a14ba51f63f3c3efbfcfd6ac79",
			key:    wvProviderKey,
			sig:    "20225b3c76141e12700c535e2d8708dac4d840363c15f0ef3e02e53a88a2eabc388944c128e7ac13abfa8378df2b0a52107a3b0f29095d236f6d23c3e26ace4701",
			signer: wvProvider,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.msg(t)
			require.Equal(t, wvHex(t, tt.msgHex), msg, "message bytes")
			if tt.msgLen != 0 {
				require.Len(t, msg, tt.msgLen)
			}
			require.Equal(t, tt.keccak, hex.EncodeToString(crypto.Keccak256(msg)), "keccak")
			want := crypto.Keccak256([]byte("\x19Ethereum Signed Message:\n32"), crypto.Keccak256(msg))
			require.Equal(t, want, escrow.SignedHash(msg), "prefixed hash")
			if tt.prefixed != "" {
				require.Equal(t, tt.prefixed, hex.EncodeToString(escrow.SignedHash(msg)))
			}

			sig, err := escrow.Sign(msg, wvKey(t, tt.key))
			require.NoError(t, err)
			require.Equal(t, tt.sig, hex.EncodeToString(sig), "deterministic signature")

			for _, v := range []byte{0, 27} {
				s := bytes.Clone(sig)
				s[64] += v
				got, err := escrow.RecoverSigner(msg, s)
				require.NoError(t, err)
				require.Equal(t, tt.signer, got.Hex())
			}
		})
	}
}

func TestFreeCallTokenVector(t *testing.T) {
	token := wvHex(t, wvToken)
	require.Len(t, token, 73)
	sig, expiry, err := escrow.ParseFreeCallToken(token)
	require.NoError(t, err)
	require.Equal(t, uint64(7172800), expiry)

	body := escrow.FreeCallTokenBody(wvOrg, wvGroupName, common.HexToAddress(wvClientAddr), "", expiry)
	signer, err := escrow.RecoverSigner(body, sig)
	require.NoError(t, err)
	require.Equal(t, wvFreeSigner, signer.Hex())

	minted, err := escrow.Sign(body, wvKey(t, wvFreeKey))
	require.NoError(t, err)
	require.Equal(t, token, escrow.FormatFreeCallToken(minted, expiry))
}

func TestU256Range(t *testing.T) {
	mpe := common.HexToAddress(wvMPE)
	maxU256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	tooBig := new(big.Int).Lsh(big.NewInt(1), 256)
	tests := []struct {
		name    string
		value   *big.Int
		wantErr bool
	}{
		{"zero", big.NewInt(0), false},
		{"max uint256", maxU256, false},
		{"2^256", tooBig, true},
		{"negative", big.NewInt(-5), true},
		{"nil", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			one := big.NewInt(1)
			// offset: where the value's 32-byte slot starts in the message.
			builders := []struct {
				name   string
				offset int
				build  func() ([]byte, error)
			}{
				{"claim id", 39, func() ([]byte, error) { return escrow.ClaimMessage(mpe, tt.value, one, one) }},
				{"claim nonce", 71, func() ([]byte, error) { return escrow.ClaimMessage(mpe, one, tt.value, one) }},
				{"claim amount", 103, func() ([]byte, error) { return escrow.ClaimMessage(mpe, one, one, tt.value) }},
				{"state id", 39, func() ([]byte, error) { return escrow.ChannelStateMessage(mpe, tt.value, 1) }},
				{"start id", 33, func() ([]byte, error) { return escrow.StartClaimMessage(mpe, tt.value, one) }},
				{"start nonce", 65, func() ([]byte, error) { return escrow.StartClaimMessage(mpe, one, tt.value) }},
			}
			for _, b := range builders {
				msg, err := b.build()
				if tt.wantErr {
					require.ErrorIs(t, err, escrow.ErrU256Range, b.name)
					require.Nil(t, msg, b.name)
					continue
				}
				require.NoError(t, err, b.name)
				require.Equal(t, tt.value.FillBytes(make([]byte, 32)), msg[b.offset:b.offset+32], b.name)
			}
		})
	}
	// The value lands right-aligned in its 32-byte slot.
	msg, err := escrow.ClaimMessage(mpe, big.NewInt(1), big.NewInt(1), maxU256)
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{0xff}, 32), msg[len(msg)-32:])
}

func TestRecoverSignerErrors(t *testing.T) {
	msg := []byte("hello")
	good, err := escrow.Sign(msg, wvKey(t, wvClientKey))
	require.NoError(t, err)
	zeroR := bytes.Clone(good)
	copy(zeroR[:32], make([]byte, 32))
	tests := []struct {
		name    string
		sig     []byte
		wantErr error
	}{
		{"empty", nil, escrow.ErrSignatureLength},
		{"64 bytes", good[:64], escrow.ErrSignatureLength},
		{"66 bytes", append(bytes.Clone(good), 0), escrow.ErrSignatureLength},
		{"v=2", append(bytes.Clone(good[:64]), 2), escrow.ErrRecoveryID},
		{"v=29", append(bytes.Clone(good[:64]), 29), escrow.ErrRecoveryID},
		{"v=255", append(bytes.Clone(good[:64]), 255), escrow.ErrRecoveryID},
		{"r=0", zeroR, escrow.ErrInvalidSignature},
		{"all zero", make([]byte, 65), escrow.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := escrow.RecoverSigner(msg, tt.sig)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	// v=54 and 55 are 0 and 1 mod 27, so they are accepted like upstream.
	s := bytes.Clone(good)
	s[64] += 54
	got, err := escrow.RecoverSigner(msg, s)
	require.NoError(t, err)
	require.Equal(t, wvClientAddr, got.Hex())
}

func TestStartMultipleClaimMessageEmpty(t *testing.T) {
	mpe := common.HexToAddress(wvMPE)
	got := escrow.StartMultipleClaimMessage(mpe, nil, 9)
	want := append(append([]byte("__StartClaimForMultipleChannels_"), mpe[:]...), wvHex(t, wvU256(9))...)
	require.Equal(t, want, got)
}

// FuzzRecoverSigner: arbitrary input never panics, and a signature made with
// Sign always recovers to the key's address, in both v forms.
func FuzzRecoverSigner(f *testing.F) {
	f.Add([]byte("hello"), wvHex(f, wvSig1), byte(1))
	f.Add([]byte{}, make([]byte, 65), byte(0))
	f.Add([]byte("x"), wvHex(f, wvSig1)[:64], byte(200))
	f.Add([]byte("x"), append(wvHex(f, wvSig1)[:64], 0x21), byte(7))
	key := wvKey(f, wvClientKey)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	f.Fuzz(func(t *testing.T, msg, sig []byte, mode byte) {
		_, _ = escrow.RecoverSigner(msg, sig)
		if mode%8 != 0 {
			return // signing is slow; round-trip one input in eight
		}
		good, err := escrow.Sign(msg, key)
		if err != nil {
			t.Fatal(err)
		}
		if mode%16 == 8 {
			good[64] += 27
		}
		got, err := escrow.RecoverSigner(msg, good)
		if err != nil || got != addr {
			t.Fatalf("round trip: got %v, %v", got, err)
		}
	})
}

func BenchmarkRecoverSigner(b *testing.B) {
	msg, err := escrow.ClaimMessage(common.HexToAddress(wvMPE), big.NewInt(42), big.NewInt(3), big.NewInt(12345))
	require.NoError(b, err)
	sig := wvHex(b, wvSig1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := escrow.RecoverSigner(msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClaimMessage(b *testing.B) {
	mpe := common.HexToAddress(wvMPE)
	id, nonce, amount := big.NewInt(42), big.NewInt(3), big.NewInt(12345)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := escrow.ClaimMessage(mpe, id, nonce, amount); err != nil {
			b.Fatal(err)
		}
	}
}
