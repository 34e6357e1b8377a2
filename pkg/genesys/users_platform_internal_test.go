package genesys

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// GetPlatform asks for the expand and decodes dateIssued; a body about another user is an error.
func TestUsersGetPlatform(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body string
		want       *time.Time
		wantErr    error
	}{
		{"never logged in", `{"id":"` + testUserID + `","state":"inactive","version":3}`, nil, nil},
		{"logged in", `{"id":"` + testUserID + `","state":"active","version":3,"lastTokenIssued":{"dateIssued":"2026-12-01T10:00:00.123Z"}}`,
			new(time.Date(2026, 12, 1, 10, 0, 0, 123e6, time.UTC)), nil},
		{"another user", `{"id":"0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b","state":"active"}`, nil, ErrWrongUser},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("GET /api/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("expand") != "lasttokenissued" || r.PathValue("id") != testUserID {
					t.Errorf("request %s", r.URL)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			})
			pu, _, err := c.Users.GetPlatform(t.Context(), testUserID)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tt.want == nil && pu.LastTokenIssued != nil:
				t.Errorf("lastTokenIssued = %+v, want none", pu.LastTokenIssued)
			case tt.want != nil && (pu.LastTokenIssued == nil || !pu.LastTokenIssued.DateIssued.Equal(*tt.want)):
				t.Errorf("lastTokenIssued = %+v, want %s", pu.LastTokenIssued, tt.want)
			}
		})
	}
}
