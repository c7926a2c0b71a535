package host

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// processBackend runs a program per call (service_type process), as
// snet-daemon does: `executable_path <method name>`, the request frame on
// stdin, the combined stdout and stderr as the reply frame.
type processBackend struct {
	path   string
	maxMsg int
}

func newProcessBackend(path string, maxMsg int) (*processBackend, error) {
	if path == "" {
		return nil, errors.New("backend type process needs executable_path")
	}
	if _, err := exec.LookPath(path); err != nil {
		return nil, err
	}
	if maxMsg <= 0 {
		maxMsg = 4 << 20
	}
	return &processBackend{path: path, maxMsg: maxMsg}, nil
}

func (b *processBackend) Close() error { return nil }

func (b *processBackend) forward(ctx context.Context, method string, first *frame, in grpc.ServerStream) error {
	var req []byte
	if first != nil {
		req = first.payload
	}
	out := &cappedBuffer{max: b.maxMsg}
	cmd := exec.CommandContext(ctx, b.path, methodName(method))
	cmd.Stdin = bytes.NewReader(req)
	cmd.Stdout, cmd.Stderr = out, out // one writer: exec copies both into it in order
	// A killed program's children may hold the pipes open; stop waiting.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	switch {
	case out.over:
		return status.Errorf(codes.ResourceExhausted, "service process output larger than max_message_size (%d bytes)", b.maxMsg)
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return status.Errorf(codes.Unknown, "service process %s: %s", exit.ProcessState, excerpt(out.Bytes()))
		}
		return status.Errorf(codes.Unavailable, "can't run service process: %v", err)
	}
	return in.SendMsg(&frame{payload: out.Bytes()})
}

// errOutputCap stops copying a process's output past the message limit.
var errOutputCap = errors.New("output over the limit")

// cappedBuffer keeps at most max bytes. (It has no ReadFrom, which
// io.Copy would use instead of Write.)
type cappedBuffer struct {
	buf  []byte
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if len(c.buf)+len(p) > c.max {
		c.over = true
		return 0, errOutputCap
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *cappedBuffer) Bytes() []byte { return c.buf }
