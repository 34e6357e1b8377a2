package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// EgressError reports a connection the relay refused to open because the endpoint's host
// resolves to an address that is not on the public internet (loopback, private, link-local, …)
// and the endpoint does not set AllowPrivate. The check runs on the resolved address just before
// connecting, so neither a DNS answer that changes later (rebinding) nor a redirect can get past
// it.
type EgressError struct {
	Host   string     // the host name or address the endpoint's URL names
	Addr   netip.Addr // the address it resolved to
	Reason string     // "loopback", "private", "link-local", …
}

func (e *EgressError) Error() string {
	if e.Host == e.Addr.String() {
		return fmt.Sprintf("audit: egress refused: %s is a %s address; set allow_private on the endpoint to deliver to it", e.Addr, e.Reason)
	}
	return fmt.Sprintf("audit: egress refused: %s resolves to %s, a %s address; set allow_private on the endpoint to deliver to it", e.Host, e.Addr, e.Reason)
}

// blockedPrefixes are the ranges an endpoint may only reach with AllowPrivate, by reason.
var blockedPrefixes = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// blockedReason says why a is not a public address, or "" when it is. IPv4-mapped IPv6
// addresses are judged as IPv4. The zone is dropped before the ranges are checked, because
// netip.Prefix.Contains is false for every zoned address (review D5: [::1%lo] passed as
// public); a zoned address that is in no blocked range is refused anyway, since a zone only
// makes sense for a link-scoped address.
func blockedReason(a netip.Addr) string {
	zoned := a.Zone() != ""
	a = a.WithZone("").Unmap()
	for _, b := range blockedPrefixes {
		if b.p.Contains(a) {
			return b.reason
		}
	}
	if zoned {
		return "zoned (link-scoped)"
	}
	return ""
}

// lookupFunc resolves a host name. Tests replace it to map names to addresses without DNS.
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func defaultLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// egressDialer connects to an endpoint. It resolves the host itself, refuses blocked addresses
// before any connection is attempted, and dials the checked address, so that the address used is
// the address checked. A Control hook checks once more at the socket, as a second line.
type egressDialer struct {
	allowPrivate bool
	lookup       lookupFunc
	dialer       net.Dialer
	dial         func(ctx context.Context, network, addr string) (net.Conn, error) // dialer.DialContext; tests watch it
}

func newEgressDialer(allowPrivate bool, lookup lookupFunc) *egressDialer {
	d := &egressDialer{allowPrivate: allowPrivate, lookup: lookup}
	if d.lookup == nil {
		d.lookup = defaultLookup
	}
	d.dialer = net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: d.control}
	d.dial = d.dialer.DialContext
	return d
}

// DialContext resolves addr, drops every address the endpoint may not reach and dials the rest in
// turn. When nothing is left it returns an *EgressError without connecting.
func (d *egressDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if addrs, err = d.lookup(ctx, host); err != nil {
		return nil, err
	}
	var refused *EgressError
	var errs []error
	for _, a := range addrs {
		if reason := blockedReason(a); reason != "" && !d.allowPrivate {
			if refused == nil {
				refused = &EgressError{Host: host, Addr: a.Unmap(), Reason: reason}
			}
			continue
		}
		conn, err := d.dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 && refused != nil {
		return nil, refused
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("audit: %s resolves to no address", host)
	}
	return nil, errors.Join(errs...)
}

// control runs just before connect(2) with the numeric address; it refuses a blocked one.
func (d *egressDialer) control(_, address string, _ syscall.RawConn) error {
	if d.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("audit: egress: unexpected address %q", address)
	}
	if reason := blockedReason(ap.Addr()); reason != "" {
		return &EgressError{Host: ap.Addr().Unmap().String(), Addr: ap.Addr().Unmap(), Reason: reason}
	}
	return nil
}

// errRedirect marks a 3xx answer; the relay never follows redirects (Standard Webhooks: a 3xx is
// a failure), so a redirect cannot lead a delivery, or its signature, somewhere else.
var errRedirect = errors.New("redirect refused")

// newEndpointClient returns the HTTP client of one endpoint: no proxy from the environment (it
// would bypass the address check), no redirects, TLS 1.2 or later, and a connection pool sized to
// the endpoint's concurrency. Request deadlines come from the context of each delivery.
func newEndpointClient(allowPrivate bool, concurrency int, lookup lookupFunc) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           newEgressDialer(allowPrivate, lookup).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          concurrency + 1,
		MaxIdleConnsPerHost:   concurrency + 1,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
