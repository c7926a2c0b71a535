package host

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/host/config"
	configpb "github.com/tariffd/tariff/proto/configuration_service"
)

// Switch is snet-daemon's stop switch: while it is off, calls to the
// service are refused with Unavailable (the daemon's own services still
// answer); calls already running finish. The zero value is on.
type Switch struct {
	stopped atomic.Bool
	running atomic.Int64 // calls to the service in progress
}

// errStopped is upstream's refusal while the switch is off.
var errStopped = status.Error(codes.Unavailable, "No requests are currently being processed, please try again later")

// enter admits a call, or refuses it while stopped; leave ends it.
func (s *Switch) enter() error {
	if s == nil {
		return nil
	}
	if s.stopped.Load() {
		return errStopped
	}
	s.running.Add(1)
	return nil
}

func (s *Switch) leave() {
	if s != nil {
		s.running.Add(-1)
	}
}

func (s *Switch) status() configpb.StatusResponse_Status {
	switch {
	case s.stopped.Load():
		return configpb.StatusResponse_HAS_STOPPED_PROCESSING_REQUESTS
	case s.running.Load() > 0:
		return configpb.StatusResponse_REQUEST_IN_PROGRESS
	}
	return configpb.StatusResponse_IDLE
}

// configService is snet-daemon's ConfigurationService (the operator UI's
// backend): the daemon's settings, and the stop switch. Callers sign with
// one of authentication_addresses.
type configService struct {
	configpb.UnimplementedConfigurationServiceServer
	cfg       config.Config
	operators []common.Address
	heads     escrow.HeadReader // nil without a chain
	sw        *Switch
}

func newConfigService(cfg config.Config, heads escrow.HeadReader, sw *Switch) *configService {
	return &configService{cfg: cfg, operators: cfg.Access.AuthenticationAddresses, heads: heads, sw: sw}
}

func (c *configService) auth(ctx context.Context, prefix string, a *configpb.CallerAuthentication) error {
	if a == nil {
		return status.Error(codes.Unauthenticated, "no authentication provided")
	}
	_, err := escrow.CheckOperator(ctx, c.heads, c.operators, prefix, a.GetCurrentBlock(), a.GetSignature())
	return err
}

func (c *configService) GetConfiguration(ctx context.Context, req *configpb.EmptyRequest) (*configpb.ConfigurationResponse, error) {
	if err := c.auth(ctx, "_GetConfiguration", req.GetAuth()); err != nil {
		return nil, err
	}
	resp := &configpb.ConfigurationResponse{CurrentConfiguration: map[string]string{}, Schema: &configpb.ConfigurationSchema{}}
	for _, s := range settings {
		resp.CurrentConfiguration[s.key] = s.value(c.cfg)
		resp.Schema.Details = append(resp.Schema.Details, &configpb.ConfigurationParameter{
			Name: s.key, Section: s.section, Description: s.description, Type: s.typ,
			Mandatory: s.mandatory, RestartDaemon: configpb.ConfigurationParameter_RESTART_REQUIRED,
		})
	}
	return resp, nil
}

func (c *configService) UpdateConfiguration(ctx context.Context, req *configpb.UpdateRequest) (*configpb.ConfigurationResponse, error) {
	if err := c.auth(ctx, "_UpdateConfiguration", req.GetAuth()); err != nil {
		return nil, err
	}
	return nil, status.Error(codes.Unimplemented, "work in progress: edit the configuration file instead; tariffd reloads it")
}

func (c *configService) StopProcessingRequests(ctx context.Context, req *configpb.EmptyRequest) (*configpb.StatusResponse, error) {
	if err := c.auth(ctx, "_StopProcessingRequests", req.GetAuth()); err != nil {
		return nil, err
	}
	c.sw.stopped.Store(true)
	return &configpb.StatusResponse{CurrentProcessingStatus: c.sw.status()}, nil
}

func (c *configService) StartProcessingRequests(ctx context.Context, req *configpb.EmptyRequest) (*configpb.StatusResponse, error) {
	if err := c.auth(ctx, "_StartProcessingRequests", req.GetAuth()); err != nil {
		return nil, err
	}
	c.sw.stopped.Store(false)
	// As snet-daemon answers: the daemon takes requests again.
	return &configpb.StatusResponse{CurrentProcessingStatus: configpb.StatusResponse_REQUEST_IN_PROGRESS}, nil
}

func (c *configService) IsDaemonProcessingRequests(ctx context.Context, req *configpb.EmptyRequest) (*configpb.StatusResponse, error) {
	if err := c.auth(ctx, "_IsDaemonProcessingRequests", req.GetAuth()); err != nil {
		return nil, err
	}
	return &configpb.StatusResponse{CurrentProcessingStatus: c.sw.status()}, nil
}

// setting is one line of GetConfiguration, by snet-daemon JSON key. Secrets
// and provider URLs (which carry API keys) are left out.
type setting struct {
	key, section, description string
	typ                       configpb.ConfigurationParameter_Type
	mandatory                 bool
	value                     func(config.Config) string
}

var settings = []setting{
	{"daemon_endpoint", "general", "host:port the daemon serves on", configpb.ConfigurationParameter_STRING, true,
		func(c config.Config) string { return c.Listen }},
	{"organization_id", "general", "the organization in the Registry", configpb.ConfigurationParameter_STRING, true,
		func(c config.Config) string { return c.OrganizationID }},
	{"service_id", "general", "the service in the Registry", configpb.ConfigurationParameter_STRING, true,
		func(c config.Config) string { return c.ServiceID }},
	{"daemon_group_name", "general", "the payment group this daemon serves", configpb.ConfigurationParameter_STRING, true,
		func(c config.Config) string { return c.Group }},
	{"service_endpoint", "service", "the AI service", configpb.ConfigurationParameter_URL, true,
		func(c config.Config) string { return c.Backend.Endpoint }},
	{"passthrough_enabled", "service", "false echoes requests instead of forwarding them", configpb.ConfigurationParameter_BOOLEAN, false,
		func(c config.Config) string { return strconv.FormatBool(c.Backend.Passthrough) }},
	{"max_message_size_in_mb", "service", "largest message, MiB", configpb.ConfigurationParameter_INTEGER, false,
		func(c config.Config) string { return strconv.Itoa(c.MaxMessageSizeMB()) }},
	{"blockchain_enabled", "blockchain", "payments need it", configpb.ConfigurationParameter_BOOLEAN, false,
		func(c config.Config) string { return strconv.FormatBool(c.Blockchain.Enabled) }},
	{"blockchain_network_selected", "blockchain", "the network", configpb.ConfigurationParameter_STRING, false,
		func(c config.Config) string { return c.Blockchain.Network }},
	{"registry_address_key", "blockchain", "the Registry contract", configpb.ConfigurationParameter_ADDRESS, false,
		func(c config.Config) string { return c.Blockchain.RegistryAddress.Hex() }},
	{"ipfs_endpoint", "metadata", "the IPFS API the metadata is read from", configpb.ConfigurationParameter_URL, false,
		func(c config.Config) string { return c.Metadata.IPFSEndpoint }},
	{"payment_channel_storage_type", "storage", "etcd or memory", configpb.ConfigurationParameter_STRING, false,
		func(c config.Config) string { return c.Storage.Type }},
	{"log.level", "log", "log level", configpb.ConfigurationParameter_STRING, false,
		func(c config.Config) string { return c.Log.Level }},
}
