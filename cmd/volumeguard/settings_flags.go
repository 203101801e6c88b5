package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/volumeguard/volumeguard/settings"
)

// settingsOptions is --config, the settings file (settings.Settings) that
// check, fix, audit and serve share.
type settingsOptions struct {
	path string
	// discover looks for .volumeguard.yaml in the working directory, then
	// at the root of its git repository, when --config is not given (check
	// and fix: the file lives with the manifests). serve reads only what
	// --config names: a mounted ConfigMap.
	discover bool
}

func (o *settingsOptions) addFlags(fs *pflag.FlagSet) {
	usage := "settings file: paths to ignore per image pattern, the default size limit"
	if o.discover {
		usage += " (default: " + settings.FileName + " in the working directory, else at the root of its git repository)"
	}
	fs.StringVar(&o.path, "config", "", usage)
}

// load reads the settings file; nil when there is none.
func (o *settingsOptions) load() (*settings.Settings, error) {
	p := o.path
	if p == "" && o.discover {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("looking for %s: %w", settings.FileName, err)
		}
		if p, err = settings.Discover(wd); err != nil || p == "" {
			return nil, err
		}
	}
	if p == "" {
		return nil, nil
	}
	s, err := settings.Load(p)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	return s, nil
}
