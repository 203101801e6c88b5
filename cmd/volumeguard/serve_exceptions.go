package main

import (
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/settings"
)

// serveExceptions are serve's flags for exceptions: the settings file (a
// mounted ConfigMap) and whether every namespace honours pods' own
// volumeguard.io/ignore annotations.
type serveExceptions struct {
	config         settingsOptions
	allowPodIgnore bool
	sizeLimitFlag  *pflag.Flag // to know whether --default-size-limit beats the file's
}

func (e *serveExceptions) addFlags(fs *pflag.FlagSet) {
	e.config.addFlags(fs)
	fs.BoolVar(&e.allowPodIgnore, "allow-pod-ignore", false,
		"honour the volumeguard.io/ignore annotation of pods and workloads in every namespace; by default only in namespaces labelled volumeguard.io/allow-ignore=true, "+
			"since whoever can create a pod could otherwise exempt it from enforce")
	e.sizeLimitFlag = fs.Lookup("default-size-limit")
}

// load reads the settings file, and returns the default size limit: the
// file's, unless --default-size-limit was given.
func (e *serveExceptions) load(flagLimit resource.Quantity) (*settings.Settings, resource.Quantity, error) {
	s, err := e.config.load()
	if err != nil {
		return nil, flagLimit, err
	}
	if q := s.DefaultSizeLimitOr(nil); q != nil && (e.sizeLimitFlag == nil || !e.sizeLimitFlag.Changed) {
		return s, *q, nil
	}
	return s, flagLimit, nil
}
