package e2e

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodIgnoreAnnotation: a pod's volumeguard.io/ignore annotation is
// honoured only where its namespace's owner allows it, since otherwise
// anyone who can create pods could exempt them from enforce.
func TestPodIgnoreAnnotation(t *testing.T) {
	startServer(t)
	tests := []struct {
		namespace    string
		allow        bool
		wantAdmitted bool
	}{
		{"vg-ignore-not-allowed", false, false},
		{"vg-ignore-allowed", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.namespace, func(t *testing.T) {
			labels := map[string]string{"volumeguard.io/mode": "enforce"}
			if tt.allow {
				labels["volumeguard.io/allow-ignore"] = "true"
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tt.namespace, Labels: labels}}
			if _, err := s.client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { removeNamespace(t, tt.namespace) })

			pod := zkPod("zk-ignored", "/data")
			pod.Annotations = map[string]string{"volumeguard.io/ignore": "/datalog, /logs"}
			c, w := clientWithWarnings(t)
			_, err := c.CoreV1().Pods(tt.namespace).Create(ctx(t), pod, metav1.CreateOptions{})
			if admitted := err == nil; admitted != tt.wantAdmitted {
				t.Fatalf("admitted: %v (%v), want %v", admitted, err, tt.wantAdmitted)
			}
			if tt.wantAdmitted {
				wantAll(t, "warnings", w.all(), "not reported, by exception", "/datalog", "/logs")
			} else {
				wantAll(t, "denial", err.Error(), "/datalog", "/logs")
				wantAll(t, "warnings", w.all(), "does not allow exceptions", "volumeguard.io/allow-ignore=true")
			}
		})
	}
}
