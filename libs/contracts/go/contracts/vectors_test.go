package contracts

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	contractdata "daprshop/libs/contracts/data"
)

type vector struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	Canonical json.RawMessage `json:"canonical"` // the value with its defaults, if it leaves some out
	Why       string          `json:"why"`
}

type vectorFile struct {
	Type    string   `json:"type"`
	Valid   []vector `json:"valid"`
	Invalid []vector `json:"invalid"`
}

func loadVectors(t *testing.T, name string) (vectorFile, bool) {
	t.Helper()
	raw, err := fs.ReadFile(contractdata.FS, "vectors/"+name+".json")
	if errors.Is(err, fs.ErrNotExist) {
		return vectorFile{}, false
	}
	if err != nil {
		t.Fatalf("reading vectors of %s: %v", name, err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatalf("parsing vectors of %s: %v", name, err)
	}
	return vf, true
}

// TestVectors: every valid vector of every type defined here validates, decodes, and
// re-encodes to JSON equal to its canonical form (the value itself unless given); every
// invalid one is refused.
func TestVectors(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, name := range Names() {
		vf, ok := loadVectors(t, name)
		if !ok {
			continue
		}
		covered++
		if vf.Type != name {
			t.Errorf("vectors/%s.json says type %q", name, vf.Type)
		}
		for _, v := range vf.Valid {
			t.Run(name+"/valid/"+v.Name, func(t *testing.T) {
				decoded := New(name)
				if err := Decode(name, v.Value, decoded); err != nil {
					t.Fatalf("refused: %v", err)
				}
				again, err := json.Marshal(decoded)
				if err != nil {
					t.Fatal(err)
				}
				if err := Validate(name, again); err != nil {
					t.Fatalf("re-encoding %s is invalid: %v", again, err)
				}
				want := v.Value
				if len(v.Canonical) > 0 {
					want = v.Canonical
				}
				var in, out any
				if err := json.Unmarshal(want, &in); err != nil {
					t.Fatal(err)
				}
				_ = json.Unmarshal(again, &out)
				if !reflect.DeepEqual(in, out) {
					t.Fatalf("re-encoded %s, want %s", again, want)
				}
			})
		}
		for _, v := range vf.Invalid {
			t.Run(name+"/invalid/"+v.Name, func(t *testing.T) {
				var invalid *InvalidError
				if err := Decode(name, v.Value, New(name)); !errors.As(err, &invalid) {
					t.Fatalf("accepted (%s); want refused: %s", v.Why, err)
				}
			})
		}
	}
	if covered == 0 {
		t.Fatal("no vectors for any type of this package")
	}
}

func TestEveryTypeHasASchema(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(Names(), ","), "ScheduleShipment") {
		t.Fatal("ScheduleShipment is not defined")
	}
}
