// Package chaintest deploys and drives the real SingularityNET contracts
// (SingularityNetToken, MultiPartyEscrow, Registry) for tests and for the
// local-network demo. It works on go-ethereum's in-process simulated chain
// (see NewSim) and on any JSON-RPC chain (see Deploy with ReceiptWaiter).
//
// The contract artifacts come from the npm packages installed by `make deps`;
// only this test/demo package needs them. The daemon itself embeds the few
// ABI fragments it uses and never reads node_modules.
package chaintest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// EnvContractsDir names a node_modules directory holding the contract
// packages; it overrides the lookup next to go.mod.
const EnvContractsDir = "TARIFF_CONTRACTS_DIR"

// ErrArtifactsNotFound means the npm contract packages are not installed.
var ErrArtifactsNotFound = errors.New("contract artifacts not found: run `make deps` (npm ci) or set " + EnvContractsDir)

const (
	platformPkg = "singularitynet-platform-contracts"
	tokenPkg    = "singularitynet-token-contracts"
)

// Artifact is one contract's parsed ABI and creation bytecode.
type Artifact struct {
	Name     string
	ABI      abi.ABI
	Bytecode []byte
}

// Artifacts are the three contracts a SingularityNET deployment needs.
type Artifacts struct {
	Token    Artifact
	MPE      Artifact
	Registry Artifact
}

// ContractsDir returns the node_modules directory holding the contract
// packages: $TARIFF_CONTRACTS_DIR, else node_modules next to the go.mod found
// by walking up from the working directory (tests run in their package
// directory, the demo anywhere inside the checkout).
func ContractsDir() (string, error) {
	if dir := os.Getenv(EnvContractsDir); dir != "" {
		return checkContractsDir(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locate contract artifacts: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return checkContractsDir(filepath.Join(dir, "node_modules"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w (no go.mod above %s)", ErrArtifactsNotFound, wd)
		}
		dir = parent
	}
}

func checkContractsDir(dir string) (string, error) {
	for _, pkg := range []string{platformPkg, tokenPkg} {
		if _, err := os.Stat(filepath.Join(dir, pkg)); err != nil {
			return "", fmt.Errorf("%w (%s missing in %s)", ErrArtifactsNotFound, pkg, dir)
		}
	}
	return dir, nil
}

// LoadArtifacts locates (see ContractsDir) and loads the contract artifacts.
func LoadArtifacts() (*Artifacts, error) {
	dir, err := ContractsDir()
	if err != nil {
		return nil, err
	}
	return LoadArtifactsFrom(dir)
}

// LoadArtifactsFrom loads the contract artifacts from a node_modules directory.
func LoadArtifactsFrom(nodeModules string) (*Artifacts, error) {
	var (
		arts Artifacts
		err  error
	)
	if arts.Token, err = loadArtifact(filepath.Join(nodeModules, tokenPkg), "SingularityNetToken"); err != nil {
		return nil, err
	}
	if arts.MPE, err = loadArtifact(filepath.Join(nodeModules, platformPkg), "MultiPartyEscrow"); err != nil {
		return nil, err
	}
	if arts.Registry, err = loadArtifact(filepath.Join(nodeModules, platformPkg), "Registry"); err != nil {
		return nil, err
	}
	return &arts, nil
}

// loadArtifact reads <pkg>/abi/<name>.json (a JSON array) and
// <pkg>/bytecode/<name>.json (a JSON string "0x…").
func loadArtifact(pkgDir, name string) (Artifact, error) {
	abiPath := filepath.Join(pkgDir, "abi", name+".json")
	abiJSON, err := os.ReadFile(abiPath)
	if err != nil {
		return Artifact{}, fmt.Errorf("%w: %w", ErrArtifactsNotFound, err)
	}
	parsed, err := abi.JSON(strings.NewReader(string(abiJSON)))
	if err != nil {
		return Artifact{}, fmt.Errorf("parse %s: %w", abiPath, err)
	}
	binPath := filepath.Join(pkgDir, "bytecode", name+".json")
	binJSON, err := os.ReadFile(binPath)
	if err != nil {
		return Artifact{}, fmt.Errorf("%w: %w", ErrArtifactsNotFound, err)
	}
	var binHex string
	if err := json.Unmarshal(binJSON, &binHex); err != nil {
		return Artifact{}, fmt.Errorf("parse %s: %w", binPath, err)
	}
	bytecode, err := hexutil.Decode(binHex)
	if err != nil {
		return Artifact{}, fmt.Errorf("decode %s: %w", binPath, err)
	}
	if len(bytecode) == 0 {
		return Artifact{}, fmt.Errorf("%s: empty bytecode", binPath)
	}
	return Artifact{Name: name, ABI: parsed, Bytecode: bytecode}, nil
}
