package escrowpb_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	escrowpb "github.com/tariffd/tariff/proto/escrow"
)

// field is one row of the wire contract: number, name, kind, and whether it is
// repeated or a proto3 `optional` (explicit presence) field.
type field struct {
	num      protoreflect.FieldNumber
	name     protoreflect.Name
	kind     protoreflect.Kind
	repeated bool
	optional bool
	msg      protoreflect.FullName // element type when kind is MessageKind
}

func f(num protoreflect.FieldNumber, name protoreflect.Name, kind protoreflect.Kind) field {
	return field{num: num, name: name, kind: kind}
}

const (
	bytesK  = protoreflect.BytesKind
	stringK = protoreflect.StringKind
	uint64K = protoreflect.Uint64Kind
)

// wireMessages is the message table of the snet-daemon wire contract
// (escrow state, free-call, provider control and token services).
var wireMessages = map[protoreflect.FullName][]field{
	// PaymentChannelStateService
	"escrow.ChannelStateRequest": {
		f(1, "channel_id", bytesK),
		f(2, "signature", bytesK),
		f(3, "current_block", uint64K),
	},
	"escrow.ChannelStateReply": {
		f(1, "current_nonce", bytesK),
		f(2, "current_signed_amount", bytesK),
		f(3, "current_signature", bytesK),
		f(4, "old_nonce_signed_amount", bytesK),
		f(5, "old_nonce_signature", bytesK),
		f(6, "planned_amount", uint64K),
		f(7, "used_amount", uint64K),
	},
	// FreeCallStateService
	"escrow.GetFreeCallTokenRequest": {
		f(1, "address", stringK),
		f(2, "signature", bytesK),
		f(3, "current_block", uint64K),
		{num: 4, name: "user_id", kind: stringK, optional: true},
		{num: 5, name: "token_lifetime_in_blocks", kind: uint64K, optional: true},
	},
	"escrow.FreeCallToken": {
		f(1, "token", bytesK),
		f(2, "token_hex", stringK),
		f(3, "token_expiration_block", uint64K),
	},
	"escrow.FreeCallStateRequest": {
		f(1, "address", stringK),
		{num: 2, name: "user_id", kind: stringK, optional: true},
		f(3, "free_call_token", bytesK),
		f(4, "signature", bytesK),
		f(5, "current_block", uint64K),
	},
	"escrow.FreeCallStateReply": {
		f(1, "free_calls_available", uint64K),
	},
	// ProviderControlService
	"escrow.GetPaymentsListRequest": {
		f(1, "mpe_address", stringK),
		f(2, "current_block", uint64K),
		f(3, "signature", bytesK),
	},
	"escrow.StartClaimRequest": {
		f(1, "mpe_address", stringK),
		f(2, "channel_id", bytesK),
		f(3, "signature", bytesK),
	},
	"escrow.PaymentReply": {
		f(1, "channel_id", bytesK),
		f(2, "channel_nonce", bytesK),
		f(3, "signed_amount", bytesK),
		f(4, "signature", bytesK),
		f(5, "channel_expiry", bytesK),
	},
	"escrow.PaymentsListReply": {
		{num: 1, name: "payments", kind: protoreflect.MessageKind, repeated: true, msg: "escrow.PaymentReply"},
	},
	"escrow.StartMultipleClaimRequest": {
		f(1, "mpe_address", stringK),
		{num: 2, name: "channel_ids", kind: uint64K, repeated: true},
		f(3, "current_block", uint64K),
		f(4, "signature", bytesK),
	},
	// TokenService
	"escrow.TokenRequest": {
		f(1, "channel_id", uint64K),
		f(2, "current_nonce", uint64K),
		f(3, "signed_amount", uint64K),
		f(4, "signature", bytesK),
		f(5, "current_block", uint64K),
		f(6, "claim_signature", bytesK),
	},
	"escrow.TokenReply": {
		f(1, "channel_id", uint64K),
		f(2, "token", stringK),
		f(3, "planned_amount", uint64K),
		f(4, "used_amount", uint64K),
	},
}

// method is one row of the service table.
type method struct {
	path     string // full gRPC method name, as sent on the wire
	in, out  protoreflect.FullName
	constant string // the generated *_FullMethodName constant
}

var wireMethods = []method{
	{"/escrow.PaymentChannelStateService/GetChannelState", "escrow.ChannelStateRequest", "escrow.ChannelStateReply",
		escrowpb.PaymentChannelStateService_GetChannelState_FullMethodName},
	{"/escrow.FreeCallStateService/GetFreeCallsAvailable", "escrow.FreeCallStateRequest", "escrow.FreeCallStateReply",
		escrowpb.FreeCallStateService_GetFreeCallsAvailable_FullMethodName},
	{"/escrow.FreeCallStateService/GetFreeCallToken", "escrow.GetFreeCallTokenRequest", "escrow.FreeCallToken",
		escrowpb.FreeCallStateService_GetFreeCallToken_FullMethodName},
	{"/escrow.ProviderControlService/GetListUnclaimed", "escrow.GetPaymentsListRequest", "escrow.PaymentsListReply",
		escrowpb.ProviderControlService_GetListUnclaimed_FullMethodName},
	{"/escrow.ProviderControlService/GetListInProgress", "escrow.GetPaymentsListRequest", "escrow.PaymentsListReply",
		escrowpb.ProviderControlService_GetListInProgress_FullMethodName},
	{"/escrow.ProviderControlService/StartClaim", "escrow.StartClaimRequest", "escrow.PaymentReply",
		escrowpb.ProviderControlService_StartClaim_FullMethodName},
	{"/escrow.ProviderControlService/StartClaimForMultipleChannels", "escrow.StartMultipleClaimRequest", "escrow.PaymentsListReply",
		escrowpb.ProviderControlService_StartClaimForMultipleChannels_FullMethodName},
	{"/escrow.TokenService/GetToken", "escrow.TokenRequest", "escrow.TokenReply",
		escrowpb.TokenService_GetToken_FullMethodName},
}

var files = []protoreflect.FileDescriptor{
	escrowpb.File_proto_escrow_state_service_proto,
	escrowpb.File_proto_escrow_control_service_proto,
	escrowpb.File_proto_escrow_token_service_proto,
}

func TestFilesArePackageEscrowProto3(t *testing.T) {
	for _, fd := range files {
		require.Equal(t, protoreflect.FullName("escrow"), fd.Package(), fd.Path())
		require.Equal(t, "proto3", fd.Syntax().String(), fd.Path())
	}
}

func TestMessageFields(t *testing.T) {
	seen := map[protoreflect.FullName]bool{}
	for _, fd := range files {
		msgs := fd.Messages()
		for i := 0; i < msgs.Len(); i++ {
			md := msgs.Get(i)
			name := md.FullName()
			require.False(t, seen[name], "message %s defined twice", name)
			seen[name] = true

			want, ok := wireMessages[name]
			require.True(t, ok, "message %s (in %s) is not part of the wire contract", name, fd.Path())
			require.Zero(t, md.Messages().Len(), "%s: unexpected nested messages", name)
			require.Zero(t, md.Enums().Len(), "%s: unexpected nested enums", name)

			fields := md.Fields()
			require.Equal(t, len(want), fields.Len(), "%s: field count", name)
			// proto3 optional fields live in synthetic oneofs; there must be
			// no real ones.
			for j := 0; j < md.Oneofs().Len(); j++ {
				require.True(t, md.Oneofs().Get(j).IsSynthetic(), "%s: unexpected oneof %s", name, md.Oneofs().Get(j).Name())
			}
			for _, w := range want {
				fld := fields.ByNumber(w.num)
				require.NotNil(t, fld, "%s: no field #%d (%s)", name, w.num, w.name)
				require.Equal(t, w.name, fld.Name(), "%s #%d: name", name, w.num)
				require.Equal(t, w.kind, fld.Kind(), "%s.%s: kind", name, w.name)
				require.Equal(t, w.repeated, fld.Cardinality() == protoreflect.Repeated, "%s.%s: repeated", name, w.name)
				require.Equal(t, w.optional, fld.HasOptionalKeyword(), "%s.%s: proto3 optional", name, w.name)
				require.Equal(t, w.optional, fld.HasPresence(), "%s.%s: presence", name, w.name)
				require.False(t, fld.IsMap(), "%s.%s: map", name, w.name)
				if w.repeated && w.kind != protoreflect.MessageKind {
					// proto3 default: packed scalars, which is what upstream sends.
					require.True(t, fld.IsPacked(), "%s.%s: packed", name, w.name)
				}
				if w.kind == protoreflect.MessageKind {
					require.Equal(t, w.msg, fld.Message().FullName(), "%s.%s: element type", name, w.name)
				}
			}
		}
	}
	for name := range wireMessages {
		require.True(t, seen[name], "wire message %s is missing", name)
	}
}

func TestMethods(t *testing.T) {
	byPath := map[string]protoreflect.MethodDescriptor{}
	for _, fd := range files {
		svcs := fd.Services()
		for i := 0; i < svcs.Len(); i++ {
			sd := svcs.Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				m := sd.Methods().Get(j)
				byPath["/"+string(sd.FullName())+"/"+string(m.Name())] = m
			}
		}
	}
	require.Len(t, byPath, len(wireMethods), "number of daemon-owned escrow methods")
	for _, w := range wireMethods {
		m, ok := byPath[w.path]
		require.True(t, ok, "method %s is missing", w.path)
		require.Equal(t, w.path, w.constant, "generated constant")
		require.Equal(t, w.in, m.Input().FullName(), "%s: request type", w.path)
		require.Equal(t, w.out, m.Output().FullName(), "%s: reply type", w.path)
		require.False(t, m.IsStreamingClient(), "%s: client streaming", w.path)
		require.False(t, m.IsStreamingServer(), "%s: server streaming", w.path)
	}
}

// TestServiceDescs checks the grpc.ServiceDesc that servers register, since
// that (not the descriptor) is what routes incoming paths.
func TestServiceDescs(t *testing.T) {
	var paths []string
	for _, sd := range []grpc.ServiceDesc{
		escrowpb.PaymentChannelStateService_ServiceDesc,
		escrowpb.FreeCallStateService_ServiceDesc,
		escrowpb.ProviderControlService_ServiceDesc,
		escrowpb.TokenService_ServiceDesc,
	} {
		require.Empty(t, sd.Streams, sd.ServiceName)
		for _, m := range sd.Methods {
			paths = append(paths, "/"+sd.ServiceName+"/"+m.MethodName)
		}
	}
	var want []string
	for _, w := range wireMethods {
		want = append(want, w.path)
	}
	require.ElementsMatch(t, want, paths)
}
