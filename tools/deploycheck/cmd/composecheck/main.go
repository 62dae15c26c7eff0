// composecheck is `docker compose config` without a Docker engine: it loads a compose file
// with compose-go (the library docker compose itself uses), which validates it against the
// Compose Specification schema, interpolates, normalizes and checks consistency (unknown
// services in depends_on / network_mode, undefined volumes, ...), then prints the resolved
// model as JSON. Every profile is enabled, so services behind a profile are checked too.
//
//	composecheck docker-compose.yml > resolved.json
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck COMPOSE_FILE")
		os.Exit(2)
	}
	file, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		// Only the file itself: a user's shell or .env must not make the check pass or fail.
		cli.WithEnv(nil),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose file is invalid: %v\n", err)
	os.Exit(1)
}
