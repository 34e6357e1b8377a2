package genesys

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// countDials makes tr count the connections it opens.
func countDials(tr *http.Transport) *atomic.Int64 {
	var n atomic.Int64
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	return &n
}

// CountDials is countDials for the external tests.
var CountDials = countDials
