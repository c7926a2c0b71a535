package host_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	configpb "github.com/tariffd/tariff/proto/configuration_service"
	trainingpb "github.com/tariffd/tariff/proto/training"
	"google.golang.org/protobuf/types/known/emptypb"
)

// snet-daemon's configuration service: an operator (authentication_addresses)
// reads the settings and stops and starts the calls to the service.
func TestOperatorStopSwitch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backend := listen(t)
	go func() { _ = calculator.Serve(ctx, backend) }()
	operator, _ := crypto.ToECDSA(crypto.Keccak256([]byte("operator")))
	d, err := newDaemon(t, ctx, chainless+fmt.Sprintf(`
service_id = "calculator"
backend { endpoint = %q }
access { authentication_addresses = [%q] }
`, "http://"+backend.Addr().String(), crypto.PubkeyToAddress(operator.PublicKey).Hex()), nil)
	require.NoError(t, err)
	serveDaemon(t, ctx, d)
	conn, err := grpc.NewClient(d.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ops, calc := configpb.NewConfigurationServiceClient(conn), calculatorpb.NewCalculatorClient(conn)
	auth := func(prefix string, key []byte) *configpb.EmptyRequest {
		k, _ := crypto.ToECDSA(crypto.Keccak256(key))
		sig, err := escrow.Sign(escrow.OperatorMessage(prefix, 42), k)
		require.NoError(t, err)
		return &configpb.EmptyRequest{Auth: &configpb.CallerAuthentication{Signature: sig, CurrentBlock: 42}}
	}

	cfg, err := ops.GetConfiguration(ctx, auth("_GetConfiguration", []byte("operator")))
	require.NoError(t, err)
	require.Equal(t, "calculator", cfg.GetCurrentConfiguration()["service_id"])
	require.Equal(t, "false", cfg.GetCurrentConfiguration()["blockchain_enabled"])
	require.Len(t, cfg.GetSchema().GetDetails(), len(cfg.GetCurrentConfiguration()))

	st, err := ops.StopProcessingRequests(ctx, auth("_StopProcessingRequests", []byte("operator")))
	require.NoError(t, err)
	require.Equal(t, configpb.StatusResponse_HAS_STOPPED_PROCESSING_REQUESTS, st.GetCurrentProcessingStatus())
	_, err = calc.Add(ctx, &calculatorpb.Numbers{A: 1, B: 1})
	requireStatus(t, err, codes.Unavailable, "No requests are currently being processed, please try again later")
	st, err = ops.IsDaemonProcessingRequests(ctx, auth("_IsDaemonProcessingRequests", []byte("operator")))
	require.NoError(t, err)
	require.Equal(t, configpb.StatusResponse_HAS_STOPPED_PROCESSING_REQUESTS, st.GetCurrentProcessingStatus())

	_, err = ops.StartProcessingRequests(ctx, auth("_StartProcessingRequests", []byte("operator")))
	require.NoError(t, err)
	res, err := calc.Add(ctx, &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)
	require.Equal(t, float32(2), res.GetValue())
	st, err = ops.IsDaemonProcessingRequests(ctx, auth("_IsDaemonProcessingRequests", []byte("operator")))
	require.NoError(t, err)
	require.Equal(t, configpb.StatusResponse_IDLE, st.GetCurrentProcessingStatus())

	// Only operators, and only for the method they signed.
	stranger, _ := crypto.ToECDSA(crypto.Keccak256([]byte("stranger")))
	_, err = ops.StopProcessingRequests(ctx, auth("_StopProcessingRequests", []byte("stranger")))
	requireStatus(t, err, codes.PermissionDenied, fmt.Sprintf("unauthorized access, %s is not authorized", crypto.PubkeyToAddress(stranger.PublicKey).Hex()))
	_, err = ops.StopProcessingRequests(ctx, auth("_GetConfiguration", []byte("operator")))
	require.Equal(t, codes.PermissionDenied, grpcstatus.Code(err))
	_, err = ops.StopProcessingRequests(ctx, &configpb.EmptyRequest{})
	require.Equal(t, codes.Unauthenticated, grpcstatus.Code(err))
	_, err = ops.UpdateConfiguration(ctx, &configpb.UpdateRequest{Auth: auth("_UpdateConfiguration", []byte("operator")).GetAuth()})
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
	_, err = calc.Add(ctx, &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err, "refused operator calls changed nothing")
}

// training.Daemon is answered as snet-daemon does without training, not
// taken for a method of the service (which would ask for a payment).
func TestNoTraining(t *testing.T) {
	e := newEnv(t, 1)
	tc := trainingpb.NewDaemonClient(e.conn)
	md, err := tc.GetTrainingMetadata(context.Background(), &emptypb.Empty{})
	require.NoError(t, err)
	require.False(t, md.GetTrainingEnabled())
	_, err = tc.CreateModel(context.Background(), &trainingpb.NewModelRequest{})
	requireStatus(t, err, codes.Unimplemented, "service end point is not defined or is invalid , please contact the AI developer")
	up, err := tc.UploadAndValidate(context.Background())
	require.NoError(t, err)
	_, err = up.CloseAndRecv()
	require.Equal(t, codes.Unimplemented, grpcstatus.Code(err))
}
