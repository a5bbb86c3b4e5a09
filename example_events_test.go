package entrasaml_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/entrasaml/entrasaml"
)

// Config.OnEvent sees every sign-in attempt, logout, metadata refresh and
// certificate warning, with a reason code that stays the same across
// releases: count by it, alert on it. Config.Logger gets the same event as
// one record.
func ExampleEvent() {
	metadata, err := os.ReadFile("testdata/entra-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: "https://acme.vendor.example/saml",
		BaseURL:  "https://acme.vendor.example",
		Metadata: metadata,
		Now:      func() time.Time { return time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC) },
		Logger:   slog.New(slog.DiscardHandler),
		OnEvent: func(_ context.Context, e entrasaml.Event) {
			// Must be quick: it runs on the request's goroutine.
			fmt.Println(e.Kind, e.Outcome, e.Reason, e.EntityID, e.HTTPStatus, e.RefID != "")
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// A response for a sign-in this browser never started.
	response, err := os.ReadFile("testdata/response-assertion-signed.xml")
	if err != nil {
		log.Fatal(err)
	}
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(response)}}
	req := httptest.NewRequest(http.MethodPost, sp.ACSURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sp.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// sign_in failure ErrRequestIDMismatch https://acme.vendor.example/saml 403 true
}

func ExampleReasonCode() {
	_, err := entrasaml.ParseMetadata([]byte("<html>Sign in</html>"))
	fmt.Println(entrasaml.ReasonCode(err))
	fmt.Println(entrasaml.ReasonCode(fmt.Errorf("acme: %w", entrasaml.ErrReplay)))
	fmt.Println(entrasaml.ReasonCode(&entrasaml.StatusError{Code: "AADSTS50105"}))
	fmt.Println(entrasaml.ReasonCode(nil))
	// Output:
	// ErrMetadata
	// ErrReplay
	// StatusError
	// ok
}
