package contracts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	contractdata "daprshop/libs/contracts/data"
)

// schemaSet: every embedded schema, compiled once on first use.
type schemaSet struct {
	compiled map[string]*jsonschema.Schema
	raw      map[string]map[string]any // for integer checks and the OpenAPI document
}

var (
	loadOnce sync.Once
	loaded   *schemaSet
	loadErr  error
)

func schemas() (*schemaSet, error) {
	loadOnce.Do(func() { loaded, loadErr = compileAll(contractdata.FS) })
	return loaded, loadErr
}

func compileAll(files fs.FS) (*schemaSet, error) {
	entries, err := fs.ReadDir(files, "schemas")
	if err != nil {
		return nil, fmt.Errorf("reading the contract schemas: %w", err)
	}
	set := &schemaSet{compiled: map[string]*jsonschema.Schema{}, raw: map[string]map[string]any{}}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // occurred_at is an RFC 3339 date-time, as pydantic checks it
	for _, e := range entries {
		name, ok := bytes.CutSuffix([]byte(e.Name()), []byte(".json"))
		if !ok {
			continue
		}
		body, err := fs.ReadFile(files, "schemas/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading schema %s: %w", e.Name(), err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("parsing schema %s: %w", e.Name(), err)
		}
		url := "mem://contracts/" + e.Name()
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("adding schema %s: %w", e.Name(), err)
		}
		var plain map[string]any
		if err := json.Unmarshal(body, &plain); err != nil {
			return nil, fmt.Errorf("parsing schema %s: %w", e.Name(), err)
		}
		set.raw[string(name)] = plain
	}
	for name := range set.raw {
		sch, err := c.Compile("mem://contracts/" + name + ".json")
		if err != nil {
			return nil, fmt.Errorf("compiling schema %s: %w", name, err)
		}
		set.compiled[name] = sch
	}
	return set, nil
}

// Schema returns the JSON Schema document of the message `name` (a fresh copy, for
// embedding in other documents such as the OpenAPI description).
func Schema(name string) (map[string]any, error) {
	set, err := schemas()
	if err != nil {
		return nil, err
	}
	doc, ok := set.raw[name]
	if !ok {
		return nil, fmt.Errorf("no contract schema named %q", name)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("copying schema %s: %w", name, err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("copying schema %s: %w", name, err)
	}
	return out, nil
}

// Check compiles every embedded schema and makes sure each type this package defines has
// one: a start-up check, so a missing schema fails the process, not a request.
func Check() error {
	set, err := schemas()
	if err != nil {
		return err
	}
	for name := range kinds {
		if _, ok := set.compiled[name]; !ok {
			return fmt.Errorf("no contract schema for %s", name)
		}
	}
	return nil
}
