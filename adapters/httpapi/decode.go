package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// decodeJSON decodes body, which must hold exactly one JSON object, into dst.
// An empty body decodes as {}. strict rejects fields dst does not know (v2).
// Malformed JSON is a 400 httpError; a value of the wrong type or an unknown
// field is a *ValidationError naming the field.
func decodeJSON(body []byte, dst any, strict bool) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		if !json.Valid(body) {
			return malformed("JSON parse error - the body is not valid JSON")
		}
		return ecolaura.Invalid("", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("JSON parse error - unexpected data after the JSON object")
	}
	return nil
}

func malformed(detail string) *httpError {
	return newHTTPError(http.StatusBadRequest, "malformed-json", detail)
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var ve *ecolaura.ValidationError
	switch {
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("JSON parse error - the body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		return ecolaura.Invalid(field, "must be %s", jsonTypeName(typ.Type))
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return ecolaura.Invalid(strings.Trim(name, `"`), "is not a known field")
	}
	return malformed("JSON parse error - the body is not valid JSON")
}

func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[decimalValue]() {
		return "a decimal number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// decimalValue accepts a decimal as a JSON string ("19.99") or a JSON number
// (19.99), keeping the literal text so it can be parsed exactly.
type decimalValue string

// UnmarshalJSON implements json.Unmarshaler.
func (d *decimalValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimalValue(strings.TrimSpace(s))
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		*d = decimalValue(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[decimalValue]()}
}
