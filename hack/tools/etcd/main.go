// Command etcd builds the upstream etcd server from go.etcd.io/etcd/server/v3,
// for use as an envtest binary asset.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
