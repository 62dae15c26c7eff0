// Package contractdata holds daprshop's contracts as data, for services in any language: a
// JSON Schema per message (generated from the pydantic models by `make contracts`), the saga
// definition (saga.json) and the shared test vectors every implementation checks.
package contractdata

import "embed"

// FS holds schemas/<Name>.json, vectors/<Name>.json and saga.json.
//
//go:embed schemas/*.json vectors/*.json saga.json
var FS embed.FS
