package relay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// egressProbe is one endpoint host of the 2026-12 review's SSRF matrix (probes 49–52).
type egressProbe struct {
	host     string // as it appears in the URL's authority, without the port
	atConfig bool   // refused when the endpoint is checked, not only when connecting
}

// The review's probes 49–52, plus a zoned global address. Hosts that are not IP literals reach the
// dialer through a lookup that resolves them to loopback, as a lenient resolver would.
var egressProbes = []egressProbe{
	{"127.0.0.1", true}, {"[::1]", true}, {"[::ffff:127.0.0.1]", true}, {"[0:0:0:0:0:ffff:7f00:1]", true},
	{"0.0.0.0", true}, {"[::]", true}, {"169.254.169.254", true}, {"[::ffff:169.254.169.254]", true},
	{"localhost", false},
	{"2130706433", false}, {"0x7f000001", false}, {"127.1", false}, {"localhost.", false}, {"[::127.0.0.1]", true},
	{"[::1%25lo]", true}, {"[::1%251]", true},
	{"[fe80::1%25lo]", true}, {"[fd00:ec2::254%25eth0]", true}, {"[2606:4700::1111%25eth0]", true},
}

// Review D5: a zone id must not hide a loopback, link-local or private address, neither when the
// endpoint is configured nor when the relay connects (pre-dial check and the socket's Control
// hook); a zoned host is refused unless the endpoint allows private egress.
func TestEgressRefusesEveryReviewProbe(t *testing.T) {
	t.Parallel()
	toLoopback := func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
	}
	for _, p := range egressProbes {
		t.Run(p.host, func(t *testing.T) {
			t.Parallel()
			for _, scheme := range []string{"http", "https"} {
				ep := Endpoint{Name: "probe", URL: scheme + "://" + p.host + ":14301/hooks", Secrets: []string{vectorSecret}}.withDefaults(nil)
				err := ep.validate()
				if p.atConfig && err == nil {
					t.Errorf("%s endpoint accepted at config", scheme)
				}
				ep.AllowPrivate, ep.AllowHTTP = true, true
				if err := ep.validate(); err != nil {
					t.Errorf("%s with allow_private and allow_http refused: %v", scheme, err)
				}
			}
			d := newEgressDialer(false, toLoopback)
			d.dial = func(_ context.Context, _, addr string) (net.Conn, error) {
				t.Errorf("dial attempted to %s", addr)
				return nil, errors.New("must not dial")
			}
			host := strings.ReplaceAll(strings.Trim(p.host, "[]"), "%25", "%")
			var eg *EgressError
			if _, err := d.DialContext(t.Context(), "tcp", net.JoinHostPort(host, "14301")); !errors.As(err, &eg) {
				t.Errorf("DialContext = %v, want an EgressError", err)
			}
			if a, err := netip.ParseAddr(host); err == nil {
				if err := d.control("tcp", netip.AddrPortFrom(a, 14301).String(), nil); !errors.As(err, &eg) {
					t.Errorf("control = %v, want an EgressError", err)
				}
			}
		})
	}
}

func TestBlockedReasonIgnoresZones(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"::1%lo": "loopback", "::1%1": "loopback", "fe80::1%lo": "link-local", "fd00:ec2::254%eth0": "private",
		"::ffff:127.0.0.1%lo": "loopback", "2606:4700::1111%eth0": "zoned (link-scoped)", "::127.0.0.1": "IPv4-compatible (deprecated)",
		"2606:4700::1111": "",
	}
	for addr, want := range tests {
		if got := blockedReason(netip.MustParseAddr(addr)); got != want {
			t.Errorf("blockedReason(%s) = %q, want %q", addr, got, want)
		}
	}
}

// The review's probe 51 end to end: a listener on [::1] is not reachable as [::1%lo] without
// AllowPrivate, and is with it.
func TestEndpointClientRefusesZonedLoopback(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	url := "http://[::1%25lo]:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:] + "/hooks"
	for _, allow := range []bool{false, true} {
		c := newEndpointClient(allow, 1, nil)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
		resp, err := c.Do(req)
		var eg *EgressError
		switch {
		case allow && err != nil:
			t.Errorf("AllowPrivate: %v", err)
		case allow:
			resp.Body.Close()
		case !errors.As(err, &eg) || eg.Reason != "loopback":
			if err == nil {
				resp.Body.Close()
			}
			t.Errorf("without AllowPrivate: %v, want a loopback EgressError", err)
		}
		c.CloseIdleConnections()
	}
}
