package trainingpb_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	trainingpb "github.com/tariffd/tariff/proto/training"
)

// Spot checks of the wire contract of spec §4.5: the service's methods and
// the field numbers clients depend on.
func TestWire(t *testing.T) {
	fd := trainingpb.File_proto_training_training_daemon_proto
	require.Equal(t, protoreflect.FullName("training"), fd.Package())
	svc := fd.Services().ByName("Daemon")
	require.Equal(t, 12, svc.Methods().Len())
	require.True(t, svc.Methods().ByName("upload_and_validate").IsStreamingClient())
	for msg, nums := range map[protoreflect.FullName]map[protoreflect.Name]protoreflect.FieldNumber{
		"training.AuthorizationDetails": {"current_block": 1, "message": 2, "signature": 3, "signer_address": 4},
		"training.AllModelsRequest":     {"authorization": 1, "statuses": 3, "is_public": 4, "page_size": 9, "page": 10},
		"training.TrainingMetadata":     {"trainingEnabled": 1, "trainingInProto": 2, "trainingMethods": 3},
		"training.MethodMetadata":       {"default_model_id": 50001, "dataset_description": 50008},
		"training.ModelResponse":        {"model_id": 1, "status": 2, "updated_by_address": 13},
		"training.UploadInput":          {"model_id": 1, "data": 2, "batch_count": 7},
		"training.ValidateRequest":      {"model_id": 2, "training_data_link": 3},
	} {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(msg)
		require.NoError(t, err, msg)
		d := mt.Descriptor()
		for name, num := range nums {
			f := d.Fields().ByName(name)
			require.NotNil(t, f, "%s.%s", msg, name)
			require.Equal(t, num, f.Number(), "%s.%s", msg, name)
		}
	}
	require.Equal(t, int32(6), int32(trainingpb.Status_DELETED))
}
