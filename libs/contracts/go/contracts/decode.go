package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FieldError is one reason a message does not match its contract, in the shape FastAPI
// answers a 422 with: where (loc, relative to the message), what, and its kind.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// InvalidError lists why a message was refused.
type InvalidError struct {
	Name   string
	Errors []FieldError
}

func (e *InvalidError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fmt.Sprintf("%v: %s", fe.Loc, fe.Msg))
	}
	return fmt.Sprintf("%s does not match its contract: %s", e.Name, strings.Join(parts, "; "))
}

// surrogateMark stands in for a lone UTF-16 surrogate escape, which Go's decoder would
// silently turn into U+FFFD: it lets the check report where the surrogate was.
const surrogateMark = "\uffff\ufffelone-surrogate\ufffe\uffff"

const surrogateMsg = "Value error, contains a lone UTF-16 surrogate, which is not text"

// Validate checks `raw` against the contract schema of `name`: well-formed JSON, no lone
// surrogate escapes, the schema, and integers written as JSON integers. nil when valid.
func Validate(name string, raw []byte) error {
	_, err := validate(name, raw)
	return err
}

func validate(name string, raw []byte) (any, error) {
	set, err := schemas()
	if err != nil {
		return nil, err
	}
	sch, ok := set.compiled[name]
	if !ok {
		return nil, fmt.Errorf("no contract schema named %q", name)
	}
	refuse := func(errs []FieldError) error { return &InvalidError{Name: name, Errors: errs} }
	if !json.Valid(raw) {
		return nil, refuse([]FieldError{syntaxError(raw)})
	}
	marked, lone := markSurrogates(raw)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(marked))
	if err != nil {
		return nil, refuse([]FieldError{{Loc: []any{0}, Msg: "JSON decode error", Type: "json_invalid"}})
	}
	var errs []FieldError
	if lone {
		errs = append(errs, surrogateErrors(inst, nil)...)
	}
	if verr := sch.Validate(inst); verr != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(verr, &ve) {
			return nil, fmt.Errorf("validating %s: %w", name, verr)
		}
		errs = append(errs, schemaErrors(ve, inst)...)
	}
	errs = append(errs, integerErrors(set.raw[name], set.raw[name], inst, nil)...)
	if len(errs) > 0 {
		return nil, refuse(errs)
	}
	return inst, nil
}

// Decode validates `raw` as the message `name` and decodes it into dst (a pointer to the
// package's type of that name, pre-filled with its defaults by New), refusing unknown
// fields for the strict types.
func Decode(name string, raw []byte, dst any) error {
	if _, err := validate(name, raw); err != nil {
		return err
	}
	k, ok := kinds[name]
	if !ok {
		return fmt.Errorf("no contract type named %q", name)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if k.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return &InvalidError{Name: name, Errors: []FieldError{{Loc: []any{}, Msg: err.Error(), Type: "value_error"}}}
	}
	return nil
}

// Parse decodes the message `name` from raw into a new value of its type, defaults applied.
func Parse[T any](name string, raw []byte) (*T, error) {
	v, ok := New(name).(*T)
	if !ok {
		return nil, fmt.Errorf("contract type %q is not %T", name, new(T))
	}
	if err := Decode(name, raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

func syntaxError(raw []byte) FieldError {
	var v any
	err := json.Unmarshal(raw, &v)
	var se *json.SyntaxError
	pos := int64(len(raw))
	if errors.As(err, &se) {
		pos = se.Offset
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return FieldError{Loc: []any{}, Msg: "Field required", Type: "missing"}
	}
	return FieldError{Loc: []any{pos}, Msg: "JSON decode error", Type: "json_invalid"}
}

// markSurrogates replaces each lone surrogate escape (\ud800 not followed by a low
// surrogate escape, or a lone \udc00) in well-formed JSON by surrogateMark.
func markSurrogates(raw []byte) ([]byte, bool) {
	if !bytes.Contains(raw, []byte(`\u`)) && !bytes.Contains(raw, []byte(`\U`)) {
		return raw, false
	}
	var out bytes.Buffer
	found := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out.WriteByte(c)
			continue
		}
		if raw[i+1] != 'u' || i+6 > len(raw) {
			out.Write(raw[i : i+2]) // an escape such as \" or \\: keep both bytes
			i++
			continue
		}
		code, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		switch {
		case code >= 0xD800 && code <= 0xDBFF:
			if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				low, _ := strconv.ParseUint(string(raw[i+8:i+12]), 16, 32)
				if low >= 0xDC00 && low <= 0xDFFF {
					out.Write(raw[i : i+12])
					i += 11
					continue
				}
			}
			out.WriteString(surrogateMark)
			found = true
		case code >= 0xDC00 && code <= 0xDFFF:
			out.WriteString(surrogateMark)
			found = true
		default:
			out.Write(raw[i : i+6])
		}
		i += 5
	}
	return out.Bytes(), found
}

func surrogateErrors(v any, loc []any) []FieldError {
	var errs []FieldError
	switch t := v.(type) {
	case string:
		if strings.Contains(t, surrogateMark) {
			errs = append(errs, FieldError{Loc: loc, Msg: surrogateMsg, Type: "value_error"})
		}
	case map[string]any:
		for k, item := range t {
			at := append(append([]any{}, loc...), k)
			if strings.Contains(k, surrogateMark) {
				errs = append(errs, FieldError{Loc: at, Msg: surrogateMsg, Type: "value_error"})
			}
			errs = append(errs, surrogateErrors(item, at)...)
		}
	case []any:
		for i, item := range t {
			errs = append(errs, surrogateErrors(item, append(append([]any{}, loc...), i))...)
		}
	}
	return errs
}
