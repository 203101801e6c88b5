package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// handle runs h as admission.Webhook.Handle does (a panic becomes an HTTP
// 500 answer with the request's UID; the response is completed with the
// UID and a status; the handler finds the logger in its context) except
// that a patch already encoded by patched is not encoded again: Complete
// marshals Patches whenever there are any, which for a mutated pod was the
// second of two encodings of the same patch (docs/benchmarks.md).
func handle(ctx context.Context, h admission.Handler, req admission.Request, log logr.Logger) (resp admission.Response) {
	defer func() {
		if r := recover(); r != nil {
			log.Error(fmt.Errorf("%v", r), "recovered a panic answering an admission request", "uid", req.UID, "stack", string(debug.Stack()))
			resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("panic: %v [recovered]", r))
			resp.UID = req.UID
		}
	}()
	resp = h.Handle(logr.NewContext(ctx, log), req)
	if err := complete(&resp, req); err != nil {
		resp = admission.Errored(http.StatusInternalServerError, errors.New("unable to encode response"))
		resp.UID = req.UID
	}
	return resp
}

// complete is resp.Complete(req), without encoding Patches again when Patch
// holds them already.
func complete(resp *admission.Response, req admission.Request) error {
	ops := resp.Patches
	if len(resp.Patch) > 0 {
		resp.Patches = nil // encoded already
	}
	err := resp.Complete(req)
	resp.Patches = ops
	return err
}
