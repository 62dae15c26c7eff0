// Command daprd is the upstream Dapr sidecar (github.com/dapr/dapr/cmd/daprd/app)
// built with the `stablecomponents` tag, plus the SQLite name resolver, which upstream
// only ships under `allcomponents`. daprshop resolves app-ids through SQLite because
// mDNS multicast is not reliable in sandboxes and CI runners; see README "Design notes".
package main

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/dapr/cmd/daprd/app"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
)

func main() {
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
	app.Run()
}
