package genesys

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestUsersDeleteSCIM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		version string
		wantErr error
	}{
		{"204", 204, ``, "7", nil},
		{"200", 200, ``, "", nil},
		{"404 already gone", 404, scim404, "7", ErrNotFound},
		{"409 version", 409, scim409Vers, "7", ErrVersionConflict},
		{"412 version", 412, ``, "7", ErrVersionConflict},
		{"400 invalidVers", 400, scim400Vers, "7", ErrVersionConflict},
		{"403", 403, forbidden403, "7", ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("/api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "DELETE")
				if r.PathValue("id") != testUserID {
					t.Errorf("id = %q", r.PathValue("id"))
				}
				want := ""
				if tt.version != "" {
					want = `"` + tt.version + `"`
				}
				if got := r.Header.Get("If-Match"); got != want {
					t.Errorf("If-Match = %q, want %q", got, want)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			resp, err := c.Users.Delete(t.Context(), testUserID, tt.version)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && (err != nil || resp.StatusCode != tt.status)) {
				t.Errorf("Delete = %v, %v; want %v", resp, err, tt.wantErr)
			}
		})
	}
}

func TestUsersDeleteByAPI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status  int
		body    string
		wantErr error
	}{{200, ``, nil}, {404, platform404, ErrNotFound}, {403, forbidden403, ErrForbidden}} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("/api/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "DELETE")
				if r.PathValue("id") != testUserID || r.Header.Get("If-Match") != "" {
					t.Errorf("id %q, If-Match %q", r.PathValue("id"), r.Header.Get("If-Match"))
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			_, err := c.Users.DeleteByAPI(t.Context(), testUserID)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("DeleteByAPI = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

func TestUsersIsDeleted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		body   string
		want   bool
	}{
		{200, `{"id":"` + testUserID + `","state":"deleted"}`, true},
		{200, `{"id":"` + testUserID + `","state":"inactive"}`, false},
		{404, platform404, false},
	} {
		t.Run(fmt.Sprint(tt.status, tt.want), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("GET /api/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("state") != "deleted" {
					t.Errorf("state = %q", r.URL.Query().Get("state"))
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			got, _, err := c.Users.IsDeleted(t.Context(), testUserID)
			if err != nil || got != tt.want {
				t.Errorf("IsDeleted = %t, %v; want %t", got, err, tt.want)
			}
		})
	}
}

func TestUsersDeleteChecksTheID(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var calls int
	b.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls++ })
	for _, id := range []string{"", "..", "../tokens/me", testUserID + "/roles"} {
		if _, err := c.Users.Delete(t.Context(), id, "1"); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Delete(%q) = %v", id, err)
		}
		if _, err := c.Users.DeleteByAPI(t.Context(), id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("DeleteByAPI(%q) = %v", id, err)
		}
		if _, _, err := c.Users.IsDeleted(t.Context(), id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("IsDeleted(%q) = %v", id, err)
		}
	}
	if calls != 0 {
		t.Errorf("%d requests sent for invalid ids", calls)
	}
}
