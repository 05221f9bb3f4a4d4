package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const specPath = "../../docs/openapi.yaml"

// validated counts the responses checked against the document.
var validated atomic.Int64

type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// loadSpec loads and validates docs/openapi.yaml once per test binary.
var loadSpec = sync.OnceValues(func() (*spec, error) {
	// The passport's media types beside JSON: SVG and HTML are text, the
	// JSON-LD and linkset documents JSON.
	openapi3filter.RegisterBodyDecoder("image/svg+xml", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/ld+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/linkset+json", openapi3filter.JSONBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	// The test server answers as http://example.com.
	doc.Servers = append(openapi3.Servers{{URL: "http://example.com"}}, doc.Servers...)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &spec{doc: doc, router: router}, nil
})

func TestOpenAPIDocumentIsValid(t *testing.T) {
	s, err := loadSpec()
	require.NoError(t, err)
	assert.Equal(t, "3.1.0", s.doc.OpenAPI)
}

// TestOpenAPIValidatesResponses proves the response check is live: a
// documented request is validated, and a response that breaks the schema is
// reported.
func TestOpenAPIValidatesResponses(t *testing.T) {
	h := newHarness(t)
	before := validated.Load()
	h.do(req{Path: "/api/v1/products/"})
	h.do(req{Path: "/api/v2/products?colour=red"})
	assert.Equal(t, before+2, validated.Load())

	hr, err := http.NewRequest(http.MethodGet, "http://example.com/api/v2/categories", nil)
	require.NoError(t, err)
	rec := &recordingT{}
	validateAgainstSpec(rec, hr, response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"items":[{"category":"x"}]}`)})
	assert.True(t, rec.failed, "a response missing required fields is caught")
}

// recordingT records whether a check failed.
type recordingT struct{ failed bool }

func (r *recordingT) Helper()               {}
func (r *recordingT) Errorf(string, ...any) { r.failed = true }

// TestOpenAPICoversEveryRoute checks that every route the app registers is
// documented and every documented operation is registered.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s, err := loadSpec()
	require.NoError(t, err)
	h := newHarness(t)
	var registered []string
	for _, r := range h.srv.Routes() {
		method, path, _ := strings.Cut(r, " ")
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				segs[i] = "{" + name + "}"
			}
		}
		registered = append(registered, method+" "+strings.Join(segs, "/"))
	}
	var documented []string
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	for _, r := range registered {
		assert.Contains(t, documented, r, "registered route is not documented in docs/openapi.yaml")
	}
	for _, d := range documented {
		assert.Contains(t, registered, d, "documented operation is not registered")
	}
}

// validateAgainstSpec checks one real response against the document. It is
// called by harness.do for every response of every test in this package.
// Requests the document does not describe (unknown routes, wrong methods,
// OPTIONS) are skipped: their shapes are asserted by the tests themselves.
func validateAgainstSpec(t errorReporter, hr *http.Request, r response) {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Errorf("load OpenAPI document: %v", err)
		return
	}
	u := *hr.URL
	u.Scheme, u.Host = "http", "example.com"
	probe := &http.Request{Method: hr.Method, URL: &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawQuery: u.RawQuery}, Header: hr.Header, Host: u.Host}
	if probe.Method == http.MethodHead {
		probe.Method = http.MethodGet
	}
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		return
	}
	validated.Add(1)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  r.Status,
		Header:  r.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if hr.Method == http.MethodHead {
		in.Options.ExcludeResponseBody = true
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d does not match docs/openapi.yaml: %v\nbody: %s", hr.Method, hr.URL.RequestURI(), r.Status, err, r.Body)
	}
}

// errorReporter is the part of *testing.T the validation uses.
type errorReporter interface {
	Helper()
	Errorf(format string, args ...any)
}
