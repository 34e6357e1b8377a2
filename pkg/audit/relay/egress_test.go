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

func TestBlockedReason(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "10.1.2.3": "private", "172.16.0.1": "private",
		"172.31.255.255": "private", "192.168.1.1": "private", "fd00::1": "private", "169.254.169.254": "link-local",
		"fe80::1": "link-local", "0.0.0.0": "unspecified", "::": "unspecified", "224.0.0.1": "multicast",
		"100.64.0.1": "carrier-grade NAT", "::ffff:10.0.0.1": "private", "::ffff:127.0.0.1": "loopback",
		"8.8.8.8": "", "172.32.0.1": "", "2606:4700::1111": "", "100.128.0.1": "",
	}
	for addr, want := range tests {
		if got := blockedReason(netip.MustParseAddr(addr)); got != want {
			t.Errorf("blockedReason(%s) = %q, want %q", addr, got, want)
		}
	}
}

// A name that resolves to a private address is refused before any connection is attempted: the
// dial function is never called, and no packet leaves for 10.0.0.1.
func TestEgressRefusesPrivateResolutionBeforeConnecting(t *testing.T) {
	t.Parallel()
	lookup := func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
	}
	d := newEgressDialer(false, lookup)
	d.dial = func(context.Context, string, string) (net.Conn, error) {
		t.Error("dial attempted for a refused address")
		return nil, errors.New("must not dial")
	}
	_, err := d.DialContext(t.Context(), "tcp", "siem.internal.example:443")
	var eg *EgressError
	if !errors.As(err, &eg) || eg.Reason != "private" || eg.Addr.String() != "10.0.0.1" {
		t.Fatalf("DialContext = %v, want an EgressError for 10.0.0.1", err)
	}
	want := "audit: egress refused: siem.internal.example resolves to 10.0.0.1, a private address; set allow_private on the endpoint to deliver to it"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}

// The Control hook refuses at the socket too, whatever resolved the address.
func TestEgressControlRefusesLoopback(t *testing.T) {
	t.Parallel()
	d := newEgressDialer(false, nil)
	var eg *EgressError
	if err := d.control("tcp4", "127.0.0.1:80", nil); !errors.As(err, &eg) || eg.Reason != "loopback" {
		t.Errorf("control = %v", err)
	}
	if err := d.control("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	if err := newEgressDialer(true, nil).control("tcp4", "127.0.0.1:80", nil); err != nil {
		t.Errorf("allowPrivate: %v", err)
	}
}

// "localhost" resolves to loopback: refused without AllowPrivate, allowed with it.
func TestEndpointClientLocalhost(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, allow := range []bool{false, true} {
		c := newEndpointClient(allow, 1, nil)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
		resp, err := c.Do(req)
		var eg *EgressError
		if allow {
			if err != nil {
				t.Errorf("AllowPrivate: %v", err)
				continue
			}
			resp.Body.Close()
		} else if !errors.As(err, &eg) || eg.Reason != "loopback" {
			t.Errorf("without AllowPrivate: %v, want a loopback EgressError", err)
		}
		c.CloseIdleConnections()
	}
}
