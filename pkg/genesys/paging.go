package genesys

import (
	"context"
	"fmt"
	"net/http"
)

// maxPages bounds every paged read, as Users.Queues does: 100 pages of 100
// entities is far more than one user's share of any list read here, and a
// server that never stops paging must not hold a worker forever.
const maxPages = 100

// readPages reads a Genesys entity listing ({"entities":[..],"pageCount":n})
// page by page: path gives page N's path and query. It stops after the page
// numbered pageCount, at an empty page, or at a page that adds no entity not
// seen before (a server that ignores the page number answers page 1 again).
// More than maxPages pages is an error rather than a silently short list.
func readPages[T any](ctx context.Context, c *Client, path func(page int) string, id func(T) string) ([]T, []*Response, error) {
	var out []T
	var resps []*Response
	seen := make(map[string]bool)
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, resps, fmt.Errorf("%w: %s: more than %d pages", ErrUnexpectedResponse, path(1), maxPages)
		}
		req, err := c.newRequest(ctx, http.MethodGet, path(page), nil)
		if err != nil {
			return nil, resps, err
		}
		var list struct {
			Entities  []T `json:"entities"`
			PageCount int `json:"pageCount"`
		}
		resp, err := c.do(req, &list)
		resps = appendResp(resps, resp)
		if err != nil {
			return nil, resps, err
		}
		added := 0
		for _, e := range list.Entities {
			if k := id(e); !seen[k] {
				seen[k] = true
				out = append(out, e)
				added++
			}
		}
		if page >= list.PageCount || added == 0 {
			return out, resps, nil
		}
	}
}
