package configpb_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"

	configpb "github.com/tariffd/tariff/proto/configuration_service"
)

// The wire contract of snet-daemon's configuration service (spec §4.6):
// field numbers, names and kinds, and enum values.
func TestWire(t *testing.T) {
	fd := configpb.File_proto_configuration_service_configuration_service_proto
	require.Equal(t, protoreflect.FullName("configuration_service"), fd.Package())
	svc := fd.Services().ByName("ConfigurationService")
	require.NotNil(t, svc)
	for _, m := range []string{"GetConfiguration", "UpdateConfiguration", "StopProcessingRequests", "StartProcessingRequests", "IsDaemonProcessingRequests"} {
		require.NotNil(t, svc.Methods().ByName(protoreflect.Name(m)), m)
	}
	type field struct {
		num  protoreflect.FieldNumber
		kind protoreflect.Kind
	}
	for msg, fields := range map[string]map[string]field{
		"CallerAuthentication":   {"signature": {1, protoreflect.BytesKind}, "current_block": {2, protoreflect.Uint64Kind}},
		"EmptyRequest":           {"auth": {1, protoreflect.MessageKind}},
		"UpdateRequest":          {"auth": {1, protoreflect.MessageKind}, "updated_configuration": {2, protoreflect.MessageKind}},
		"StatusResponse":         {"signature": {1, protoreflect.BytesKind}, "current_processing_status": {2, protoreflect.EnumKind}},
		"ConfigurationResponse":  {"signature": {1, protoreflect.BytesKind}, "current_configuration": {2, protoreflect.MessageKind}, "schema": {3, protoreflect.MessageKind}},
		"ConfigurationSchema":    {"details": {1, protoreflect.MessageKind}},
		"ConfigurationParameter": {"name": {1, protoreflect.StringKind}, "mandatory": {2, protoreflect.BoolKind}, "description": {3, protoreflect.StringKind}, "type": {4, protoreflect.EnumKind}, "editable": {5, protoreflect.BoolKind}, "restart_daemon": {6, protoreflect.EnumKind}, "section": {7, protoreflect.StringKind}, "defaultValue": {8, protoreflect.StringKind}},
	} {
		md := fd.Messages().ByName(protoreflect.Name(msg))
		require.NotNil(t, md, msg)
		require.Equal(t, len(fields), md.Fields().Len(), msg)
		for name, want := range fields {
			f := md.Fields().ByName(protoreflect.Name(name))
			require.NotNil(t, f, "%s.%s", msg, name)
			require.Equal(t, want.num, f.Number(), "%s.%s", msg, name)
			require.Equal(t, want.kind, f.Kind(), "%s.%s", msg, name)
		}
	}
	require.Equal(t, int32(2), int32(configpb.StatusResponse_HAS_STOPPED_PROCESSING_REQUESTS))
	require.Equal(t, int32(3), int32(configpb.ConfigurationParameter_URL))
	require.Equal(t, int32(5), int32(configpb.ConfigurationParameter_ADDRESS))
	require.Equal(t, int32(1), int32(configpb.ConfigurationParameter_NO_IMPACT))
}
