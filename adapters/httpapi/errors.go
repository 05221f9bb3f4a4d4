package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// apiVersion selects the error shape and conventions of a request.
type apiVersion uint8

const (
	versionNone apiVersion = iota // operational endpoints: DRF-like {"detail"}
	versionV1                     // /api/v1: Django REST Framework shapes
	versionV2                     // /api/v2: RFC 9457 problem details
)

func versionOf(path string) apiVersion {
	switch {
	case strings.HasPrefix(path, "/api/v1/") || path == "/api/v1":
		return versionV1
	case strings.HasPrefix(path, "/api/v2/") || path == "/api/v2" || strings.HasPrefix(path, "/.well-known/") || strings.HasPrefix(path, "/01/") ||
		strings.HasPrefix(path, "/media/") || path == "/media":
		return versionV2
	}
	return versionNone
}

// httpError is an error raised by the transport itself (bad media type,
// unknown route, rate limit, ...) rather than by a service.
type httpError struct {
	status int
	// kind is the v2 problem type slug.
	kind   string
	detail string
	header [][2]string
}

func (e *httpError) Error() string { return strconv.Itoa(e.status) + " " + e.detail }

func newHTTPError(status int, kind, detail string, header ...[2]string) *httpError {
	return &httpError{status: status, kind: kind, detail: detail, header: header}
}

// v1Rule maps a domain error to a status and DRF's wording.
type v1Rule struct {
	target error
	status int
	detail string
}

// v1Errors is THE error table of /api/v1 (Django REST Framework conventions).
var v1Errors = []v1Rule{
	{ecolaura.ErrNotFound, http.StatusNotFound, "Not found."},
	{ecolaura.ErrInvalid, http.StatusBadRequest, "Invalid input."},
	{ecolaura.ErrInsufficientStock, http.StatusConflict, "Insufficient stock."},
	{ecolaura.ErrConflict, http.StatusConflict, "The resource was changed or is being changed by another request; retry."},
	{ecolaura.ErrUnauthenticated, http.StatusUnauthorized, "Authentication credentials were not provided."},
	{ecolaura.ErrForbidden, http.StatusForbidden, "You do not have permission to perform this action."},
	{ecolaura.ErrInvalidTransition, http.StatusConflict, "The order cannot change to that status."},
	{ecolaura.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "The idempotency key was already used with a different request."},
	{ecolaura.ErrUnavailable, http.StatusServiceUnavailable, "Service temporarily unavailable, try again later."},
}

// v2Rule maps a domain error to a status and a stable problem type.
type v2Rule struct {
	target error
	status int
	kind   string
	title  string
	detail string
}

// v2Errors is THE error table of /api/v2 (RFC 9457 problem details).
var v2Errors = []v2Rule{
	{ecolaura.ErrNotFound, http.StatusNotFound, "not-found", "Resource not found", "The resource does not exist or is not visible to you."},
	{ecolaura.ErrInvalid, http.StatusBadRequest, "invalid", "The request is invalid", "The request is invalid."},
	{ecolaura.ErrInsufficientStock, http.StatusConflict, "insufficient-stock", "Insufficient stock", "A product has fewer units than requested."},
	{ecolaura.ErrConflict, http.StatusConflict, "conflict", "Conflicting change", "The resource was changed or is being changed by another request; retry."},
	{ecolaura.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Authentication required", "Authentication credentials were not provided."},
	{ecolaura.ErrForbidden, http.StatusForbidden, "forbidden", "Forbidden", "You do not have permission to perform this action."},
	{ecolaura.ErrInvalidTransition, http.StatusConflict, "invalid-transition", "Invalid status transition", "The order cannot change to that status."},
	{ecolaura.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency-mismatch", "Idempotency key reused with a different request", "The idempotency key was already used with a different request."},
	{ecolaura.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "Service temporarily unavailable, try again later."},
}

// ProblemTypePrefix starts every v2 problem type URI; the slug after it is
// stable (for example "urn:ecolaura:problem:insufficient-stock").
const ProblemTypePrefix = "urn:ecolaura:problem:"

// Problem is an RFC 9457 problem details document, with the extensions
// Ecolaura adds.
type Problem struct {
	Type      string                `json:"type"`
	Title     string                `json:"title"`
	Status    int                   `json:"status"`
	Detail    string                `json:"detail,omitempty"`
	Instance  string                `json:"instance,omitempty"`
	RequestID string                `json:"request_id,omitempty"`
	Errors    []ecolaura.FieldError `json:"errors,omitempty"`
	// ProductID, Requested and Available explain an insufficient-stock problem.
	ProductID ecolaura.ID `json:"product_id,omitempty"`
	Requested int         `json:"requested,omitempty"`
	Available *int        `json:"available,omitempty"`
}

// errorResponse is the rendered form of an error for one API version.
type errorResponse struct {
	status      int
	contentType string
	body        any
	header      [][2]string
	// internal is set for errors outside the domain's closed set.
	internal bool
}

// v1Response renders err in DRF's shapes.
func v1Response(err error) errorResponse {
	var he *httpError
	if errors.As(err, &he) {
		return errorResponse{status: he.status, contentType: fiber.MIMEApplicationJSON, body: map[string]string{"detail": he.detail}, header: he.header}
	}
	var ve *ecolaura.ValidationError
	if errors.As(err, &ve) {
		return errorResponse{status: http.StatusBadRequest, contentType: fiber.MIMEApplicationJSON, body: drfFieldErrors(ve)}
	}
	var se *ecolaura.InsufficientStockError
	if errors.As(err, &se) {
		return errorResponse{status: http.StatusConflict, contentType: fiber.MIMEApplicationJSON, body: map[string]any{
			"detail": stockDetail(se), "product": se.ProductID, "requested": se.Requested, "available": se.Available,
		}}
	}
	var re *ecolaura.RequirementError
	if errors.As(err, &re) {
		return errorResponse{status: http.StatusForbidden, contentType: fiber.MIMEApplicationJSON, body: map[string]string{"detail": sentence(re.Message)}}
	}
	var rule *ecolaura.RuleError
	if errors.As(err, &rule) {
		return errorResponse{status: http.StatusConflict, contentType: fiber.MIMEApplicationJSON, body: map[string]string{"detail": sentence(rule.Message)}}
	}
	for _, r := range v1Errors {
		if errors.Is(err, r.target) {
			return errorResponse{status: r.status, contentType: fiber.MIMEApplicationJSON, body: map[string]string{"detail": r.detail}, header: ruleHeader(r.status)}
		}
	}
	return errorResponse{status: http.StatusInternalServerError, contentType: fiber.MIMEApplicationJSON, body: map[string]string{"detail": "A server error occurred."}, internal: true}
}

// v2Response renders err as problem+json.
func v2Response(err error, instance, requestID string) errorResponse {
	p := Problem{Instance: instance, RequestID: requestID}
	resp := errorResponse{contentType: "application/problem+json"}
	var he *httpError
	var ve *ecolaura.ValidationError
	var se *ecolaura.InsufficientStockError
	var re *ecolaura.RequirementError
	var rule *ecolaura.RuleError
	var ce *ecolaura.ConflictError
	switch {
	case errors.As(err, &re):
		p.Status, p.Type, p.Title, p.Detail = http.StatusForbidden, ProblemTypePrefix+re.Requirement, "Requirement not met", sentence(re.Message)
	case errors.As(err, &rule):
		p.Status, p.Type, p.Title, p.Detail = http.StatusConflict, ProblemTypePrefix+rule.Rule, "Refused by a shop rule", sentence(rule.Message)
	case errors.As(err, &he):
		p.Status, p.Type, p.Title, p.Detail = he.status, ProblemTypePrefix+he.kind, http.StatusText(he.status), he.detail
		resp.header = he.header
	case errors.As(err, &ve):
		p.Status, p.Type, p.Title = http.StatusBadRequest, ProblemTypePrefix+"invalid", "The request is invalid"
		p.Detail = fmt.Sprintf("%d field(s) are invalid", len(ve.Fields))
		p.Errors = ve.Fields
	case errors.As(err, &ce):
		// A unique value is taken: a conflict that names the field.
		p.Status, p.Type, p.Title = http.StatusConflict, ProblemTypePrefix+"conflict", "Conflicting change"
		p.Detail = "The value of " + ce.Field + " is already taken."
		p.Errors = []ecolaura.FieldError{{Field: ce.Field, Message: "is already taken"}}
	case errors.As(err, &se):
		p.Status, p.Type, p.Title = http.StatusConflict, ProblemTypePrefix+"insufficient-stock", "Insufficient stock"
		p.Detail = stockDetail(se)
		p.ProductID, p.Requested = se.ProductID, se.Requested
		avail := se.Available
		p.Available = &avail
	default:
		p.Status, p.Type, p.Title = http.StatusInternalServerError, ProblemTypePrefix+"internal", "Internal server error"
		resp.internal = true
		for _, r := range v2Errors {
			if errors.Is(err, r.target) {
				p.Status, p.Type, p.Title, p.Detail = r.status, ProblemTypePrefix+r.kind, r.title, r.detail
				resp.header = ruleHeader(r.status)
				resp.internal = false
				break
			}
		}
	}
	resp.status = p.Status
	resp.body = p
	return resp
}

// sentence capitalises msg and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

func ruleHeader(status int) [][2]string {
	switch status {
	case http.StatusUnauthorized:
		return [][2]string{{fiber.HeaderWWWAuthenticate, `Bearer realm="api"`}}
	case http.StatusServiceUnavailable:
		return [][2]string{{fiber.HeaderRetryAfter, "5"}}
	}
	return nil
}

func stockDetail(se *ecolaura.InsufficientStockError) string {
	name := se.Name
	if name == "" {
		name = string(se.ProductID)
	}
	return fmt.Sprintf("Insufficient stock for product %q: requested %d, available %d.", name, se.Requested, se.Available)
}

// fromFiberError turns the errors Fiber and fasthttp raise themselves into
// httpErrors.
func fromFiberError(fe *fiber.Error) *httpError {
	switch fe.Code {
	case http.StatusRequestEntityTooLarge:
		return newHTTPError(fe.Code, "payload-too-large", "Request body is too large.")
	case http.StatusNotFound:
		return newHTTPError(fe.Code, "not-found", "Not found.")
	case http.StatusMethodNotAllowed:
		return newHTTPError(fe.Code, "method-not-allowed", "Method not allowed.")
	case http.StatusRequestTimeout:
		return newHTTPError(fe.Code, "timeout", "Request timeout.")
	case http.StatusRequestHeaderFieldsTooLarge:
		return newHTTPError(fe.Code, "headers-too-large", "Request header fields too large.")
	case http.StatusUnsupportedMediaType:
		return newHTTPError(fe.Code, "unsupported-media-type", "Unsupported media type.")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return newHTTPError(fe.Code, "bad-request", http.StatusText(fe.Code)+".")
	}
	return nil
}

// handleError writes err in the shape of the request's API version. Errors
// outside the domain's closed set become a bare 500 and are logged in full.
// It is also the app's Fiber error handler: an error raised before the
// pipeline ran (a host app that mounts the API refusing a request under its
// prefix while reading it) is answered through the pipeline.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if he := fromFiberError(fe); he != nil {
			err = he
		}
	}
	if requestID(c) == "" {
		if fe != nil && (fe.Code == http.StatusRequestEntityTooLarge || fe.Code == http.StatusRequestHeaderFieldsTooLarge || fe.Code == http.StatusRequestTimeout) {
			lingerOnClose(c.Context())
		}
		return s.pipeline(c, func(*fiber.Ctx) error { return err })
	}
	path := strings.Clone(strippedPrefix(c) + c.Path())
	var resp errorResponse
	switch versionOf(s.apiPath(c)) {
	case versionV2:
		resp = v2Response(err, path, requestID(c))
	default:
		resp = v1Response(err)
	}
	if resp.internal {
		s.log.ErrorContext(c.UserContext(), "internal error", slog.String("request_id", requestID(c)),
			slog.String("method", strings.Clone(c.Method())), slog.String("path", path), slog.Any("err", err))
	} else if resp.status == http.StatusServiceUnavailable {
		s.log.WarnContext(c.UserContext(), "dependency unavailable", slog.String("request_id", requestID(c)), slog.Any("err", err))
	}
	var se *ecolaura.InsufficientStockError
	if errors.As(err, &se) && s.metrics != nil {
		s.metrics.stockConflicts.Inc()
	}
	for _, h := range resp.header {
		c.Set(h[0], h[1])
	}
	c.Status(resp.status)
	body, jerr := jsonMarshal(resp.body)
	if jerr != nil {
		return c.SendStatus(http.StatusInternalServerError)
	}
	c.Set(fiber.HeaderContentType, resp.contentType)
	if c.Method() == fiber.MethodHead {
		return nil
	}
	return c.Send(body)
}

// drfFieldErrors renders field errors as a DRF serializer does: messages per
// field, nested serializers as objects ("sustainability_metric.carbon_footprint"
// becomes {"sustainability_metric": {"carbon_footprint": [...]}}), list
// serializers as lists with one object per item ("items[1].quantity" becomes
// {"items": [{}, {"quantity": [...]}]}), and errors of the whole object
// under "non_field_errors".
func drfFieldErrors(ve *ecolaura.ValidationError) map[string]any {
	root := map[string]any{}
	for _, f := range ve.Fields {
		path := parseFieldPath(f.Field)
		if len(path) == 0 {
			path = []pathStep{{name: "non_field_errors"}}
		}
		if !insertMessage(root, path, f.Message) {
			// The shapes clash (a message on "items" and on "items[0]"):
			// keep the message under its flat name rather than lose it.
			msgs, _ := root[f.Field].([]string)
			root[f.Field] = append(msgs, f.Message)
		}
	}
	return root
}

// pathStep is one step of a field path: a name, or an index into a list.
type pathStep struct {
	name  string
	index int
	isIdx bool
}

// parseFieldPath splits "items[2].product" into items, [2], product. A
// malformed path is kept as one name.
func parseFieldPath(field string) []pathStep {
	if field == "" {
		return nil
	}
	var steps []pathStep
	for _, part := range strings.Split(field, ".") {
		name, rest, hasIdx := strings.Cut(part, "[")
		if name == "" && !hasIdx {
			return []pathStep{{name: field}}
		}
		if name != "" {
			steps = append(steps, pathStep{name: name})
		}
		for hasIdx {
			num, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 || n > 1000 {
				return []pathStep{{name: field}}
			}
			steps = append(steps, pathStep{index: n, isIdx: true})
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return []pathStep{{name: field}}
			}
			rest = after[1:]
		}
	}
	if len(steps) == 0 || steps[0].isIdx {
		return []pathStep{{name: field}}
	}
	return steps
}

// insertMessage adds msg at path in the tree of maps and lists and reports
// whether the path fit the tree built so far.
func insertMessage(node map[string]any, path []pathStep, msg string) bool {
	name := path[0].name
	rest := path[1:]
	if len(rest) == 0 {
		msgs, ok := node[name].([]string)
		if !ok && node[name] != nil {
			return false
		}
		node[name] = append(msgs, msg)
		return true
	}
	if rest[0].isIdx {
		list, ok := node[name].([]any)
		if !ok && node[name] != nil {
			return false
		}
		i := rest[0].index
		for len(list) <= i {
			list = append(list, map[string]any{})
		}
		node[name] = list
		child := list[i].(map[string]any)
		switch {
		case len(rest) == 1:
			return insertMessage(child, []pathStep{{name: "non_field_errors"}}, msg)
		case rest[1].isIdx:
			return false
		default:
			return insertMessage(child, rest[1:], msg)
		}
	}
	child, ok := node[name].(map[string]any)
	if !ok {
		if node[name] != nil {
			return false
		}
		child = map[string]any{}
		node[name] = child
	}
	return insertMessage(child, rest, msg)
}
