package state

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"daprshop/services/shipping/internal/ports"
	"daprshop/services/shipping/internal/stats"
)

// Pages is the number of index documents; each holds about 1/Pages of the record keys.
const Pages = 64

// PageOf is the index page of a record key (crc32 IEEE, as Python's zlib.crc32).
func PageOf(key string) int { return int(crc32.ChecksumIEEE([]byte(key)) % Pages) }

func indexKey(page int) string { return fmt.Sprintf("index:%d", page) }

// Register adds `key` to its index document unless it is there (one read when it is).
// Called before the record is first written, so no record is missing from the index.
func Register(ctx context.Context, store ports.Store, locks *Locks, key string, counters *stats.Counters) error {
	_, err := Update(ctx, store, locks, indexKey(PageOf(key)), func(current []byte) ([]byte, bool, struct{}, error) {
		var keys []string
		if current != nil {
			if err := json.Unmarshal(current, &keys); err != nil {
				return nil, false, struct{}{}, fmt.Errorf("index page of %s: %w", key, err)
			}
		}
		if slices.Contains(keys, key) {
			return nil, false, struct{}{}, nil
		}
		next, err := json.Marshal(append(keys, key))
		return next, true, struct{}{}, err
	}, counters)
	return err
}

// Records returns the records on one index page whose keys start with prefix, by key
// (keys indexed whose record was never written are skipped).
func Records(ctx context.Context, store ports.Store, page int, prefix string) (map[string][]byte, error) {
	raw, _, err := store.Get(ctx, indexKey(page))
	if err != nil {
		return nil, fmt.Errorf("reading index page %d: %w", page, err)
	}
	var keys []string
	if raw != nil {
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, fmt.Errorf("index page %d: %w", page, err)
		}
	}
	var wanted []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			wanted = append(wanted, k)
		}
	}
	if len(wanted) == 0 {
		return map[string][]byte{}, nil
	}
	return store.GetMany(ctx, wanted)
}
