package genesyssim

import (
	"fmt"
	"net/http"
	"net/url"
)

// readPage reads pageSize (default 25, at most maxSize when maxSize > 0) and pageNumber
// (1-based, default 1); anything else is answered with a 400.
func readPage(w http.ResponseWriter, c *call, q url.Values, maxSize int) (size, number int, ok bool) {
	size, number = atoiOr(q.Get("pageSize"), 25), atoiOr(q.Get("pageNumber"), 1)
	if size < 1 || number < 1 {
		c.platformError(w, http.StatusBadRequest, "bad.request", "pageSize and pageNumber must be positive.")
		return 0, 0, false
	}
	if maxSize > 0 && size > maxSize {
		c.platformError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("pageSize must be at most %d.", maxSize))
		return 0, 0, false
	}
	return size, number, true
}

// page returns the part of items that page number of size shows.
func page[T any](items []T, size, number int) []T {
	start := min((number-1)*size, len(items))
	return items[start:min(start+size, len(items))]
}

// listing is the paged EntityListing shape: entities, pageSize, pageNumber, total, pageCount
// and the page URIs (nextUri and previousUri only where such a page exists).
func listing[T any](r *http.Request, entities []T, size, number, total int) map[string]any {
	pages := (total + size - 1) / size
	uri := func(n int) string {
		q := r.URL.Query()
		q.Set("pageSize", fmt.Sprint(size))
		q.Set("pageNumber", fmt.Sprint(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if entities == nil {
		entities = []T{}
	}
	out := map[string]any{"entities": entities, "pageSize": size, "pageNumber": number, "total": total,
		"pageCount": pages, "firstUri": uri(1), "lastUri": uri(max(pages, 1)), "selfUri": uri(number)}
	if number < pages {
		out["nextUri"] = uri(number + 1)
	}
	if number > 1 && number <= pages {
		out["previousUri"] = uri(number - 1)
	}
	return out
}

// ref is a DomainEntityRef-like {id, name, selfUri}; name is left out when empty.
func ref(id, name, selfURI string) map[string]any {
	m := map[string]any{"id": id, "selfUri": selfURI}
	if name != "" {
		m["name"] = name
	}
	return m
}

func userRef(u *User) map[string]any { return ref(u.ID, u.DisplayName, "/api/v2/users/"+u.ID) }
