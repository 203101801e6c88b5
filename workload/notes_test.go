package workload

import (
	"errors"
	"reflect"
	"testing"
)

func TestInputNotes(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want []string
	}{
		{name: "objects: nothing to say", in: Input{Objects: []Object{{}}, Documents: 1}},
		{name: "a file skipped", in: Input{Objects: []Object{{}}, Skipped: []string{"k8s/fifo"}},
			want: []string{"skipped k8s/fifo: not a regular file (a named pipe, socket or device); name it as an argument to read it"}},
		{name: "empty stdin names the command", in: Input{Errors: []error{&Error{File: "-", Err: ErrNoObjects}}},
			want: []string{"nothing came in on stdin: when a command feeds it (kustomize build | volumeguard fix -), check that it succeeded (set -o pipefail)"}},
		{name: "an empty file", in: Input{Errors: []error{&Error{File: "empty.yaml", Err: ErrNoObjects}}},
			want: []string{"empty.yaml holds no Kubernetes object: nothing there was fixed"}},
		{name: "other errors are not notes", in: Input{Errors: []error{&Error{File: "bad.yaml", Err: errors.New("bad")}}, Documents: 1}},
		{name: "one document without a pod spec", in: Input{Documents: 1},
			want: []string{"none of the 1 document read holds a pod spec (Pod, Deployment, CronJob, ...): nothing to fix"}},
		{name: "documents without a pod spec", in: Input{Documents: 3},
			want: []string{"none of the 3 documents read holds a pod spec (Pod, Deployment, CronJob, ...): nothing to fix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Notes("fix", "fixed"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Notes() = %q, want %q", got, tt.want)
			}
		})
	}
}
