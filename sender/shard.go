package sender

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard returns which of n shards (1 to n) the row with this id belongs to:
// the 64-bit FNV-1a hash of the id's bytes, modulo n, plus one. FNV-1a is
// fully specified and ignores the machine, the Go version and the run, so
// every process splitting one file with the same n agrees on every row, and
// a rerun or a --resume puts each row in the same shard again. Rows with
// the same id land in the same shard, so duplicates are still caught. n < 2
// means one shard: 1.
func Shard(id string, n int) int {
	if n < 2 {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64()%uint64(n)) + 1
}

// maxShards bounds n in ParseShard: more shards than that is a typo, not a
// fleet of machines.
const maxShards = 1 << 20

// ParseShard reads the --shard syntax "i/n": this process sends shard i of
// n, 1 <= i <= n.
func ParseShard(s string) (i, n int, err error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("invalid shard %q: want i/n, such as 1/3", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("invalid shard %q: want whole numbers i/n, such as 1/3", s)
	case n < 1 || n > maxShards:
		return 0, 0, fmt.Errorf("invalid shard %q: n must be between 1 and %d", s, maxShards)
	case i < 1 || i > n:
		return 0, 0, fmt.Errorf("invalid shard %q: i must be between 1 and %d", s, n)
	}
	return i, n, nil
}
