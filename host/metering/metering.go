// Package metering reports calls and channel balances to SingularityNET's
// metering service, as snet-daemon does when metering_enabled is set
// (spec §10.3): a signed verification at start, then one usage record per
// call to the service and one balance record per committed escrow payment.
// It also sends snet-daemon's alerts (spec §10.2) when the service stops
// answering its heartbeat probe.
//
// Reports never hold up a call: they queue and are posted in the
// background; when the queue is full they are dropped and counted.
package metering

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tariffd/tariff/escrow"
)

// ErrVerify is returned by Verify when the metering service does not
// accept the daemon's key.
var ErrVerify = errors.New("metering verification failed")

// Options configure a Reporter.
type Options struct {
	Endpoint string            // metering_endpoint, without a trailing /
	Key      *ecdsa.PrivateKey // private_key_for_metering; nil: requests are not signed
	// NotificationEndpoint and AlertsEmail send alerts (notification_endpoint,
	// alerts_email); either empty: no alerts.
	NotificationEndpoint, AlertsEmail string
	// Identities as the reports carry them; GroupID is the group id in
	// base64, DaemonID the heartbeat's daemonID.
	OrgID, ServiceID, GroupID, DaemonID string
	RegistryAddress, RPCEndpoint        string // echoed in usage records, as upstream
	Version                             string
	// Head is the current block, signed into every request.
	Head   func(context.Context) (uint64, error)
	Client *http.Client // nil: a client with a 10 s timeout
	Log    *slog.Logger
	// Queue is how many reports may wait; 0 means 1024.
	Queue int
}

// Reporter posts reports to the metering service.
type Reporter struct {
	o       Options
	queue   chan report
	dropped atomic.Uint64
	failed  atomic.Uint64

	lastAlert atomic.Int64 // unix nanoseconds
}

type report struct {
	url      string
	username string // the X-username header
	body     any
}

// New makes a Reporter; Run posts what it queues.
func New(o Options) *Reporter {
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	return &Reporter{o: o, queue: make(chan report, o.Queue)}
}

// Verify asks the metering service whether it knows the daemon's key
// (GET /metering/verify); snet-daemon refuses to start when it does not.
func (r *Reporter) Verify(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.o.Endpoint+"/metering/verify", nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Authtype", "verification")
	if err := r.sign(ctx, req, r.o.DaemonID); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	resp, err := r.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var answer struct {
		Data string `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &answer) != nil || answer.Data != "success" {
		return fmt.Errorf("%w: %s answered %d %q: is private_key_for_metering the key registered with it?",
			ErrVerify, req.URL, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// sign adds the headers that authenticate the daemon to the service.
func (r *Reporter) sign(ctx context.Context, req *http.Request, username string) error {
	if r.o.Key == nil {
		return nil // alerts without a metering key go unsigned, as upstream's
	}
	block, err := r.o.Head(ctx)
	if err != nil {
		return fmt.Errorf("current block: %w", err)
	}
	sig, err := escrow.Sign(escrow.MeteringMessage(username, r.o.OrgID, r.o.ServiceID, r.o.GroupID, block), r.o.Key)
	if err != nil {
		return err
	}
	req.Header.Set("X-Username", username)
	req.Header.Set("X-Organizationid", r.o.OrgID)
	req.Header.Set("X-Groupid", r.o.GroupID)
	req.Header.Set("X-Serviceid", r.o.ServiceID)
	req.Header.Set("X-Currentblocknumber", strconv.FormatUint(block, 10))
	req.Header.Set("X-Signature", base64.StdEncoding.EncodeToString(sig))
	return nil
}

// Call is one call to the service, as the usage record describes it.
type Call struct {
	ID             string // unique per call
	Method         string // full gRPC method
	Received, Sent time.Time
	Code           string // gRPC status code name, "OK" on success
	Error          string // the status message of a failed call
	ClientType     string // snet-client-type
	UserDetails    string // snet-user-info
	UserAgent      string // user-agent
	ChannelID      string // snet-payment-channel-id
	UserName       string // snet-free-call-user-id
	PaymentMode    string // snet-payment-type
	UserAddress    string // the payer, when known
}

// timeFormat is upstream's for the usage record's times.
const timeFormat = "2006-01-02 15:04:05.999999999"

// usage is the usage record, with upstream's JSON names.
type usage struct {
	Type                string `json:"type"`
	RegistryAddressKey  string `json:"registry_address_key"`
	RPCEndpoint         string `json:"ethereum_json_rpc_endpoint"`
	RequestID           string `json:"request_id"`
	OrganizationID      string `json:"organization_id"`
	ServiceID           string `json:"service_id"`
	GroupID             string `json:"group_id"`
	ServiceMethod       string `json:"service_method"`
	ResponseSentTime    string `json:"response_sent_time"`
	RequestReceivedTime string `json:"request_received_time"`
	ResponseTime        string `json:"response_time"`
	ResponseCode        string `json:"response_code"`
	ErrorMessage        string `json:"error_message"`
	Version             string `json:"version"`
	ClientType          string `json:"client_type"`
	UserDetails         string `json:"user_details"`
	UserAgent           string `json:"user_agent"`
	ChannelID           string `json:"channel_id"`
	UserName            string `json:"username"`
	Operation           string `json:"operation"`
	UsageType           string `json:"usage_type"`
	Status              string `json:"status"`
	StartTime           string `json:"start_time"`
	EndTime             string `json:"end_time"`
	UsageValue          int    `json:"usage_value"`
	TimeZone            string `json:"time_zone"`
	PaymentMode         string `json:"payment_mode"`
	UserAddress         string `json:"user_address"`
}

// Usage queues the usage record of a call.
func (r *Reporter) Usage(c Call) {
	received, sent := c.Received.UTC().Format(timeFormat), c.Sent.UTC().Format(timeFormat)
	status := "success"
	if c.Code != "OK" {
		status = "failed"
	}
	r.enqueue(report{url: r.o.Endpoint + "/metering/usage", username: c.UserName, body: usage{
		Type: "response", RegistryAddressKey: r.o.RegistryAddress, RPCEndpoint: r.o.RPCEndpoint,
		RequestID: c.ID, OrganizationID: r.o.OrgID, ServiceID: r.o.ServiceID, GroupID: r.o.GroupID,
		ServiceMethod: c.Method, RequestReceivedTime: received, ResponseSentTime: sent,
		ResponseTime: strconv.FormatFloat(c.Sent.Sub(c.Received).Seconds(), 'f', 4, 64),
		ResponseCode: c.Code, ErrorMessage: c.Error, Version: r.o.Version,
		ClientType: c.ClientType, UserDetails: c.UserDetails, UserAgent: c.UserAgent, ChannelID: c.ChannelID,
		UserName: c.UserName, Operation: "read", UsageType: "apicall", Status: status,
		StartTime: received, EndTime: sent, UsageValue: 1, TimeZone: "UTC",
		PaymentMode: c.PaymentMode, UserAddress: c.UserAddress,
	}})
}

// balance is the channel balance record; upstream sends Go field names.
type balance struct {
	OrganizationID   string
	ServiceID        string
	GroupID          string
	AuthorizedAmount *big.Int
	FullAmount       *big.Int
	ChannelId        *big.Int //nolint:revive // upstream's JSON name
	Nonce            *big.Int
}

// Balance queues the balance of a channel after a committed payment.
func (r *Reporter) Balance(ch *escrow.ChannelData) {
	r.enqueue(report{
		url:      r.o.Endpoint + "/contract-api/channel/" + ch.ChannelID.String() + "/balance",
		username: ch.Sender.Hex(),
		body: balance{OrganizationID: r.o.OrgID, ServiceID: r.o.ServiceID, GroupID: r.o.GroupID,
			AuthorizedAmount: ch.AuthorizedAmount, FullAmount: ch.FullAmount, ChannelId: ch.ChannelID, Nonce: ch.Nonce},
	})
}

// notification is an alert, with upstream's JSON names.
type notification struct {
	DaemonID  string `json:"component_id"`
	Timestamp string `json:"timestamp"`
	Recipient string `json:"recipient"`
	Message   string `json:"message"`
	Details   string `json:"details"`
	Component string `json:"component"`
	Type      string `json:"type"`
	Level     string `json:"level"`
}

// alertEvery spaces alerts out: a service that stays down is reported
// once a minute, not on every heartbeat request.
const alertEvery = time.Minute

// ServiceDown queues an alert that the service did not answer the
// heartbeat probe (when alerts are configured).
func (r *Reporter) ServiceDown(details string) {
	if r.o.NotificationEndpoint == "" || r.o.AlertsEmail == "" {
		return
	}
	now, last := time.Now(), r.lastAlert.Load()
	if now.UnixNano()-last < int64(alertEvery) || !r.lastAlert.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	r.enqueue(report{url: r.o.NotificationEndpoint, body: notification{
		DaemonID: r.o.DaemonID, Timestamp: now.UTC().String(), Recipient: r.o.AlertsEmail,
		Message: "Problem in calling Service Heartbeat endpoint.", Details: details,
		Component: "Daemon", Level: "ERROR",
	}})
}

func (r *Reporter) enqueue(rep report) {
	select {
	case r.queue <- rep:
	default:
		if n := r.dropped.Add(1); n&(n-1) == 0 { // warn at 1, 2, 4, 8, ... drops
			r.o.Log.Warn("metering: queue full, reports dropped", "dropped", n)
		}
	}
}

// Stats are counts of reports not delivered.
type Stats struct{ Dropped, Failed uint64 }

// Stats returns the counters.
func (r *Reporter) Stats() Stats { return Stats{Dropped: r.dropped.Load(), Failed: r.failed.Load()} }

// Run posts queued reports, a few at a time, until ctx is done.
func (r *Reporter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.postAll(ctx)
		}()
	}
	wg.Wait()
}

// posters is how many reports are in flight at once.
const posters = 4

func (r *Reporter) postAll(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case rep := <-r.queue:
			if err := r.post(ctx, rep); err != nil && ctx.Err() == nil {
				r.failed.Add(1)
				r.o.Log.Warn("metering: report not delivered", "url", rep.url, "err", err)
			}
		}
	}
}

func (r *Reporter) post(ctx context.Context, rep report) error {
	body, err := json.Marshal(rep.body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rep.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Daemonid", r.o.DaemonID)
	req.Header.Set("X-Token", "") // upstream sends its (unused) registration token, empty
	if err := r.sign(ctx, req, rep.username); err != nil {
		return err
	}
	resp, err := r.o.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
