package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Request bodies are decoded field by field, so that a request with several
// problems gets all of them in one response, as a DRF serializer reports
// them: every missing, null or wrongly typed field, at every depth, with the
// index of the list item it is in ("lines[0].quantity"), then the domain's
// rules for the fields that did decode (mergeDomain). The JSON text itself
// must be UTF-8 without lone UTF-16 surrogate escapes: Go's decoder would
// silently replace both with U+FFFD and store a different text than the
// client sent, so such a body is refused as a whole before decoding, like
// any other malformed JSON (DRF answers the same for bytes that are not
// UTF-8).

// dialect holds the field messages of one API version.
type dialect struct {
	required, null, unknown        string
	str, integer, boolean, decimal string
	// notObject and notList format the message for a value of the wrong
	// shape; kind is the JSON value's type.
	notObject, notList func(kind string) string
}

// v1Dialect speaks Django REST Framework's messages.
var v1Dialect = dialect{
	required: "This field is required.", null: "This field may not be null.", unknown: "This field is not allowed.",
	str: "Not a valid string.", integer: "A valid integer is required.", boolean: "Must be a valid boolean.",
	decimal: "A valid number is required.",
	notObject: func(kind string) string {
		return "Invalid data. Expected a dictionary, but got " + pythonType(kind) + "."
	},
	notList: func(kind string) string {
		return `Expected a list of items but got type "` + pythonType(kind) + `".`
	},
}

// v2Dialect speaks the v2 messages.
var v2Dialect = dialect{
	required: "is required", null: "must not be null", unknown: "is not a known field",
	str: "must be a string", integer: "must be an integer", boolean: "must be a boolean",
	decimal:   "must be a decimal number",
	notObject: func(string) string { return "must be an object" },
	notList:   func(string) string { return "must be a list" },
}

// pythonType is the name DRF's messages give a JSON value's type.
func pythonType(kind string) string {
	switch kind {
	case "object":
		return "dict"
	case "array":
		return "list"
	case "string":
		return "str"
	case "boolean":
		return "bool"
	case "null":
		return "NoneType"
	case "integer":
		return "int"
	}
	return "float"
}

// jsonKind is the type of the JSON value raw starts with.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "number"
	}
	return "integer"
}

// fieldErrors collects the field errors of one request.
type fieldErrors struct {
	list []ecolaura.FieldError
}

func (e *fieldErrors) add(field, msg string) {
	e.list = append(e.list, ecolaura.FieldError{Field: field, Message: msg})
}

// covers reports whether an error was recorded for field or for an object
// or list item it is part of ("items[0]" covers "items[0].product").
func (e *fieldErrors) covers(field string) bool {
	for _, f := range e.list {
		if f.Field == field || strings.HasPrefix(field, f.Field+".") || strings.HasPrefix(field, f.Field+"[") {
			return true
		}
	}
	return false
}

// require records the dialect's "required" message on field unless present
// or the field already has an error (a wrong type is not also missing).
func (e *fieldErrors) require(present bool, field string, d dialect) {
	if !present && !e.covers(field) {
		e.add(field, d.required)
	}
}

// mergeDomain adds the field errors of err (a *ValidationError from the
// domain, about the fields that decoded) under the request's names
// (rename), except on fields the decoder already reported: the domain sees
// zero values where the decoder found none it could use. Any other error
// is returned.
func (e *fieldErrors) mergeDomain(err error, rename func(string) string) error {
	if err == nil {
		return nil
	}
	ve, ok := asValidation(err)
	if !ok {
		return err
	}
	decoded := len(e.list)
	for _, f := range ve.Fields {
		name := f.Field
		if rename != nil {
			name = rename(name)
		}
		if (&fieldErrors{list: e.list[:decoded]}).covers(name) {
			continue
		}
		e.add(name, f.Message)
	}
	return nil
}

// err returns the collected errors as a *ecolaura.ValidationError (sorted
// by field, each message once), or nil.
func (e *fieldErrors) err() error {
	if len(e.list) == 0 {
		return nil
	}
	var v ecolaura.Validator
	seen := make(map[ecolaura.FieldError]bool, len(e.list))
	for _, f := range e.list {
		if !seen[f] {
			seen[f] = true
			v.Add(f.Field, "%s", f.Message)
		}
	}
	return v.Err()
}

// decodeBody checks that body is UTF-8 JSON text holding exactly one
// object (an empty body counts as {}) and decodes it into dst, a pointer to
// a struct, field by field; every field error is recorded in errs. strict
// refuses fields dst does not know (v2; v1 ignores them, as DRF does). It
// returns a malformed-JSON *httpError when the body is not such JSON text,
// and nil otherwise (the field errors are in errs).
func decodeBody(body []byte, dst any, strict bool, d dialect, errs *fieldErrors) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return malformed("JSON parse error - the body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("JSON parse error - unexpected data after the JSON object")
	}
	decodeObject(raw, reflect.ValueOf(dst).Elem(), "", strict, d, errs)
	return nil
}

// decodeInto decodes raw, one nested JSON object, into dst under prefix.
func decodeInto(raw json.RawMessage, dst any, prefix string, strict bool, d dialect, errs *fieldErrors) {
	decodeObject(raw, reflect.ValueOf(dst).Elem(), prefix, strict, d, errs)
}

func malformed(detail string) *httpError {
	return newHTTPError(http.StatusBadRequest, "malformed-json", detail)
}

// checkJSONText refuses a body that is not UTF-8 or that escapes a lone
// UTF-16 surrogate ("\ud800"): the JSON decoder would turn both into
// U+FFFD silently.
func checkJSONText(body []byte) error {
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size <= 1 {
			return malformed(fmt.Sprintf("JSON parse error - the body is not valid UTF-8 (byte 0x%02x at offset %d)", body[i], i))
		}
		i += size
	}
	inString := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(body):
			i++
			if body[i] != 'u' {
				continue
			}
			u, ok := hex4(body, i+1)
			if !ok {
				continue // the decoder reports the bad escape
			}
			switch {
			case u >= 0xd800 && u <= 0xdbff:
				low, ok := hex4(body, i+7)
				if i+6 < len(body) && body[i+5] == '\\' && body[i+6] == 'u' && ok && low >= 0xdc00 && low <= 0xdfff {
					i += 10 // the pair
					continue
				}
				return malformed(fmt.Sprintf("JSON parse error - lone UTF-16 surrogate \\u%04x at offset %d", u, i-1))
			case u >= 0xdc00 && u <= 0xdfff:
				return malformed(fmt.Sprintf("JSON parse error - lone UTF-16 surrogate \\u%04x at offset %d", u, i-1))
			}
			i += 4
		}
	}
	return nil
}

// hex4 reads four hex digits at b[at:].
func hex4(b []byte, at int) (uint16, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[at:at+4]), 16, 16)
	return uint16(v), err == nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// decodeObject decodes the JSON object raw into the struct v, field by
// field. A struct field is decoded from the key of its json tag (matched
// exactly, unlike encoding/json); a `decode:"nullable"` tag lets a pointer
// or slice field be null (otherwise null is an error, as for DRF fields
// without allow_null); a json.RawMessage field receives its value undecoded
// (null included) for the caller to interpret.
func decodeObject(raw json.RawMessage, v reflect.Value, prefix string, strict bool, d dialect, errs *fieldErrors) {
	var fields map[string]json.RawMessage
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &fields) != nil {
		errs.add(prefix, d.notObject(jsonKind(raw)))
		return
	}
	t := v.Type()
	index := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			index[name] = i
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		i, ok := index[k]
		if !ok {
			if strict {
				errs.add(join(prefix, k), d.unknown)
			}
			continue
		}
		nullable := t.Field(i).Tag.Get("decode") == "nullable"
		decodeValue(fields[k], v.Field(i), join(prefix, k), nullable, strict, d, errs)
	}
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

func decodeValue(raw json.RawMessage, fv reflect.Value, path string, nullable, strict bool, d dialect, errs *fieldErrors) {
	if fv.Type() == rawMessageType {
		fv.SetBytes(slices.Clone(raw))
		return
	}
	if jsonKind(raw) == "null" {
		if !nullable {
			errs.add(path, d.null)
		}
		return
	}
	switch fv.Kind() {
	case reflect.Pointer:
		elem := reflect.New(fv.Type().Elem())
		if decodeValue(raw, elem.Elem(), path, false, strict, d, errs); !errs.covers(path) {
			fv.Set(elem)
		}
	case reflect.Struct:
		if fv.Type() == reflect.TypeFor[decimalValue]() || fv.Type() == reflect.TypeFor[drfInteger]() {
			decodeScalar(raw, fv, path, d, errs)
			return
		}
		decodeObject(raw, fv, path, strict, d, errs)
	case reflect.Slice:
		var items []json.RawMessage
		if jsonKind(raw) != "array" || json.Unmarshal(raw, &items) != nil {
			errs.add(path, d.notList(jsonKind(raw)))
			return
		}
		out := reflect.MakeSlice(fv.Type(), len(items), len(items))
		for i, item := range items {
			decodeValue(item, out.Index(i), path+"["+strconv.Itoa(i)+"]", false, strict, d, errs)
		}
		fv.Set(out)
	default:
		decodeScalar(raw, fv, path, d, errs)
	}
}

func decodeScalar(raw json.RawMessage, fv reflect.Value, path string, d dialect, errs *fieldErrors) {
	if err := json.Unmarshal(raw, fv.Addr().Interface()); err != nil {
		errs.add(path, typeMessage(fv.Type(), d))
	}
}

func typeMessage(t reflect.Type, d dialect) string {
	switch t {
	case reflect.TypeFor[decimalValue]():
		return d.decimal
	case reflect.TypeFor[drfInteger]():
		return d.integer
	}
	switch t.Kind() {
	case reflect.String:
		return d.str
	case reflect.Bool:
		return d.boolean
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.integer
	}
	return d.decimal
}

// decimalValue accepts a decimal as a JSON string ("19.99") or a JSON number
// (19.99), keeping the literal text so it can be parsed exactly
// (ecolaura.ParseDecimal): a JSON number never goes through float64.
type decimalValue struct {
	text string
	// number: it was a JSON number (v1 reads those as DRF does, see drf.go).
	number bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *decimalValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		d.text = s // ecolaura.ParseDecimal ignores surrounding white space, as everywhere
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		d.text, d.number = string(b), true
		return nil
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[decimalValue]()}
}

// String returns the literal text.
func (d decimalValue) String() string { return d.text }
