package idpmeta

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/beevik/etree"

	"github.com/entrasaml/entrasaml/internal/samlxml"
)

// Parse looks at the bytes ([Sniff]) and parses them strictly
// (samlxml.Parse), once. A refusal is one fatal finding.
func Parse(data []byte) (*etree.Element, *Finding) {
	if f := Sniff(data); f != nil {
		return nil, f
	}
	root, err := samlxml.Parse(data)
	if err != nil {
		f := fatal(Malformed, "%s", err.Error())
		return nil, &f
	}
	return root, nil
}

// ReadBytes is Parse then Read, for a caller that pins no signature.
func ReadBytes(data []byte, now time.Time) (*Document, []Finding) {
	root, f := Parse(data)
	if f != nil {
		return nil, []Finding{*f}
	}
	return Read(root, now)
}

// FetchError says why Fetch failed.
type FetchError struct {
	Reason   string
	Cause    error // the transport's or the context's error, if any
	TooLarge bool  // the document is over MaxSize
}

func (e *FetchError) Error() string {
	if e.Cause != nil {
		return e.Reason + ": " + e.Cause.Error()
	}
	return e.Reason
}

func (e *FetchError) Unwrap() error { return e.Cause }

// Fetch GETs the metadata document at u with client, within timeout, and
// reads at most MaxSize bytes of it. Its errors are *FetchError.
func Fetch(ctx context.Context, client *http.Client, u string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &FetchError{Reason: "building the metadata request", Cause: err}
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		return nil, &FetchError{Reason: "fetching the metadata URL", Cause: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &FetchError{Reason: fmt.Sprintf("fetching the metadata URL: HTTP status %d", resp.StatusCode)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return nil, &FetchError{Reason: "reading the metadata", Cause: err}
	}
	if len(data) > MaxSize {
		return nil, &FetchError{Reason: fmt.Sprintf("the metadata is larger than %d bytes", MaxSize), TooLarge: true}
	}
	return data, nil
}
