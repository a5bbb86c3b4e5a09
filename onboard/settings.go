package onboard

import (
	"errors"

	"github.com/entrasaml/entrasaml"
)

// settings fills Report.Settings from the SP's EntityID and BaseURL, when
// both are given, or reports why New would refuse them.
func (rep *Report) settings(entityID, baseURL string) {
	if entityID == "" || baseURL == "" {
		return
	}
	s, err := entrasaml.NewEntraSettings(entityID, baseURL)
	if err != nil {
		reason := err.Error()
		var e *entrasaml.Error
		if errors.As(err, &e) {
			reason = e.Reason
		}
		rep.add(SeverityError, ProblemSPConfig, "The application's own settings are not usable: "+reason+".")
		return
	}
	rep.Settings = &s
}
