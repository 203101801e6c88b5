package workload

import (
	"errors"
	"fmt"
)

// Notes are what people should know about the input of a command that
// reads manifests (command "check", "fix"), done being what it does to
// them ("checked", "fixed"): files skipped, inputs that held nothing,
// documents without a pod spec. None of them is an error.
func (in Input) Notes(command, done string) []string {
	var notes []string
	for _, path := range in.Skipped {
		notes = append(notes, fmt.Sprintf("skipped %s: not a regular file (a named pipe, socket or device); name it as an argument to read it", path))
	}
	for _, err := range in.Errors {
		var we *Error
		if !errors.Is(err, ErrNoObjects) || !errors.As(err, &we) {
			continue
		}
		if we.File == "-" {
			notes = append(notes, fmt.Sprintf("nothing came in on stdin: when a command feeds it (kustomize build | volumeguard %s -), check that it succeeded (set -o pipefail)", command))
		} else {
			notes = append(notes, fmt.Sprintf("%s holds no Kubernetes object: nothing there was %s", we.File, done))
		}
	}
	if len(in.Objects) == 0 && len(in.Errors) == 0 && in.Documents > 0 {
		documents := "1 document"
		if in.Documents != 1 {
			documents = fmt.Sprintf("%d documents", in.Documents)
		}
		notes = append(notes, fmt.Sprintf("none of the %s read holds a pod spec (Pod, Deployment, CronJob, ...): nothing to %s", documents, command))
	}
	return notes
}
