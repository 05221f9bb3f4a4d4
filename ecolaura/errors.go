package ecolaura

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// The closed set of domain errors. Every error returned by a service or a port
// adapter either is one of these (tested with errors.Is) or is an unexpected
// infrastructure failure that transports report as an internal error.
var (
	// ErrNotFound: the entity does not exist or the principal may not know it does.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input breaks a validation rule; see [ValidationError] for details.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: a concurrent change won (stale version), a unique key is taken,
	// or the same idempotent request is still being processed.
	ErrConflict = errors.New("conflict")
	// ErrInsufficientStock: a product has fewer units than requested; see [InsufficientStockError].
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrUnauthenticated: no valid credentials were presented.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the principal is known but not allowed to do this.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalidTransition: the order status machine does not allow the change.
	ErrInvalidTransition = errors.New("invalid state transition")
	// ErrIdempotencyMismatch: an idempotency key was reused with a different request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrUnavailable: a required dependency (database, ...) cannot be reached right now.
	ErrUnavailable = errors.New("service unavailable")
)

// FieldError describes one invalid field. Field uses the JSON-style name of the
// input (for example "price" or "lines[2].quantity"). (Its JSON names are
// part of the /api/v2 contract: the "errors" of a problem document.)
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError carries every field that failed validation. It matches
// [ErrInvalid] with errors.Is.
type ValidationError struct {
	Fields []FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// FieldMessages groups the messages by field, in the shape DRF uses for 400s.
func (e *ValidationError) FieldMessages() map[string][]string {
	out := make(map[string][]string, len(e.Fields))
	for _, f := range e.Fields {
		out[f.Field] = append(out[f.Field], f.Message)
	}
	return out
}

// Validator accumulates field errors. The zero value is ready to use.
type Validator struct {
	fields []FieldError
}

// Add records a field error.
func (v *Validator) Add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Check records a field error when ok is false.
func (v *Validator) Check(ok bool, field, format string, args ...any) {
	if !ok {
		v.Add(field, format, args...)
	}
}

// Required records "is required" on field when dep is nil, and "is a nil
// %T" when it is an interface holding a nil pointer (a typed nil such as
// (*postgres.Database)(nil), which passes a plain != nil check and fails
// at its first use): see [IsNil].
func (v *Validator) Required(field string, dep any) {
	switch {
	case dep == nil:
		v.Add(field, "is required")
	case IsNil(dep):
		v.Add(field, "is a nil %T", dep)
	}
}

// IsNil reports whether v is nil or an interface value holding a nil
// pointer, map, slice, channel or function. Constructors use it (through
// [Validator.Required]) to refuse a typed nil dependency with a
// *ConfigError when they are called, not with a panic at first use.
func IsNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// Merge adds the fields of err under prefix when err is a *ValidationError or
// a *ConfigError; any other non-nil error is recorded as a message on prefix.
func (v *Validator) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var fields []FieldError
	var ve *ValidationError
	var ce *ConfigError
	switch {
	case errors.As(err, &ve):
		fields = ve.Fields
	case errors.As(err, &ce):
		fields = ce.Fields
	}
	if fields != nil {
		for _, f := range fields {
			name := f.Field
			switch {
			case prefix == "":
			case name == "":
				name = prefix
			default:
				name = prefix + "." + name
			}
			v.fields = append(v.fields, FieldError{Field: name, Message: f.Message})
		}
		return
	}
	v.Add(prefix, "%s", err.Error())
}

// Valid reports whether no error was recorded.
func (v *Validator) Valid() bool { return len(v.fields) == 0 }

// Err returns a *ValidationError with the recorded fields (sorted by field
// name, stable), or nil when there are none. Use it for user input.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.sorted()}
}

// ConfigErr returns a *ConfigError with the recorded fields (sorted by field
// name, stable), or nil when there are none. Use it for the settings and
// dependencies a program wires, not for user input.
func (v *Validator) ConfigErr() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ConfigError{Fields: v.sorted()}
}

func (v *Validator) sorted() []FieldError {
	fields := append([]FieldError(nil), v.fields...)
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	return fields
}

// Invalid returns a *ValidationError for a single field.
func Invalid(field, format string, args ...any) error {
	var v Validator
	v.Add(field, format, args...)
	return v.Err()
}

// ConflictError reports that a value which must be unique is taken (an
// account's email, ...). It matches [ErrConflict], and only it, with
// errors.Is; Field names the input that conflicts, so that a transport can
// point at it (the v1 API answers it as a 400 on that field, like DRF).
type ConflictError struct {
	// Field is the JSON-style name of the input, for example "email".
	Field string
}

// Error implements error.
func (e *ConflictError) Error() string { return e.Field + " is already taken: " + ErrConflict.Error() }

// Is reports whether target is [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ConfigError reports a programmer's mistake in wiring the SDK: a missing
// dependency, or a setting out of range given to a constructor or a Config.
// It is deliberately not [ErrInvalid], which is for user input and which
// the transports answer with a 400 and field details: it matches no error of
// the closed set, so should it ever reach a transport it is an internal
// error. Fields name what to fix (the setting's name, not a JSON field).
type ConfigError struct {
	Fields []FieldError
}

// Error implements error.
func (e *ConfigError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// Misconfigured returns a *ConfigError for a single setting.
func Misconfigured(field, format string, args ...any) error {
	var v Validator
	v.Add(field, format, args...)
	return v.ConfigErr()
}

// InsufficientStockError reports which product could not supply the quantity
// asked for. It matches [ErrInsufficientStock] with errors.Is.
type InsufficientStockError struct {
	ProductID ID
	// VariantID is the variant that is short ("" when not known).
	VariantID ID
	Name      string
	Requested int
	Available int
}

// Error implements error.
func (e *InsufficientStockError) Error() string {
	name := e.Name
	if name == "" {
		name = string(e.ProductID)
	}
	return fmt.Sprintf("insufficient stock for product %q: requested %d, available %d", name, e.Requested, e.Available)
}

// Is reports whether target is [ErrInsufficientStock].
func (e *InsufficientStockError) Is(target error) bool { return target == ErrInsufficientStock }

// RequirementError reports a rule of the shop the principal does not meet
// yet but can meet (verify their email address before checking out). It
// matches [ErrForbidden], and only it, with errors.Is; Requirement names
// the rule with a stable slug that transports may show (the v2 API uses it
// as its problem type).
type RequirementError struct {
	// Requirement is the slug, for example "email-not-verified".
	Requirement string
	// Message says what to do, in a sentence.
	Message string
}

// Error implements error.
func (e *RequirementError) Error() string {
	return e.Requirement + ": " + e.Message + ": " + ErrForbidden.Error()
}

// Is reports whether target is [ErrForbidden].
func (e *RequirementError) Is(target error) bool { return target == ErrForbidden }

// ErrEmailNotVerified is the slug of the requirement to verify one's email
// address first (see [RequirementError]).
const ErrEmailNotVerified = "email-not-verified"

// RuleError reports a rule of the shop that refuses the request as things
// stand (the last active staff account cannot be demoted, disabled or
// deleted). It matches [ErrConflict], and only it, with errors.Is; Rule
// names the rule with a stable slug that transports may show (the v2 API
// uses it as its problem type).
type RuleError struct {
	// Rule is the slug, for example "last-staff".
	Rule string
	// Message explains the refusal in a sentence.
	Message string
}

// Error implements error.
func (e *RuleError) Error() string { return e.Rule + ": " + e.Message + ": " + ErrConflict.Error() }

// Is reports whether target is [ErrConflict].
func (e *RuleError) Is(target error) bool { return target == ErrConflict }

// RuleLastStaff is the slug of the rule that keeps one active staff
// account (see [RuleError]).
const RuleLastStaff = "last-staff"
