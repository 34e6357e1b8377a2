package genesys

import (
	"context"
	"net/http"
)

// StationsService reads and changes the stations (phones) a user is
// associated with.
type StationsService service

// UserStations is GET /api/v2/users/{id}/station. A nil field means none.
type UserStations struct {
	AssociatedStation     *StationRef `json:"associatedStation,omitempty"`
	EffectiveStation      *StationRef `json:"effectiveStation,omitempty"`
	DefaultStation        *StationRef `json:"defaultStation,omitempty"`
	LastAssociatedStation *StationRef `json:"lastAssociatedStation,omitempty"`
}

// StationRef is the SDK's UserStation, limited to what offboarding records.
type StationRef struct {
	ID             string `json:"id"`
	Name           string `json:"name,omitempty"`
	Type           string `json:"type,omitempty"`
	AssociatedDate string `json:"associatedDate,omitempty"` // ISO-8601
}

// Get reads the user's stations (GET /api/v2/users/{id}/station, permission
// telephony:otherStationAssociation:view).
func (s *StationsService) Get(ctx context.Context, userID string) (*UserStations, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+userID+"/station", nil)
	if err != nil {
		return nil, nil, err
	}
	var st UserStations
	resp, err := s.client.do(req, &st)
	if err != nil {
		return nil, resp, err
	}
	return &st, resp, nil
}

// ClearAssociated disassociates the user from the station they are logged
// in to (DELETE /api/v2/users/{id}/station/associatedstation, permission
// telephony:station:disassociate).
func (s *StationsService) ClearAssociated(ctx context.Context, userID string) (*Response, error) {
	return s.delete(ctx, userID, "associatedstation")
}

// ClearDefault removes the user's default station
// (DELETE /api/v2/users/{id}/station/defaultstation, permission
// telephony:plugin:all or telephony:phone:assign).
func (s *StationsService) ClearDefault(ctx context.Context, userID string) (*Response, error) {
	return s.delete(ctx, userID, "defaultstation")
}

func (s *StationsService) delete(ctx context.Context, userID, which string) (*Response, error) {
	if err := checkID(userID); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodDelete, "api/v2/users/"+userID+"/station/"+which, nil)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}

// SetDefault makes a station the user's default
// (PUT /api/v2/users/{id}/station/defaultstation/{stationId}, permission
// telephony:plugin:all or telephony:phone:assign); undo of ClearDefault.
func (s *StationsService) SetDefault(ctx context.Context, userID, stationID string) (*Response, error) {
	if err := checkID(userID); err != nil {
		return nil, err
	}
	if err := checkUUID("station", stationID); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodPut, "api/v2/users/"+userID+"/station/defaultstation/"+stationID, nil)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}
