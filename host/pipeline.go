package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/host/metering"
	"github.com/tariffd/tariff/pricing"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Trailers that tell a client the price it should have paid, on a price
// mismatch: a programmable price cannot be guessed (DESIGN §4).
const (
	TrailerPrice       = "tariff-price"
	TrailerPriceSource = "tariff-price-source"
)

// Charge is a payment taken for a call: committed before the call is
// forwarded, or (a deferredCharge) while it is. Payment kinds (escrow,
// free call, prepaid) implement it in package escrow.
type Charge interface {
	// Payer is forwarded to the service as snet-user-address.
	Payer() string
	// Rollback undoes the charge after the service failed; it reports
	// whether it did (a later charge may make undoing unsafe).
	Rollback(ctx context.Context) (bool, error)
}

// Call is one call to the AI service as a payment handler sees it.
type Call struct {
	Method string
	MD     metadata.MD // as received
	// Request is what pricing and plugins see; handlers set the caller
	// once they know it.
	Request *pricing.Request
	// Policy prices the call and decides free calls (the configuration
	// snapshot the call started on).
	Policy *pricing.Policy
	// Quote is the price the handler applied, if any.
	Quote *pricing.Quote
}

// Price prices the call for caller (the payer's address; "" if unknown).
func (c *Call) Price(ctx context.Context, caller string) (*big.Int, error) {
	c.Request.Caller = caller
	q, err := c.Policy.Price(ctx, c.Request)
	if err != nil {
		return nil, err
	}
	c.Quote = &q
	return q.Price, nil
}

// PaymentHandler takes one kind of payment for a call.
type PaymentHandler func(ctx context.Context, call *Call) (Charge, error)

// pipeline is the path of every call to the AI service: read the first
// message, take the payment, transform, forward, and undo the payment if
// the service fails.
type pipeline struct {
	// handlers by snet-payment-type; nil: payments disabled (blockchain_enabled=false)
	handlers map[string]PaymentHandler
	policies *policies
	ids      requestIDs
	backend  backend
	timeout  time.Duration // applied when the client set no deadline
	// commitFirst stores deferred charges before forwarding instead of
	// while the service works.
	commitFirst bool
	// limiter bounds calls to the service (rate_limit); nil: unlimited.
	limiter *rate.Limiter
	meter   meter   // nil: metering off
	sw      *Switch // the stop switch; nil: always on
	log     *slog.Logger
}

// requestIDs are the identities plugins see in every request.
type requestIDs struct {
	ServiceID, OrgID, GroupID string
}

// meter receives a record of every call to the service and the balance
// of every channel paid (metering_enabled; metering.Reporter).
type meter interface {
	Usage(metering.Call)
	Balance(*escrow.ChannelData)
}

// handle is the gRPC unknown-service handler.
func (p *pipeline) handle(_ any, ss grpc.ServerStream) error {
	if p.meter == nil {
		return p.serve(ss, nil)
	}
	received := time.Now()
	var charge Charge
	err := p.serve(ss, &charge)
	p.report(ss, received, charge, err)
	return err
}

// report meters a call: its usage and, when it was paid from a channel,
// the channel's new balance.
func (p *pipeline) report(ss grpc.ServerStream, received time.Time, charge Charge, err error) {
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	st := status.Convert(err)
	c := metering.Call{
		ID: fmt.Sprintf("%016x", rand.Uint64()), Method: method, Received: received, Sent: time.Now(),
		Code: st.Code().String(), ClientType: first("snet-client-type"), UserDetails: first("snet-user-info"),
		UserAgent: first("user-agent"), ChannelID: first(escrow.HeaderChannelID), UserName: first(escrow.HeaderFreeCallUserID),
		PaymentMode: first(escrow.HeaderPaymentType),
	}
	if err != nil {
		c.Error = st.Message()
	}
	if charge != nil {
		c.UserAddress = charge.Payer()
	}
	p.meter.Usage(c)
	if pm, ok := charge.(*escrow.Payment); ok && err == nil && pm.Receipt != nil {
		p.meter.Balance(pm.Receipt.Channel)
	}
}

// serve runs the call; charged is set to the payment it took, if any.
func (p *pipeline) serve(ss grpc.ServerStream, charged *Charge) error {
	ctx := ss.Context()
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "no method in stream")
	}
	// Before anything is read or paid, as snet-daemon's interceptor.
	if err := p.sw.enter(); err != nil {
		return err
	}
	defer p.sw.leave()
	if p.limiter != nil && !p.limiter.Allow() {
		return status.Error(codes.ResourceExhausted, "rate limiting , too many requests to handle")
	}
	first := new(frame)
	if err := ss.RecvMsg(first); err != nil {
		if !errors.Is(err, io.EOF) {
			return err
		}
		first = nil // a client stream that sends nothing
	}
	in, _ := metadata.FromIncomingContext(ctx)
	md := in.Copy()

	// The call finishes on the configuration it started with, even if a
	// reload swaps in another meanwhile.
	snap := p.policies.acquire()
	defer snap.release()
	call := &Call{Method: method, MD: in, Policy: snap.policy, Request: p.request(method, in, first)}

	var (
		charge Charge
		gate   *gatedStream // holds the response until a deferred commit is durable
	)
	if p.handlers != nil {
		var err error
		if charge, err = p.pay(ctx, call); err != nil {
			return p.refuse(ss, call, err)
		}
		if charged != nil {
			*charged = charge
		}
		if d, ok := charge.(deferredCharge); ok {
			if p.commitFirst || !d.Exclusive() {
				if err := d.Commit(ctx); err != nil {
					return p.refuse(ss, call, err)
				}
			} else {
				// The commit's durable write overlaps the call to the
				// service; nothing of the response leaves before it is done.
				committed := make(chan error, 1)
				go func() { committed <- d.Commit(ctx) }()
				gate = &gatedStream{ServerStream: ss, committed: committed}
				ss = gate
			}
		}
		// The payer as the service should see it; any client value is overwritten.
		md.Set(escrow.HeaderUserAddress, charge.Payer())
		md.Set(escrow.HeaderDaemonDebug, escrow.DaemonDebugStreamIntercept)
	}
	err := p.transform(ctx, call, md, &first)
	if err == nil {
		err = p.forward(ctx, method, md, first, ss)
	}
	if gate != nil {
		if cerr := gate.wait(); cerr != nil {
			return p.refuse(gate.ServerStream, call, cerr)
		}
	}
	if err != nil && charge != nil {
		rolled, rerr := charge.Rollback(ctx)
		if rerr != nil {
			p.log.ErrorContext(ctx, "undo payment after service error", "method", method, "payer", charge.Payer(), "err", rerr)
		} else if !rolled {
			p.log.WarnContext(ctx, "payment kept after service error: a later payment moved the state on", "method", method, "payer", charge.Payer())
		}
	}
	return err
}

// refuse returns a payment refusal, telling the client the price it
// should have paid on a mismatch.
func (p *pipeline) refuse(ss grpc.ServerStream, call *Call, err error) error {
	var mismatch *escrow.PriceMismatchError
	if errors.As(err, &mismatch) && call.Quote != nil {
		ss.SetTrailer(metadata.Pairs(TrailerPrice, call.Quote.Price.String(), TrailerPriceSource, call.Quote.Source))
	}
	return err
}

// deferredCharge is a charge validated but not yet stored (an escrow
// payment): the pipeline commits it while the call is forwarded.
type deferredCharge interface {
	Charge
	// Commit stores the charge, or refuses it as the payment handler would.
	Commit(ctx context.Context) error
	// Exclusive reports whether the charge is expected to commit as
	// decided; if not, it is committed before forwarding.
	Exclusive() bool
}

// gatedStream is the client's stream while a charge commits: headers,
// messages and trailers wait for the commit, and are dropped if it fails.
// Only the goroutine that forwards the service's answer uses it.
type gatedStream struct {
	grpc.ServerStream
	committed <-chan error
	done      bool
	err       error
}

func (g *gatedStream) wait() error {
	if !g.done {
		g.err, g.done = <-g.committed, true
	}
	return g.err
}

func (g *gatedStream) SetHeader(md metadata.MD) error {
	if err := g.wait(); err != nil {
		return err
	}
	return g.ServerStream.SetHeader(md)
}

func (g *gatedStream) SendHeader(md metadata.MD) error {
	if err := g.wait(); err != nil {
		return err
	}
	return g.ServerStream.SendHeader(md)
}

func (g *gatedStream) SetTrailer(md metadata.MD) {
	if g.wait() == nil {
		g.ServerStream.SetTrailer(md)
	}
}

func (g *gatedStream) SendMsg(m any) error {
	if err := g.wait(); err != nil {
		return err
	}
	return g.ServerStream.SendMsg(m)
}

func (p *pipeline) forward(ctx context.Context, method string, md metadata.MD, first *frame, ss grpc.ServerStream) error {
	fctx := metadata.NewOutgoingContext(ctx, md)
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(fctx, p.timeout)
		defer cancel()
	}
	return p.backend.forward(fctx, method, first, ss)
}

// transform lets a transform plugin rewrite the first request message and
// the metadata before forwarding (later messages of a stream pass as sent).
func (p *pipeline) transform(ctx context.Context, call *Call, md metadata.MD, first **frame) error {
	tr, err := call.Policy.Transform(ctx, call.Request)
	if err != nil {
		return err
	}
	if tr.Body != nil {
		*first = &frame{payload: tr.Body}
	}
	for k, v := range tr.Meta {
		md[k] = v
	}
	return nil
}

// request is the pricing view of a call: what plugins may see. Payment
// headers are left out, so a quote (which has none) and the paid call see
// the same metadata.
func (p *pipeline) request(method string, in metadata.MD, first *frame) *pricing.Request {
	meta := make(map[string][]string, len(in))
	for k, v := range in {
		if !strings.HasPrefix(k, "snet-") && !strings.HasPrefix(k, ":") {
			meta[k] = v
		}
	}
	r := &pricing.Request{
		Method: method, ServiceID: p.ids.ServiceID, OrgID: p.ids.OrgID, GroupID: p.ids.GroupID,
		Meta: meta, Time: time.Now(),
	}
	if first != nil {
		r.Body = first.payload
	}
	return r
}

func (p *pipeline) pay(ctx context.Context, call *Call) (Charge, error) {
	typ, err := escrow.PaymentType(call.MD)
	if err != nil {
		return nil, err
	}
	h, ok := p.handlers[typ]
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "payment type %q is not enabled on this daemon", typ)
	}
	call.Request.PaymentType = typ
	return h(ctx, call)
}

// EscrowHandler takes pay-per-call escrow payments at the call's price.
func EscrowHandler(channels *escrow.Channels) PaymentHandler {
	return func(ctx context.Context, call *Call) (Charge, error) {
		pm, err := escrow.ParseEscrowPayment(call.MD)
		if err != nil {
			return nil, err
		}
		call.Request.ChannelID = pm.ChannelID
		r, err := channels.Prepare(ctx, pm, func(sender common.Address) (*big.Int, error) {
			return call.Price(ctx, sender.Hex())
		})
		if err != nil {
			return nil, err // never a nil *Payment inside a non-nil Charge
		}
		return r, nil
	}
}

// CuratedHandler admits the allowed users without a chain
// (allowed_user_flag with blockchain_enabled false): a signed escrow
// payment from one of them is required, and nothing is charged.
func CuratedHandler(allowed []common.Address) PaymentHandler {
	return func(_ context.Context, call *Call) (Charge, error) {
		user, err := escrow.Curated(call.MD, allowed)
		if err != nil {
			return nil, err
		}
		call.Request.Caller = user.Hex()
		return curatedCharge(user.Hex()), nil
	}
}

// curatedCharge is an admission, not a payment: there is nothing to undo.
type curatedCharge string

func (c curatedCharge) Payer() string                        { return string(c) }
func (curatedCharge) Rollback(context.Context) (bool, error) { return true, nil }

// FreeCallHandler takes free calls, decided by a free_call plugin when one
// selects the method and by the built-in limit otherwise.
func FreeCallHandler(free *escrow.FreeCalls) PaymentHandler {
	return func(ctx context.Context, call *Call) (Charge, error) {
		r, err := free.PayWith(ctx, call.MD, func(ctx context.Context, fp *escrow.FreeCallPayment, made, allowed int) (bool, bool, error) {
			req := call.Request
			req.Caller = common.HexToAddress(fp.UserAddress).Hex()
			req.FreeCallUserID = fp.UserID
			req.FreeCallsUsed = uint64(max(made, 0))
			req.FreeCallsAllowed = pricing.FreeCallsUnlimited
			if allowed != escrow.FreeCallsUnlimited {
				req.FreeCallsAllowed = uint64(max(allowed, 0))
			}
			d, err := call.Policy.FreeCall(ctx, req)
			return d.Decided, d.Allow, err
		})
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// PrepaidHandler takes prepaid calls at the call's price.
func PrepaidHandler(prepaid *escrow.Prepaid) PaymentHandler {
	return func(ctx context.Context, call *Call) (Charge, error) {
		pp, err := escrow.ParsePrepaidPayment(call.MD)
		if err != nil {
			return nil, err
		}
		call.Request.ChannelID = pp.ChannelID
		// The payer is in the token, which Pay checks after pricing: plugins
		// price prepaid calls without a caller.
		price, err := call.Price(ctx, "")
		if err != nil {
			return nil, err
		}
		r, err := prepaid.Pay(ctx, call.Method, call.MD, price)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}
