package genesys

import (
	"errors"
	"testing"
)

// A user in no management unit reads as (nil, resp, nil), whether Genesys
// says so with a 404 or with a 200 that names no unit (which one it does is
// undocumented); other failures stay errors.
func TestManagementUnitNoUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error
	}{
		{"404", 404, `{"message":"Agent not found in any management unit","code":"not.found","status":404}`, nil},
		{"200 without managementUnit", 200, `{"user":{"id":"` + testUserID + `"}}`, nil},
		{"200 with empty managementUnit", 200, `{"user":{"id":"` + testUserID + `"},"managementUnit":{}}`, nil},
		{"403", 403, forbidden403, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var rec recorder
			rec.handle(b, tt.status, tt.body)
			mu, resp, err := c.WFM.ManagementUnit(t.Context(), testUserID)
			if mu != nil || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ManagementUnit = %+v, %v; want nil, %v", mu, err, tt.wantErr)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Errorf("response = %v, want status %d", resp, tt.status)
			}
		})
	}
}
