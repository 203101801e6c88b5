package crirun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Wait polls the container's status until it has exited, as the kubelet
// waits for an init container, and returns its exit code.
func (c *Container) Wait(ctx context.Context) (int32, error) {
	for {
		resp, err := c.pod.rt.RuntimeService.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ID})
		if err != nil {
			return 0, fmt.Errorf("reading the status of container %s: %w", c.ID, err)
		}
		if st := resp.GetStatus(); st.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st.GetExitCode(), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for container %s to exit: %w", c.ID, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Log returns what the container wrote to stdout and stderr, the lines of
// its CRI log file without their timestamp, stream and tag.
func (c *Container) Log() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.pod.config.GetLogDirectory(), c.name+".log"))
	if err != nil {
		return "", fmt.Errorf("reading the log of container %s: %w", c.name, err)
	}
	var out strings.Builder
	for line := range strings.Lines(string(b)) {
		// "2024-01-02T03:04:05.000000000Z stderr F message"
		if fields := strings.SplitN(line, " ", 4); len(fields) == 4 {
			line = fields[3]
		}
		out.WriteString(line)
	}
	return out.String(), nil
}
