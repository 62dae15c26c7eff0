package app

import (
	"fmt"
	"strings"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/httpx"
)

const tokenRefused = "dapr-api-token missing or wrong (the app's APP_API_TOKEN)"

// buildOpenAPI describes the route table: OpenAPI 3.1 with the contract schemas as
// components, the sidecar token as an API key scheme and each route's error answers.
func (a *App) buildOpenAPI() (map[string]any, error) {
	components := map[string]any{
		"ValidationError": map[string]any{
			"title": "ValidationError", "type": "object", "required": []any{"loc", "msg", "type"},
			"properties": map[string]any{
				"loc":  map[string]any{"title": "Location", "type": "array", "items": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}},
				"msg":  map[string]any{"title": "Message", "type": "string"},
				"type": map[string]any{"title": "Error Type", "type": "string"},
			},
		},
		"HTTPValidationError": map[string]any{
			"title": "HTTPValidationError", "type": "object",
			"properties": map[string]any{"detail": map[string]any{"title": "Detail", "type": "array", "items": map[string]any{"$ref": "#/components/schemas/ValidationError"}}},
		},
	}
	paths := map[string]any{}
	for _, r := range a.Routes {
		op := map[string]any{"summary": r.Summary, "operationId": r.OperationID}
		if r.Tag != "" {
			op["tags"] = []any{r.Tag}
		}
		responses := map[string]any{"200": map[string]any{
			"description": "Successful Response",
			"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{}}},
		}}
		if len(r.Params) > 0 || (r.Body != "" && r.Body != "CloudEvent") {
			responses["422"] = map[string]any{
				"description": "Validation Error",
				"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/HTTPValidationError"}}},
			}
		}
		for status, description := range r.Responses {
			responses[status] = map[string]any{"description": description}
		}
		if len(r.Params) > 0 {
			params := make([]any, 0, len(r.Params))
			for _, p := range r.Params {
				params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.Required, "schema": p.Schema})
			}
			op["parameters"] = params
		}
		if r.Body != "" {
			schema, err := a.bodySchema(r.Body, components)
			if err != nil {
				return nil, err
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
			responses["413"] = map[string]any{"description": fmt.Sprintf("Body larger than %d bytes", httpx.MaxBodyBytes)}
		}
		if !r.Public && a.Settings.Security {
			op["security"] = []any{map[string]any{"sidecarToken": []any{}}}
			if answer, ok := responses["401"].(map[string]any); ok {
				answer["description"] = answer["description"].(string) + "; or " + tokenRefused
			} else {
				responses["401"] = map[string]any{"description": tokenRefused}
			}
		}
		op["responses"] = responses
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title": "daprshop shipping", "description": "Destinations; shipments and their cancellation.", "version": "0.1.0",
		},
		"paths":      paths,
		"components": map[string]any{"schemas": components},
	}
	if a.Settings.Security {
		doc["components"].(map[string]any)["securitySchemes"] = map[string]any{
			"sidecarToken": map[string]any{"type": "apiKey", "in": "header", "name": "dapr-api-token"},
		}
	}
	return doc, nil
}

// bodySchema: a contract's schema as a component (its $defs beside it), referenced; the
// CloudEvent envelope inline, as FastAPI documents the pub/sub routes.
func (a *App) bodySchema(name string, components map[string]any) (map[string]any, error) {
	schema, err := contracts.Schema(name)
	if err != nil {
		return nil, err
	}
	defs, _ := schema["$defs"].(map[string]any)
	delete(schema, "$defs")
	delete(schema, "$schema")
	for def, body := range defs {
		components[def] = rewriteRefs(body)
	}
	if name == "CloudEvent" {
		return rewriteRefs(schema).(map[string]any), nil
	}
	components[name] = rewriteRefs(schema)
	return map[string]any{"$ref": "#/components/schemas/" + name}, nil
}

func rewriteRefs(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, item := range t {
			if ref, ok := item.(string); ok && k == "$ref" && strings.HasPrefix(ref, "#/$defs/") {
				out[k] = "#/components/schemas/" + strings.TrimPrefix(ref, "#/$defs/")
				continue
			}
			out[k] = rewriteRefs(item)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = rewriteRefs(item)
		}
		return out
	}
	return v
}
