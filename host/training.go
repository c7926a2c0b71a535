package host

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	trainingpb "github.com/tariffd/tariff/proto/training"
)

// errNoTraining is snet-daemon's answer when it does not train models
// (its text; the code says what it means).
var errNoTraining = status.Error(codes.Unimplemented, "service end point is not defined or is invalid , please contact the AI developer")

// noTraining is training.Daemon as snet-daemon serves it when training is
// off: get_training_metadata says so, every other method refuses. Without
// it, calls to training.Daemon would be taken for the service's own
// methods, asked for payment and forwarded.
type noTraining struct {
	trainingpb.UnimplementedDaemonServer
}

func (noTraining) GetTrainingMetadata(context.Context, *emptypb.Empty) (*trainingpb.TrainingMetadata, error) {
	return &trainingpb.TrainingMetadata{}, nil
}

// registerNoTraining registers noTraining, with every method but
// get_training_metadata answering errNoTraining.
func registerNoTraining(s *grpc.Server) {
	desc := trainingpb.Daemon_ServiceDesc
	desc.Methods = slices.Clone(desc.Methods)
	desc.Streams = slices.Clone(desc.Streams)
	for i := range desc.Methods {
		if desc.Methods[i].MethodName != "get_training_metadata" {
			desc.Methods[i].Handler = func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
				return nil, errNoTraining
			}
		}
	}
	for i := range desc.Streams {
		desc.Streams[i].Handler = func(any, grpc.ServerStream) error { return errNoTraining }
	}
	s.RegisterService(&desc, noTraining{})
}
