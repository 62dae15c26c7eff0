package contracts

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// schemaErrors flattens a validation error tree into FastAPI-like field errors.
func schemaErrors(ve *jsonschema.ValidationError, inst any) []FieldError {
	if len(ve.Causes) > 0 {
		var errs []FieldError
		for _, c := range ve.Causes {
			errs = append(errs, schemaErrors(c, inst)...)
		}
		return errs
	}
	loc := locOf(ve.InstanceLocation, inst)
	at := func(name string) []any { return append(append([]any{}, loc...), name) }
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		errs := make([]FieldError, 0, len(k.Missing))
		for _, m := range k.Missing {
			errs = append(errs, FieldError{Loc: at(m), Msg: "Field required", Type: "missing"})
		}
		return errs
	case *kind.AdditionalProperties:
		props := append([]string{}, k.Properties...)
		sort.Strings(props)
		errs := make([]FieldError, 0, len(props))
		for _, p := range props {
			errs = append(errs, FieldError{Loc: at(p), Msg: "Extra inputs are not permitted", Type: "extra_forbidden"})
		}
		return errs
	case *kind.Type:
		return []FieldError{typeError(loc, k.Want)}
	case *kind.Pattern:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("String should match pattern '%s'", k.Want), Type: "string_pattern_mismatch"}}
	case *kind.MinLength:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("String should have at least %d %s", k.Want, plural(k.Want, "character")), Type: "string_too_short"}}
	case *kind.MaxLength:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("String should have at most %d %s", k.Want, plural(k.Want, "character")), Type: "string_too_long"}}
	case *kind.MinItems:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("List should have at least %d %s", k.Want, plural(k.Want, "item")), Type: "too_short"}}
	case *kind.MaxItems:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("List should have at most %d %s", k.Want, plural(k.Want, "item")), Type: "too_long"}}
	case *kind.Minimum:
		return []FieldError{{Loc: loc, Msg: "Input should be greater than or equal to " + k.Want.RatString(), Type: "greater_than_equal"}}
	case *kind.Maximum:
		return []FieldError{{Loc: loc, Msg: "Input should be less than or equal to " + k.Want.RatString(), Type: "less_than_equal"}}
	case *kind.ExclusiveMinimum:
		return []FieldError{{Loc: loc, Msg: "Input should be greater than " + k.Want.RatString(), Type: "greater_than"}}
	case *kind.ExclusiveMaximum:
		return []FieldError{{Loc: loc, Msg: "Input should be less than " + k.Want.RatString(), Type: "less_than"}}
	case *kind.Enum:
		return []FieldError{{Loc: loc, Msg: "Input should be " + enumList(k.Want), Type: "enum"}}
	case *kind.Const:
		return []FieldError{{Loc: loc, Msg: "Input should be " + enumList([]any{k.Want}), Type: "literal_error"}}
	}
	return []FieldError{{Loc: loc, Msg: ve.ErrorKind.LocalizedString(printer), Type: "value_error"}}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func enumList(values []any) string {
	parts := make([]string, 0, len(values))
	for _, v := range values {
		b, _ := json.Marshal(v)
		parts = append(parts, "'"+strings.Trim(string(b), `"`)+"'")
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func typeError(loc []any, want []string) FieldError {
	names := map[string][2]string{
		"string":  {"string_type", "Input should be a valid string"},
		"integer": {"int_type", "Input should be a valid integer"},
		"number":  {"float_type", "Input should be a valid number"},
		"boolean": {"bool_type", "Input should be a valid boolean"},
		"object":  {"model_type", "Input should be a valid dictionary or object"},
		"array":   {"list_type", "Input should be a valid list"},
		"null":    {"none_required", "Input should be None"},
	}
	for _, w := range want {
		if n, ok := names[w]; ok {
			return FieldError{Loc: loc, Msg: n[1], Type: n[0]}
		}
	}
	return FieldError{Loc: loc, Msg: "Input has the wrong type", Type: "type_error"}
}

// locOf turns a JSON pointer's tokens into a loc: array indices as numbers.
func locOf(tokens []string, inst any) []any {
	loc := make([]any, 0, len(tokens))
	cur := inst
	for _, t := range tokens {
		switch c := cur.(type) {
		case []any:
			i, err := strconv.Atoi(t)
			if err == nil && i >= 0 && i < len(c) {
				loc = append(loc, i)
				cur = c[i]
				continue
			}
			loc = append(loc, t)
			cur = nil
		case map[string]any:
			loc = append(loc, t)
			cur = c[t]
		default:
			loc = append(loc, t)
			cur = nil
		}
	}
	return loc
}

// integerErrors: pydantic's integers are strict, so 1.0 or 1e3 where the schema wants an
// integer is refused (JSON Schema itself counts them as integers).
func integerErrors(root, sch map[string]any, v any, loc []any) []FieldError {
	if sch == nil {
		return nil
	}
	sch = resolve(root, sch)
	var errs []FieldError
	for _, key := range []string{"anyOf", "oneOf", "allOf"} {
		if branches, ok := sch[key].([]any); ok {
			errs = append(errs, branchIntegerErrors(root, branches, v, loc)...)
		}
	}
	switch t := v.(type) {
	case json.Number:
		if wantsInteger(sch) && strings.ContainsAny(string(t), ".eE") {
			errs = append(errs, FieldError{Loc: loc, Msg: "Input should be a valid integer, got a number with a fractional part", Type: "int_from_float"})
		}
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		extra, _ := sch["additionalProperties"].(map[string]any)
		for k, item := range t {
			sub, ok := props[k].(map[string]any)
			if !ok {
				sub = extra
			}
			errs = append(errs, integerErrors(root, sub, item, append(append([]any{}, loc...), k))...)
		}
	case []any:
		items, _ := sch["items"].(map[string]any)
		for i, item := range t {
			errs = append(errs, integerErrors(root, items, item, append(append([]any{}, loc...), i))...)
		}
	}
	return errs
}

// branchIntegerErrors: a value under anyOf is refused only if no branch takes it.
func branchIntegerErrors(root map[string]any, branches []any, v any, loc []any) []FieldError {
	var first []FieldError
	for i, b := range branches {
		bs, ok := b.(map[string]any)
		if !ok {
			continue
		}
		errs := integerErrors(root, bs, v, loc)
		if len(errs) == 0 && typeMatches(resolve(root, bs), v) {
			return nil
		}
		if i == 0 || first == nil {
			first = errs
		}
	}
	return first
}

func typeMatches(sch map[string]any, v any) bool {
	t, ok := sch["type"].(string)
	if !ok {
		return true
	}
	switch v.(type) {
	case nil:
		return t == "null"
	case json.Number:
		return t == "integer" || t == "number"
	case string:
		return t == "string"
	case bool:
		return t == "boolean"
	case map[string]any:
		return t == "object"
	case []any:
		return t == "array"
	}
	return false
}

func wantsInteger(sch map[string]any) bool {
	switch t := sch["type"].(type) {
	case string:
		return t == "integer"
	case []any:
		for _, x := range t {
			if x == "number" {
				return false
			}
		}
		for _, x := range t {
			if x == "integer" {
				return true
			}
		}
	}
	return false
}

// resolve follows a local "$ref" (#/$defs/Name) of the schema document root.
func resolve(root, sch map[string]any) map[string]any {
	for range 8 {
		ref, ok := sch["$ref"].(string)
		if !ok {
			return sch
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			return sch
		}
		defs, _ := root["$defs"].(map[string]any)
		next, ok := defs[name].(map[string]any)
		if !ok {
			return sch
		}
		sch = next
	}
	return sch
}
