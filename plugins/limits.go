package plugins

import (
	"fmt"
	"time"
)

// Limits bound what a plugin may use. Zero fields take the defaults; values
// above the host maxima are refused by Load.
type Limits struct {
	// ModuleBytes caps the size of the module. Default 8 MiB, maximum 64 MiB.
	ModuleBytes int
	// MemoryMiB caps the guest's linear memory: memory.grow fails above it
	// (and the call fails), and a module declaring more initial memory is
	// refused. Default 32 MiB (a small standard Go plugin runs in 4),
	// maximum 1024.
	MemoryMiB uint32
	// Instances is the size of the instance pool: the number of calls that
	// run at once. Default 4, maximum 64.
	Instances int
	// Timeout is the wall-clock deadline of one call. Zero: 20 ms for
	// pricing and free_call, 100 ms for transform. Maximum 10 s.
	Timeout time.Duration
	// InitTimeout bounds starting one instance: instantiation, _initialize
	// and tariff_init. Default 1 s, maximum 30 s.
	InitTimeout time.Duration
	// BodyBytes caps the new body a transform writes with body_write.
	// Default 4 MiB (gRPC's default message limit), maximum 64 MiB.
	BodyBytes int
	// LogLines caps the log lines of one call (and of one instance start).
	// Default 20, maximum 1000.
	LogLines int
	// LogRate limits the log lines of the plugin as a whole, per second,
	// with bursts of LogLines. Default 20, maximum 10000.
	LogRate float64
}

// Defaults and host maxima.
const (
	DefaultModuleBytes      = 8 << 20
	DefaultMemoryMiB        = 32
	DefaultInstances        = 4
	DefaultTimeout          = 20 * time.Millisecond
	DefaultTransformTimeout = 100 * time.Millisecond
	DefaultInitTimeout      = time.Second
	DefaultBodyBytes        = 4 << 20
	DefaultLogLines         = 20
	DefaultLogRate          = 20.0
	maxModuleBytes          = 64 << 20
	maxMemoryMiB            = 1024
	maxInstances            = 64
	maxTimeout              = 10 * time.Second
	maxInitTimeout          = 30 * time.Second
	maxBodyBytes            = 64 << 20
	maxLogLines             = 1000
	maxLogRate              = 10000.0
	wasmPageBytes           = 64 << 10
	pagesPerMiB             = (1 << 20) / wasmPageBytes
)

// withDefaults fills zero fields and checks the maxima.
func (l Limits) withDefaults() (Limits, error) {
	if l.ModuleBytes < 0 || l.Instances < 0 || l.Timeout < 0 || l.InitTimeout < 0 ||
		l.BodyBytes < 0 || l.LogLines < 0 || l.LogRate < 0 {
		return l, fmt.Errorf("negative limit in %+v", l)
	}
	if l.MemoryMiB > maxMemoryMiB {
		return l, fmt.Errorf("memory_mib %d is above the host maximum of %d", l.MemoryMiB, maxMemoryMiB)
	}
	set := func(v *int, def, max int, name string) error {
		if *v == 0 {
			*v = def
		}
		if *v > max {
			return fmt.Errorf("%s %d is above the host maximum of %d", name, *v, max)
		}
		return nil
	}
	if err := set(&l.ModuleBytes, DefaultModuleBytes, maxModuleBytes, "module size"); err != nil {
		return l, err
	}
	if err := set(&l.Instances, DefaultInstances, maxInstances, "instances"); err != nil {
		return l, err
	}
	if err := set(&l.BodyBytes, DefaultBodyBytes, maxBodyBytes, "body output cap"); err != nil {
		return l, err
	}
	if err := set(&l.LogLines, DefaultLogLines, maxLogLines, "log lines per call"); err != nil {
		return l, err
	}
	if l.MemoryMiB == 0 {
		l.MemoryMiB = DefaultMemoryMiB
	}
	if l.Timeout > maxTimeout {
		return l, fmt.Errorf("timeout %s is above the host maximum of %s", l.Timeout, maxTimeout)
	}
	if l.InitTimeout == 0 {
		l.InitTimeout = DefaultInitTimeout
	}
	if l.InitTimeout > maxInitTimeout {
		return l, fmt.Errorf("init timeout %s is above the host maximum of %s", l.InitTimeout, maxInitTimeout)
	}
	if l.LogRate == 0 {
		l.LogRate = DefaultLogRate
	}
	if l.LogRate > maxLogRate {
		return l, fmt.Errorf("log rate %g is above the host maximum of %g", l.LogRate, maxLogRate)
	}
	return l, nil
}

// timeout returns the deadline of a call of kind k.
func (l Limits) timeout(k Kind) time.Duration {
	if l.Timeout > 0 {
		return l.Timeout
	}
	if k == KindTransform {
		return DefaultTransformTimeout
	}
	return DefaultTimeout
}
